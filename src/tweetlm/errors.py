"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class TweetlmError(Exception):
    """A problem the user can fix: the message names the file, the place and what to do."""
