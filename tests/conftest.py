"""Shared fixtures: a throwaway copy of the project for tests that run DVC or the CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Never talk to the network or phone home from a test.
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class Project:
    """A git+DVC copy of the project in a temporary folder, with its own `src/` first on PYTHONPATH."""

    root: Path
    env: dict

    def run(self, *cmd: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            cmd, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
            )
        return proc

    def dvc(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "dvc"), *args, check=check, timeout=timeout)

    def tweetlm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(str(BIN / "tweetlm"), *args, check=check)

    def git(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("git", *args)

    def set_params(self, **updates) -> None:
        """Set dotted keys in params.yaml, e.g. set_params(**{"filter.min_words": 5})."""
        import yaml

        path = self.root / "params.yaml"
        data = yaml.safe_load(path.read_text())
        for key, value in updates.items():
            node = data
            *parents, last = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def ran_stages(repro_output: str) -> set[str]:
    """The stages DVC says it ran in a `dvc repro` / `dvc exp run` log."""
    return set(re.findall(r"Running stage '([^']+)'", repro_output))


def markdown_table(text: str, first_header: str) -> list[list[str]]:
    """The Markdown table whose header row starts with `first_header`, as rows of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def copy_project(dest: Path) -> Project:
    """Copy the checkout's tracked and untracked-but-not-ignored files into a fresh git repo."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if not src.is_file():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(dest / "src")
    env["WANDB_MODE"] = env.get("TWEETLM_TEST_WANDB_MODE", "disabled")
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "tweetlm test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@tweetlm.invalid"
    project = Project(dest, env)
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "copy of tweetlm for a test")
    return project


@pytest.fixture
def project(tmp_path) -> Project:
    """A fresh copy of the project (git repo, one commit, DVC initialised, empty cache)."""
    return copy_project(tmp_path / "project")
