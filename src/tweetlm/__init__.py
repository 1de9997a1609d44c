"""tweetlm: fine-tune GPT-2 on a Twitter user's tweets, as a reproducible DVC pipeline."""

__version__ = "0.1.0"
