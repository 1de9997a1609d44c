"""The project copy tests run DVC in is the project as git knows it, never a run's leftovers.

On a fresh clone, `make run` (dvc repro) writes dvc.lock, outputs under data/, models/ and
reports/, and the .gitignore files DVC puts beside them -- and, with `core.autostage`, stages
them in git. A copy that took those would start with the checkout's lock and outputs, and the
tests that count which stages run would fail. Proved on a throwaway git repo.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from helpers.project import ROOT, copy_project, project_files, project_env


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=project_env(repo), check=True,
                   capture_output=True)


def write(repo: Path, name: str, text: str = "x\n") -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A git repo shaped like the project after a commit, some edits and `dvc repro`."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name in ("dvc.yaml", "params.yaml", "src/tweetlm/filter.py", "tests/test_filter.py",
                 ".dvc/config", ".dvc/.gitignore", ".gitignore", "gone.txt"):
        write(repo, name, f"{name} as committed\n")
    write(repo, ".gitignore", "__pycache__/\n/checkpoints/\n")
    write(repo, ".dvc/.gitignore", "/config.local\n/tmp\n/cache\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the project")

    # A developer's work in progress: an edit, a deletion, new code and tests, a stray note.
    write(repo, "src/tweetlm/filter.py", "an uncommitted edit\n")
    (repo / "gone.txt").unlink()
    write(repo, "src/tweetlm/ingest/__init__.py", "a new package\n")
    write(repo, "tests/helpers/new_helper.py", "a new helper\n")
    write(repo, "benchmarks/bench_new.py", "a new benchmark\n")
    write(repo, "notes.txt", "untracked, outside src/tests/benchmarks\n")
    # ... and what stays out of git: byte code, local DVC config.
    write(repo, "src/tweetlm/__pycache__/filter.cpython-312.pyc")
    write(repo, ".dvc/config.local", "[core]\n    remote = mine\n")

    # What `dvc repro` leaves: the lock, outputs, DVC's .gitignore files beside them ...
    write(repo, "dvc.lock", "schema: '2.0'\n")
    write(repo, "data/.gitignore", "/interim\n")
    write(repo, "data/interim/sample/tweets.parquet")
    write(repo, "data/raw/.gitignore", "/sample\n")
    write(repo, "data/raw/sample/tweets.json", "[]\n")
    write(repo, "models/x/.gitignore", "/model.safetensors\n")
    write(repo, "models/x/model.safetensors")
    write(repo, "reports/x.json", "{}\n")
    write(repo, "reports/.gitignore", "/x.json\n")
    write(repo, "checkpoints/x/last.pt")
    # ... which `core.autostage` adds to git's index.
    git(repo, "add", "dvc.lock", "data/.gitignore", "data/raw/.gitignore", "models/x/.gitignore",
        "reports/.gitignore")
    return repo


EXPECTED = {
    # tracked, with the working tree's content
    ".dvc/.gitignore", ".dvc/config", ".gitignore", "dvc.yaml", "params.yaml",
    "src/tweetlm/filter.py", "tests/test_filter.py",
    # new, not ignored, under src/, tests/ or benchmarks/
    "src/tweetlm/ingest/__init__.py", "tests/helpers/new_helper.py", "benchmarks/bench_new.py",
}


def test_selection_is_the_tracked_project_plus_new_code(checkout):
    assert set(project_files(checkout)) == EXPECTED


def test_copy_holds_the_working_tree_content_and_no_run_output(checkout, tmp_path):
    copy = copy_project(tmp_path / "copy", source=checkout)
    copied = {p.relative_to(copy.root).as_posix() for p in copy.root.rglob("*")
              if p.is_file() and ".git" not in p.relative_to(copy.root).parts[:1]}
    assert copied == EXPECTED
    assert (copy.root / "src/tweetlm/filter.py").read_text() == "an uncommitted edit\n"
    assert copy.git("status", "--porcelain").stdout == ""  # all of it committed in the copy
    # the checkout is left as it was
    assert (checkout / "dvc.lock").is_file() and (checkout / "notes.txt").is_file()


def dvc_outs(repo: Path) -> set[str]:
    """Every output the project's dvc.yaml declares in `repo` (foreach expanded), as DVC
    itself resolves it: what a run writes, named by DVC, not by project_files' rule."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        return {out.def_path for stage in dvc.index.stages for out in stage.outs}


@pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")  # DVC's graph code
def test_a_run_of_the_real_pipeline_is_never_copied(tmp_path):
    """The real dvc.yaml, params.yaml and .gitignore in a throwaway repo; every output DVC
    says the pipeline writes is written there, with the lock and the .gitignore files DVC puts
    beside outputs, all forced into git's index (autostage, or a careless `git add -f`): the
    copy holds none of it, and still every file of the project."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    project = ["dvc.yaml", "params.yaml", ".gitignore", ".dvc/config", ".dvc/.gitignore",
               "src/tweetlm/__init__.py", "tests/conftest.py",
               *(str(p.relative_to(ROOT)) for p in (ROOT / "handles").glob("*/dvc.yaml"))]
    for name in project:
        write(repo, name, (ROOT / name).read_text())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the project")
    outs = dvc_outs(repo)
    assert any(o.startswith("models/") for o in outs) and len(outs) > 10  # DVC resolved it
    written = ["dvc.lock", *(str(Path(p).with_suffix(".lock")) for p in project
                             if p.startswith("handles/"))]
    for out in sorted(outs):
        written += [f"{out}/file", str(Path(out).parent / ".gitignore")] \
            if not Path(out).suffix else [out, str(Path(out).parent / ".gitignore")]
    for name in written:
        if not (repo / name).exists():
            write(repo, name)
    git(repo, "add", "-f", *written)

    copied = set(project_files(repo))
    assert copied == set(project)
    assert not copied & {*written, *outs}
