"""A throwaway git+DVC copy of the project, for tests that run DVC or the CLI.

    from helpers.project import copy_project, ran_stages
    project = copy_project(tmp_path / "project")
    out = project.dvc("repro", layout.stage_id("filter", "sample"))
    assert ran_stages(out.stdout) == {...}

The copy is the project as git knows it -- what it tracks, with the working tree's content
(uncommitted edits count), plus new source and test files not yet added -- and never what a
run of the pipeline left in the checkout (`project_files` says exactly what is copied).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Untracked files are copied only under these folders: new code and tests not yet `git add`ed.
NEW_FILE_FOLDERS = ("src", "tests", "benchmarks")
# What `dvc repro` and training write into the checkout: dvc.lock and the outputs, with the
# .gitignore files DVC writes next to them (and, with `core.autostage`, stages in git).
RUN_FOLDERS = ("data", "models", "reports", "checkpoints")
RUN_FILES = ("dvc.lock",)  # the root's, and each pipeline file's (handles/<h>/dvc.lock)


def is_run_output(name: str) -> bool:
    """True for a path (relative, POSIX) that a pipeline run writes, never the project's own."""
    path = PurePosixPath(name)
    return path.name in RUN_FILES or path.parts[0] in RUN_FOLDERS


def stage_address(stage) -> str:
    """How DVC names a stage (a dvc.repo Stage) from the project root: `validate`,
    `handles/h/dvc.yaml:train` (its own `addressing` is relative to the current directory)."""
    rel = Path(stage.path).relative_to(Path(stage.repo.root_dir)).as_posix()
    return stage.name if rel == "dvc.yaml" else f"{rel}:{stage.name}"


def lock_entries(root: Path) -> dict:
    """Every dvc.lock entry of the project (the root's and each pipeline file's), by the
    stage's name as DVC prints it: `validate`, `handles/sample/dvc.yaml:train`."""
    import yaml

    entries = {}
    for lock in sorted([root / "dvc.lock", *root.glob("handles/*/dvc.lock"),
                        *root.glob("bots/*/dvc.lock")]):
        if not lock.is_file():
            continue
        prefix = "" if lock.parent == root else f"{lock.parent.relative_to(root).as_posix()}/dvc.yaml:"
        for name, entry in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).items():
            entries[prefix + name] = entry
    return entries


def project_files(root: Path = ROOT) -> list[str]:
    """The files (relative POSIX paths, sorted) a copy of the git checkout at `root` holds:
    every file git tracks (staged included) that still exists in the working tree, plus
    untracked, not ignored files under src/, tests/ and benchmarks/ -- minus dvc.lock and
    anything under data/, models/, reports/ and checkpoints/, whoever tracked it."""
    def git_ls(*args: str) -> list[str]:
        out = subprocess.run(["git", "ls-files", "-z", *args], cwd=root, capture_output=True,
                             check=True).stdout
        return [name.decode() for name in out.split(b"\0") if name]

    tracked = git_ls("--cached")
    new = git_ls("--others", "--exclude-standard", "--", *NEW_FILE_FOLDERS)
    return sorted(
        name for name in set(tracked) | set(new)
        if not is_run_output(name) and (root / name).is_file()
    )


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
        if {key.split(".")[0] for key in updates} & {"handles", "bots"}:
            # the pipeline files follow the handles, as `tweetlm add` does (a bad name: the
            # test's own command then meets validate's line)
            self.tweetlm("sync", check=False)


def project_env(root: Path) -> dict:
    """The environment a copy at `root` runs in: its own src/ first, no network, git identity."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "src")
    env["WANDB_MODE"] = env.get("TWEETLM_TEST_WANDB_MODE", "disabled")
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "tweetlm test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@tweetlm.invalid"
    return env


def copy_project(dest: Path, source: Path = ROOT) -> Project:
    """Copy `project_files(source)` into `dest`, a fresh git repo with one commit."""
    for name in project_files(source):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    project = Project(dest, project_env(dest))
    project.git("init", "-q", "-b", "main")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "copy of tweetlm for a test")
    return project


def clone(project: Project, dest: Path) -> Project:
    """A private copy of `project`: files, git repo, DVC cache and lock, same environment."""
    shutil.copytree(project.root, dest, symlinks=True)
    return Project(dest, {**project.env, "PYTHONPATH": str(dest / "src")})


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
