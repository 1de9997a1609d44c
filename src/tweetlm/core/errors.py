"""The one exception type the CLI turns into a one-line message and a non-zero exit, and
the one way a stage warns."""

from __future__ import annotations

import sys


class TweetlmError(Exception):
    """A problem the user can fix: the message names the file, the place and what to do."""


def warn(message: str, write=print) -> None:
    """One warning line on stderr; `write`: print, or the write of a progress bar on screen."""
    write(f"tweetlm: warning: {message}", file=sys.stderr)


def first_line(e: BaseException) -> str:
    """A library's exception as one line for our messages (its type if it says nothing)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def show_path(name) -> str:
    """A path for a one-line message: control characters escaped."""
    text = str(name)
    return text if text.isprintable() else ascii(text)[1:-1]
