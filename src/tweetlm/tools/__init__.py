"""Commands outside the pipeline: `tweetlm serve` and `tweetlm space` (serve/), and
`tweetlm compare` (compare.py). They read what the stages wrote; no stage imports them."""
