"""Progress bars for long work (ingest's bytes, train's steps): on stderr, and only when it
is a terminal, so DVC's logs and pipes keep one line per event."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(total: int, desc: str, show: bool = True, **options) -> tqdm:
    """A bar of `total` units; disabled (drawing nothing, its write() a plain print) unless
    `show` and stderr is a terminal."""
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True,
                disable=not (show and sys.stderr.isatty()), **options)
