"""Faults: training killed half way under `dvc repro` resumes to the same result and leaves
nothing half-written behind; two `dvc repro` at once cannot corrupt a project.

The projects here are copies of the `planted` fixture's base (tests/helpers/pipeline.py: data
and tokenize done, small training settings, W&B offline as shipped), and every result is compared
with its reference: the same pipeline run once, uninterrupted, with the same params and seed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
import yaml

from helpers.project import lock_entries, BIN, Project, clone, ran_stages
from tweetlm.core import layout
from tweetlm.core.layout import stage_id
from tweetlm.core.layout import MODEL_FILES

TIMINGS = ("train_runtime_s", "tokens_per_s")  # wall-clock figures: the only ones that may differ


def files_under(root: Path, *folders: str) -> dict[str, bytes]:
    """Every file (hidden ones and temporaries included) under `folders`, with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for folder in folders if (root / folder).exists()
        for p in sorted((root / folder).rglob("*")) if p.is_file() or p.is_symlink()
    }


def snapshot(project: Project) -> dict:
    """What an interrupted `dvc repro` of sample's train must leave exactly as it found it."""
    root = project.root
    return {
        "dvc.lock": {p.relative_to(root).as_posix(): p.read_bytes()
                     for p in [root / "dvc.lock", *root.glob("handles/*/dvc.lock")] if p.is_file()},
        "outputs": files_under(root, "models", "reports", "data"),
        "cache": sorted(str(p.relative_to(root)) for p in (root / ".dvc/cache").rglob("*")),
    }


def train_lock(project: Project) -> dict:
    """handles/sample/dvc.lock's train entry without the metrics file's hash (it holds timings)."""
    entry = lock_entries(project.root)[stage_id("train", "sample")]
    entry["outs"] = [o for o in entry["outs"] if not o["path"].endswith("train_metrics.json")]
    return entry


def metrics(project: Project) -> dict:
    m = json.loads((project.root / layout.bot("sample").train_metrics).read_text())
    return {k: v for k, v in m.items() if k not in TIMINGS}


def assert_same_result(project: Project, reference: Project) -> None:
    """The run ended exactly as the uninterrupted reference run did."""
    assert metrics(project) == metrics(reference)
    for name in MODEL_FILES:
        got = (project.root / layout.bot("sample").model / name).read_bytes()
        assert got == (reference.root / layout.bot("sample").model / name).read_bytes(), name
    assert train_lock(project) == train_lock(reference)
    loss = "reports/sample/train/plots/metrics"
    assert files_under(project.root, loss) == files_under(reference.root, loss)
    assert not (project.root / "checkpoints").exists()  # removed after success
    assert json.loads(project.dvc("status", "--json", stage_id("train", "sample")).stdout) == {}


