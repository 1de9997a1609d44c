"""Many handles at once in one workspace, the docs' way (docs/many-handles.md), with DVC's own
locks: after `dvc repro validate`, one `dvc --wait-for-lock repro --single-item
handles/<h>/dvc.yaml` per handle (its own pipeline file, its own dvc.lock), side by side.

- Several such runs at once end exactly like one serial `dvc repro`: the same dvc.lock
  entries, `dvc status` clean, no read/write lock left behind, every cache object intact
  (two of the handles have the same tweets, so their runs write the same cache objects
  at the same time).
- Why the plain way is refused: `dvc repro handles/<h>/dvc.yaml:<stage>` also checks the shared upstream
  `validate`, which takes a write lock on the params stamps (reports/params/), one of which
  every running stage of another handle holds a read lock on: DVC stops it ("is busy")
  rather than wait. A handle's own stages only read their stamps, so they run beside the
  other handles' stages.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest
import yaml

from helpers.project import lock_entries as all_lock_entries, BIN, Project, clone, copy_project, ran_stages
from tweetlm.core import layout
from tweetlm.sample import write_sample
from tweetlm.core.layout import stage_id

# DVC's own graph code warns about pygtrie internals; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")

# ann2 has ann's tweets: their ingest and filter write the same bytes, the same cache objects.
HANDLES = ["ann", "bob", "ann2"]
# A handle's stages in the order they run: docs/many-handles.md's per-handle command lists
# them.
CHAIN = layout.HANDLE_STAGES
# The stages the concurrent runs build here: every kind of DVC output and dep a handle has up
# to its token blocks (file and folder outs, a metric, folder deps), without minutes of
# training; train/predict/card go through the same locks (benchmarks/bench_repro.py builds
# whole handles three ways and compares them).
BUILT = CHAIN[:3]


def chain(handle: str, stages=BUILT) -> list[str]:
    return [stage_id(stage, handle) for stage in stages]


def every_handle(stage: str) -> list[str]:
    return [stage_id(stage, h) for h in HANDLES]


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> Project:
    """Three handles' raw tweets, `validate` done (the shared upstream), committed."""
    project = copy_project(tmp_path_factory.mktemp("concurrency") / "project")
    raw = project.root / "data/raw"
    for seed, handle in enumerate(("ann", "bob")):
        (raw / handle).mkdir(parents=True)
        write_sample(raw / handle, 200, seed=seed)
    shutil.copytree(raw / "ann", raw / "ann2")
    project.set_params(handles=HANDLES)
    assert ran_stages(project.dvc("repro", "validate").stdout) == {"validate"}
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "three handles, validated")
    return project


def lock_entries(project: Project, stages: list[str]) -> dict:
    entries = all_lock_entries(project.root)
    return {name: entries.get(name) for name in stages}


def rwlock_holders(project: Project) -> dict:
    path = project.root / ".dvc/tmp/rwlock"
    held = json.loads(path.read_text()) if path.exists() else {}
    return {mode: paths for mode, paths in held.items() if paths}


def corrupt_cache_objects(project: Project) -> list[str]:
    """Cache files whose content does not hash to their name (a .dir object: its JSON)."""
    bad = []
    for path in sorted((project.root / ".dvc/cache/files/md5").rglob("*")):
        if path.is_file():
            name = path.parent.name + path.name.removesuffix(".dir")
            if hashlib.md5(path.read_bytes()).hexdigest() != name:
                bad.append(str(path))
            elif path.name.endswith(".dir"):
                json.loads(path.read_text())
    return bad


