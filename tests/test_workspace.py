"""git holds code and small metadata only: no pipeline output is ever untracked and
unignored -- after a failed `dvc repro`, `--keep-going`, `dvc checkout`, `dvc exp apply` --
so docs/sharing.md's `git add -A && git commit` commits no data or model file; and after a
failed `dvc exp run`, `dvc exp apply HEAD` (docs/experiments.md's one command) restores the
workspace exactly.
"""

from __future__ import annotations

import shutil

import pytest

from helpers.pipeline import SMALL
from helpers.project import Project, copy_project, is_run_output, ran_stages
from tweetlm.core import layout
from tweetlm.core.layout import stage_id

OUTPUT_FOLDERS = ("data/", "models/", "reports/")


def porcelain(project: Project) -> list[str]:
    return project.git("status", "--porcelain", "--untracked-files=all").stdout.splitlines()


def untracked_outputs(project: Project) -> list[str]:
    """`git status` lines of files under the outputs' folders that git would add."""
    return [line for line in porcelain(project) if line[3:].startswith(OUTPUT_FOLDERS)]


def dvc_clean(project: Project) -> bool:
    return "Data and pipelines are up to date." in project.dvc("status").stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """The docs' flows (docs/sharing.md, docs/robustness.md) on handles `sample` and `carol`
    (a cut file: ingest fails): a failed `dvc repro`, `--keep-going`, the fix, and
    `git add -A && git commit`."""
    project = copy_project(tmp_path_factory.mktemp("workspace") / "project")
    raw = project.root / "data/raw/carol"
    raw.mkdir(parents=True)
    (raw / "tweets.json").write_text('[{"id_str": "1", "full_text": "cut')
    project.set_params(handles=["sample", "carol"], **SMALL)

    failed = project.dvc("repro", check=False)
    assert failed.returncode != 0 and stage_id("ingest", "carol") in failed.stderr, failed.stderr
    assert ran_stages(failed.stdout) >= {"validate", "sample"}, failed.stdout
    assert untracked_outputs(project) == []

    kept_going = project.dvc("repro", "--keep-going", check=False)
    assert kept_going.returncode != 0
    assert (project.root / layout.bot("sample").model / "model.safetensors").is_file()
    assert untracked_outputs(project) == []

    project.set_params(handles=["sample"])  # the broken handle out, as docs/robustness.md says
    shutil.rmtree(raw)
    project.dvc("repro")
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "Train on sample")  # docs/sharing.md's commit flow
    return project


@pytest.mark.slow
def test_a_failed_or_kept_going_run_and_the_commit_flow_leave_outputs_out_of_git(built):
    committed = built.git("ls-files").stdout.split()
    locks = {"dvc.lock", str(layout.pipeline_file("sample").with_suffix(".lock"))}
    assert [f for f in committed if is_run_output(f) and f not in locks] == []
    assert locks <= set(committed) and porcelain(built) == []
    assert dvc_clean(built)


@pytest.mark.slow
def test_checkout_and_exp_apply_leave_outputs_out_of_git(built):
    shutil.rmtree(built.root / layout.bot("sample").model)
    built.dvc("checkout")
    assert (built.root / layout.bot("sample").model / "model.safetensors").is_file()
    assert porcelain(built) == []

    built.dvc("exp", "run", "-n", "words4", stage_id("filter", "sample"), "-S", "filter.min_words=4")
    built.dvc("exp", "apply", "words4")
    assert untracked_outputs(built) == []
    built.dvc("exp", "apply", "HEAD")
    assert porcelain(built) == [] and dvc_clean(built)


BAD_RUNS = {
    "in-validate": "train.epochs=abc",  # validate fails: its stamps were removed by DVC
    "after-validate": "filter.min_kept_chars=100000000",  # filter fails: stamps rewritten
}


@pytest.mark.slow
@pytest.mark.parametrize("override", BAD_RUNS.values(), ids=list(BAD_RUNS))
def test_dvc_exp_apply_head_restores_the_workspace_after_a_failed_exp_run(built, override):
    """What a failed `dvc exp run` leaves (params.yaml with the bad value, dvc.lock, the
    params stamps) is undone by one command, `dvc exp apply HEAD`: `git status` and
    `dvc status` clean."""
    failed = built.dvc("exp", "run", "-S", override, check=False)
    assert failed.returncode != 0
    assert porcelain(built) != [] or not dvc_clean(built)  # something to restore
    built.dvc("exp", "apply", "HEAD")
    assert porcelain(built) == []
    assert dvc_clean(built)