@contextmanager
def cleanup(*procs: subprocess.Popen):
    """If a test fails half way, kill the process groups it started (their leader still
    runs, so the group id is surely ours)."""
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_repro(project: Project, log: Path) -> subprocess.Popen:
    """`dvc repro` of sample's train in its own process group, as a shell would start it."""
    with log.open("wb") as out:
        return subprocess.Popen([str(BIN / "dvc"), "repro", stage_id("train", "sample")], cwd=project.root,
                                env=project.env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_for_checkpoint(project: Project, proc: subprocess.Popen, log: Path,
                        timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not list((project.root / "checkpoints/sample").glob("*/last.pt")):
        if proc.poll() is not None:
            pytest.fail(f"dvc repro ended before the first checkpoint:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no checkpoint after {timeout} s:\n{log.read_text()}")
        time.sleep(0.05)


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (not zombie) processes of a process group."""
    members = []
    for p in psutil.process_iter(["status"]):
        try:
            if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(p)
        except (ProcessLookupError, psutil.Error):
            pass
    return members


def assert_group_gone(pgid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, [p.cmdline() for p in left]


def rwlock_holders(project: Project) -> list[dict]:
    """The {pid, cmd} entries of DVC's per-path lock file, .dvc/tmp/rwlock."""
    rwlock = project.root / ".dvc/tmp/rwlock"
    info = json.loads(rwlock.read_text() or "{}") if rwlock.exists() else {}
    return [i for kind in info.values() for v in kind.values()
            for i in (v if isinstance(v, list) else [v])]


def assert_dvc_locks_free(project: Project) -> None:
    """DVC's repo lock (.dvc/tmp/lock, an fcntl lock) is not held, and its rwlock names no
    live process (DVC skips entries of dead processes)."""
    import zc.lockfile

    lock = zc.lockfile.LockFile(str(project.root / ".dvc/tmp/lock"))  # what DVC itself takes
    lock.close()
    holders = rwlock_holders(project)
    assert not [i for i in holders if psutil.pid_exists(i["pid"])], holders


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_training_interrupted_half_way_resumes_to_the_same_result(planted, tmp_path, sig):
    project = clone(planted.base, tmp_path / "project")
    before = snapshot(project)
    log = tmp_path / "interrupted.log"
    proc = start_repro(project, log)
    with cleanup(proc):
        wait_for_checkpoint(project, proc, log)
        os.killpg(proc.pid, sig)  # SIGINT: Ctrl-C in a terminal; SIGKILL: OOM killer, closed lid
        proc.wait(timeout=120)
    output = log.read_text()
    assert proc.returncode != 0, output
    assert_group_gone(proc.pid)  # nothing left running: dvc, tweetlm, wandb-core

    if sig == signal.SIGINT:
        # train finishes the step it is in, saves it, says so; DVC reports the failed stage
        stopped = re.search(r"tweetlm: train: stopped at step (\d+)/(\d+)", output)
        assert stopped, output
        assert f"failed to reproduce '{stage_id('train', 'sample')}'" in output and "Traceback" not in output
    after = snapshot(project)
    assert after["dvc.lock"] == before["dvc.lock"]  # no train entry
    assert after["outputs"] == before["outputs"]  # no model files, metrics, plots, temporaries
    assert after["cache"] == before["cache"]  # no object, no run-cache entry
    # in particular, no object of train's outputs (the tokenizer files' objects are there
    # before: the same bytes are in tokenize's output)
    for out in train_lock(planted.reference)["outs"]:
        md5 = out["md5"]
        cached = f".dvc/cache/files/md5/{md5[:2]}/{md5[2:]}"
        assert cached in before["cache"] or not (project.root / cached).exists(), out
        assert out["path"] != "models/sample/model.safetensors" or cached not in after["cache"]
    # SIGINT: DVC exits normally and releases its locks. SIGKILL: the kernel drops the repo
    # lock; the rwlock keeps the dead dvc's entries, which DVC ignores (it checks the pid).
    stale = {i["pid"] for i in rwlock_holders(project)}
    assert stale == (set() if sig == signal.SIGINT else {proc.pid}), stale
    assert_dvc_locks_free(project)  # so the next run needs no cleanup

    again = project.dvc("repro", stage_id("train", "sample"))
    assert ran_stages(again.stdout) == {stage_id("train", "sample")}
    resumed = re.search(r"train sample: resuming at step (\d+)/(\d+)", again.stdout)
    assert resumed, again.stdout
    step, total = map(int, resumed.groups())
    assert 0 < step < total
    if sig == signal.SIGINT:
        assert step == int(stopped.group(1))  # the step it stopped at, not an earlier one
    else:
        assert step % 10 == 0  # the last periodic checkpoint (train.checkpoint_steps)
    # only the remaining steps ran: no log line of an earlier step
    logged = [int(s) for s in re.findall(r"train sample: step (\d+)/", again.stdout)]
    assert logged and min(logged) > step
    assert_same_result(project, planted.reference)


@pytest.mark.slow
def test_two_repros_at_once_one_runs_the_other_is_refused(planted, tmp_path):
    project = clone(planted.base, tmp_path / "project")
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs = [start_repro(project, log) for log in logs]
    with cleanup(*procs):
        for proc in procs:
            proc.wait(timeout=400)
    outputs = [log.read_text() for log in logs]
    codes = [proc.returncode for proc in procs]
    assert sorted(codes)[0] == 0 and sorted(codes)[1] != 0, (codes, outputs)
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    refused = outputs[loser]
    # Refused by DVC's repo lock (.dvc/tmp/lock) if both start in the same instant, else, in
    # practice, by its per-path rwlock (.dvc/tmp/rwlock), which names the process in the way.
    if "Unable to acquire lock" in refused:
        assert "ERROR: Unable to acquire lock. Most likely another DVC process is running" \
            in refused
    else:
        assert re.search(r"ERROR: failed to reproduce '[^']+': '[^']+' is busy, it is being "
                         rf"blocked by:\n  \(PID {procs[winner].pid}\): \S*dvc repro "
                         rf"{re.escape(stage_id('train', 'sample'))}\n", refused), refused
    assert "Running stage" not in refused and "Traceback" not in refused
    assert ran_stages(outputs[winner]) == {stage_id("train", "sample")}, outputs[winner]
    assert "resuming" not in outputs[winner]
    assert_same_result(project, planted.reference)
    assert_dvc_locks_free(project)


@pytest.mark.slow
def test_predict_max_length_past_the_model_context(planted):
    """predict.max_length (160 as shipped) beyond what the model attends to (block_size,
    32 here) samples up to the context instead of indexing past the position embeddings."""
    from helpers.params import make_params
    from tweetlm import predict

    model, tokenizer = predict.load_model(planted.reference.root / layout.bot("sample").model)
    context = model.config.n_positions
    p = replace(make_params().predict, prompts=["Today", "The best thing about my"], num_sequences=3,
                max_length=5 * context, top_p=1.0)
    samples = predict.sample_ids(model, tokenizer, p, predict.generation_config(p, tokenizer))
    lengths = [len(s) for per_prompt in samples for s in per_prompt]
    assert len(lengths) == 6 and max(lengths) <= context


# A stage killed (SIGKILL) at the rename that would publish an output: `os.replace` kills the
# process when its destination is that output, after the temporary is complete.
KILL_AT = '''
import os, signal, sys
real = os.replace
def replace(src, dst, *args, **kwargs):
    if str(dst).endswith(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from tweetlm.core.cli import main
sys.exit(main(sys.argv[2:]))
'''
# stage -> the output it is killed publishing
KILLED_WRITES = {
    "validate": str(layout.params_stamp("train", "sample")), "sample": "data/raw/sample",
    "ingest": "interim/sample/tweets.parquet", "filter": "processed/sample/tweets.parquet",
    "tokenize": "data/tokenized/sample", "train": "models/sample/model.safetensors",
    "predict": "reports/sample/predictions.json", "card": "models/sample/README.md",
}


def leftovers(project: Project) -> list[str]:
    """Temporaries of killed writes under the outputs' folders."""
    return sorted(str(p.relative_to(project.root))
                  for folder in ("data", "models", "reports")
                  for p in (project.root / folder).rglob(".*")
                  if p.name.endswith((".tmp", ".old")))


def test_a_killed_write_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    """outputs.atomic_path, file and folder: SIGKILL inside it leaves `.NAME.*.tmp`; the
    next write of NAME removes it before writing."""
    child = '''
import os, signal, sys
from tweetlm.core.outputs import atomic_path
with atomic_path(sys.argv[1], directory=sys.argv[2] == "dir") as tmp:
    (tmp / "x").write_text("half") if sys.argv[2] == "dir" else tmp.write_text("half")
    os.kill(os.getpid(), signal.SIGKILL)
'''
    from tweetlm.core.outputs import atomic_path

    for kind in ("file", "dir"):
        target = tmp_path / kind / "out"
        seen = []
        for _ in range(2):  # killed twice: the second removed the first's temporary
            proc = subprocess.run([str(BIN / "python"), "-c", child, str(target), kind])
            assert proc.returncode == -signal.SIGKILL
            (left,) = target.parent.glob(".out.*.tmp")
            seen.append(left.name)
        assert seen[0] != seen[1]
        with atomic_path(target, directory=kind == "dir") as tmp:
            (tmp / "x").write_text("whole") if kind == "dir" else tmp.write_text("whole")
        assert sorted(p.name for p in target.parent.iterdir()) == ["out"]


@pytest.mark.slow
def test_each_stage_killed_mid_write_leaves_nothing_after_its_next_run(planted, tmp_path):
    """Every stage of a handle, killed as it publishes an output (the temporary complete),
    then run again: no `.*.tmp` left anywhere under data/, models/, reports/ -- not even
    train's staging folder inside models/sample/, which `hf upload` would publish."""
    project = clone(planted.reference, tmp_path / "project")
    for stage, output in KILLED_WRITES.items():
        args = [stage] if stage == "validate" else \
            ["sample", "--out", "data/raw/sample"] if stage == "sample" else [stage, "sample"]
        if stage == "validate":  # it rewrites only the stamps whose values changed
            (project.root / output).unlink()
        killed = project.run(str(BIN / "python"), "-c", KILL_AT, output, *args, check=False)
        assert killed.returncode == -signal.SIGKILL, (stage, killed.stderr)
        assert leftovers(project), f"{stage}: the kill left no temporary to clean up"
        project.tweetlm(*args)
        assert leftovers(project) == [], stage