@pytest.mark.slow
def test_handles_built_side_by_side_end_like_a_serial_build(validated, tmp_path):
    targets = [name for h in HANDLES for name in chain(h)]
    serial = clone(validated, tmp_path / "serial")
    assert ran_stages(serial.dvc("repro", *every_handle(BUILT[-1])).stdout) == set(targets)

    project = clone(validated, tmp_path / "parallel")
    runs = [subprocess.Popen([str(BIN / "dvc"), "--wait-for-lock", "repro", "--single-item",
                              *chain(h)], cwd=project.root, env=project.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for h in HANDLES]  # all at once: as much overlap as the machine allows
    logs = [run.communicate(timeout=900)[0] for run in runs]
    for h, run, log in zip(HANDLES, runs, logs):
        assert run.returncode == 0, f"{h}:\n{log}"
        assert ran_stages(log) == set(chain(h)), log

    assert lock_entries(project, targets) == lock_entries(serial, targets)
    status = project.dvc("status", "--json", "--with-deps", *every_handle(BUILT[-1]))
    assert json.loads(status.stdout) == {}
    assert rwlock_holders(project) == {}
    assert corrupt_cache_objects(project) == []
    # ann and ann2 wrote the same objects at the same time, and both outputs are whole
    locked = lock_entries(project, [stage_id("filter", "ann"), stage_id("filter", "ann2")])
    assert locked[stage_id("filter", "ann")]["outs"][0]["md5"] == locked[stage_id("filter", "ann2")]["outs"][0]["md5"]
    # and what the workspace holds is what the lock says: a checkout changes nothing
    assert "M " not in project.dvc("checkout", *targets).stdout


def test_a_stage_of_another_handle_blocks_the_plain_repro_not_a_handle_chain(validated, tmp_path):
    """Hold reports/params/ann/ingest.json for reading, as ann's running ingest does (DVC's
    own rwlock, under this live process's pid): a plain `dvc repro` of bob's filter is
    refused at `validate`, bob's own stages with --single-item run."""
    from dvc.repo import Repo
    from dvc.rwlock import rwlock

    project = clone(validated, tmp_path / "project")
    stamp = str(project.root / layout.params_stamp("ingest", "ann"))
    with Repo(str(project.root)) as repo, \
            rwlock(repo.tmp_dir, repo.fs, "ann's ingest (held by the test)", [stamp], [], False):
        refused = project.dvc("--wait-for-lock", "repro", stage_id("filter", "bob"), check=False)
        allowed = project.dvc("--wait-for-lock", "repro", "--single-item", stage_id("ingest", "bob"),
                              stage_id("filter", "bob"), check=False)
    assert refused.returncode != 0
    assert "failed to reproduce 'validate'" in refused.stderr and "is busy" in refused.stderr
    assert not ran_stages(refused.stdout)
    assert allowed.returncode == 0, allowed.stderr
    assert ran_stages(allowed.stdout) == {stage_id("ingest", "bob"), stage_id("filter", "bob")}
    assert rwlock_holders(project) == {}


def test_a_handle_file_lists_its_stages_in_an_order_dvc_can_run():
    """`--single-item handles/<h>/dvc.yaml` runs the file's stages in the order written (no
    upstream check): that order must put every stage after the stages it depends on, which
    DVC's own graph says; docs/many-handles.md gives that command."""
    import networkx as nx
    from dvc.repo import Repo

    from helpers.project import ROOT

    handle = yaml.safe_load((ROOT / "params.yaml").read_text())["handles"][0]
    written = list(yaml.safe_load((ROOT / layout.pipeline_file(handle)).read_text())["stages"])
    assert written == list(CHAIN)
    with Repo(str(ROOT)) as repo:
        graph = repo.index.graph
        mine = {s: s.name for s in repo.index.stages
                if s.path.endswith(str(layout.pipeline_file(handle)))}
        for stage, name in mine.items():  # graph edges point from a stage to its upstream
            upstream = {mine[u] for u in nx.descendants(graph, stage) if u in mine}
            assert all(written.index(u) < written.index(name) for u in upstream), name
    page = (ROOT / "docs/many-handles.md").read_text()
    assert "dvc --wait-for-lock repro --single-item handles/{}/dvc.yaml" in page
