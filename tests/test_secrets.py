"""Secrets: no credential from the environment or .dvc/config.local ends up in anything the
pipeline writes -- outputs, cards, reports, dvclive plots, W&B offline runs, dvc.lock, the DVC
cache, git objects, logs, stdout/stderr -- nor in the home, temp and cache folders the tools use.

The `planted` fixture (tests/helpers/pipeline.py, built once per test session) is a project
copy whose environment and .dvc/config.local hold fake credentials (unique random markers),
with a small training setup: `dvc repro` up to sample's tokenize (the base, which tests/test_faults.py
copies) and then the whole pipeline in a copy (the reference run test_faults.py compares
resumed runs against). Every file under that sandbox is then searched for the markers.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from helpers.pipeline import Planted
from tweetlm.core import layout


def find_markers(planted: Planted, roots: list[Path], skip: set[Path],
                 searched: Counter | None = None) -> list[str]:
    """'<where>: <marker name>' for every planted value found in a file under `roots`, in a
    git object of a project copy (decompressed), or in a command's output."""
    values = {name: value.encode() for name, value in planted.markers.items()}
    found = []
    searched = Counter() if searched is None else searched

    def search(where: str, data: bytes) -> None:
        searched["places"] += 1
        searched["bytes"] += len(data)
        found.extend(f"{where}: {name}" for name, value in values.items() if value in data)

    for root in roots:
        for path in sorted(root.rglob("*")):
            if path in skip or path.is_symlink() or not path.is_file():
                continue
            search(str(path), path.read_bytes())
        if (root / ".git").is_dir():  # loose and packed objects are zlib-compressed
            objects = subprocess.run(
                ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                capture_output=True, check=True).stdout
            search(f"{root}/.git objects", objects)
    for command, text in planted.outputs.items():
        search(f"output of {command}", text.encode())
    return found


@pytest.mark.slow  # runs the whole pipeline
def test_no_credential_reaches_any_file_or_output(planted, capsys):
    root = planted.reference.root
    config_local = [p.root / ".dvc/config.local" for p in (planted.base, planted.reference)]

    # The run really exercised what could leak: W&B offline runs with their metadata and
    # debug logs, dvclive plots, a card, DVC's cache and its site cache.
    runs = sorted((root / "wandb").glob("offline-run-*"))
    assert len(runs) == 2, runs  # tokenize and train (card only names the mode)
    for run in runs:
        for name in ("logs/debug.log", "logs/debug-internal.log", "logs/debug-core.log"):
            assert (run / name).is_file(), run / name
        # offline, the config and the system metadata (program, host...) are in the run log
        (log,) = run.glob("run-*.wandb")
        assert b'"block_size"' in log.read_bytes() and b"bin/tweetlm" in log.read_bytes()
    assert (root / layout.bot("sample").train_plots / "train/loss.tsv").is_file()
    assert (root / layout.bot("sample").card).is_file()
    assert any((root / ".dvc/cache/files/md5").rglob("*"))
    assert any((planted.sandbox / "dvc-site-cache").rglob("*"))

    # The search finds a planted value where it was planted (config.local, outside the skip)...
    assert find_markers(planted, [config_local[0].parent], set()), "the search finds nothing"
    # ...and nowhere else: project copies, HOME (W&B's and DVC's global folders), TMPDIR.
    searched = Counter()
    leaks = find_markers(planted, [planted.sandbox], set(config_local), searched)
    assert leaks == [], "\n".join(leaks)
    with capsys.disabled():  # the figure docs/robustness.md quotes
        print(f"\nsearched {searched['places']} files, git object dumps and command outputs "
              f"({searched['bytes'] / 2**20:.0f} MiB) for {len(planted.markers)} planted "
              "credentials: none found")
