"""Write outputs all at once or not at all: a failed or killed stage leaves the old file, and
the next write of it removes what the killed one left (its temporaries). Read what an earlier
stage wrote, trusting it: only a missing file is an error."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tweetlm.core.errors import TweetlmError


@contextmanager
def atomic_path(path: Path | str, directory: bool = False):
    """Yield a temporary sibling of `path`; on success it replaces `path` in one rename.

    Files and directories both work. On an exception the temporary is removed and
    `path`, if it existed, is untouched. A kill (SIGKILL, power) leaves the temporary: the
    next write of `path` removes it first (only one process writes an output at a time:
    DVC locks it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent, f".{path.name}.*.tmp", f".{path.name}.old")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp if directory else tmp / path.name
    try:
        yield target
        if directory:
            old = None
            if path.exists() or path.is_symlink():
                old = path.with_name(f".{path.name}.old")
                _remove(old)
                os.replace(path, old)
            os.replace(tmp, path)
            if old is not None:
                _remove(old)
        else:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            os.replace(target, path)
    finally:
        _remove(tmp)


def remove_leftovers(folder: Path, *patterns: str) -> None:
    """Remove what killed writes left in `folder`: names matching `patterns` (fnmatch-style,
    `*` the random part; the rest is literal)."""
    for pattern in patterns:
        literal = glob.escape(pattern).replace("[*]", "*")
        for leftover in folder.glob(literal):
            _remove(leftover)


def write_json(path: Path | str, obj) -> None:
    """Atomically write `obj` as indented JSON with a trailing newline."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path | str, rerun: str):
    """JSON an earlier stage of the pipeline wrote; missing, one line: `PATH: not found:
    {rerun}`, the fix: errors.run_first(the stage that writes it) or errors.build_first."""
    path = Path(path)
    if not path.is_file():
        raise TweetlmError(f"{path}: not found: {rerun}")
    return json.loads(path.read_text(encoding="utf-8"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
