"""benchmarks/big_archive.py (the benchmarks' big synthetic archive), for the tests that use it.

benchmarks/ is no package and not on sys.path under pytest: the module is loaded from its file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "big_archive.py"
_spec = importlib.util.spec_from_file_location("benchmarks_big_archive", _PATH)
big_archive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(big_archive)

write_archive, gaps = big_archive.write_archive, big_archive.gaps
