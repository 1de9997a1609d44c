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


def run_first(stage: str) -> str:
    """The fix for an input an earlier stage writes, missing: run that stage, as dvc.yaml
    names it (layout.stage_id: `handles/alice/dvc.yaml:tokenize`, `bots/duo/dvc.yaml:train`); the one wording of it."""
    return f"run `dvc repro {stage}` first"


def rerun(stage: str) -> str:
    """The fix for an input an earlier stage wrote for other params or an older tweetlm:
    run that stage again, even though DVC sees nothing changed."""
    return f"rerun `dvc repro -f {stage}`"


def build_first(name: str) -> str:
    """The fix when a whole bot's outputs are missing (what the gallery and serve show):
    every stage of it."""
    return f"run `dvc repro` for {name} first"


def not_built(path, stage: str) -> TweetlmError:
    """The one line for a missing input that `stage` writes (dvc.yaml's name of it):
    `PATH: not found: run `dvc repro STAGE` first`."""
    return TweetlmError(f"{show_path(path)}: not found: {run_first(stage)}")
