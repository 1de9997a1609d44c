"""Comparing runs with DVC experiments, and param typos that fail before any stage works.

`dvc exp run -S` changes params.yaml for one run; `dvc exp show` puts every run's params
and metrics (filter's stats.json, train's eval loss) side by side; `dvc queue` runs a batch.
DVC writes any `+new.key=value` or `key=wrong-type` into params.yaml without a word, so the
pipeline's first stage, `validate`, reads the whole file and every stage using params waits
on it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from pathlib import Path

import pytest

from helpers.project import BIN, Project, copy_project, ran_stages
from tweetlm.core import layout
from tweetlm.core.layout import stage_id

ROOT = Path(__file__).resolve().parents[1]
HANDLE = layout.SAMPLE_HANDLE
STATS = layout.stats(HANDLE).as_posix()
TRAIN_METRICS = layout.bot(HANDLE).train_metrics.as_posix()

# name -> overrides. The first is the issue's own command (with a shorter training), run in
# the workspace; the others are queued. On the sample, min_words 3 and 4 keep the same
# tweets, 5 drops a few and 10 drops a third. Short trainings: this proves the mechanics.
WORKSPACE_RUN = ("words5", ["filter.min_words=5", "train.epochs=0.5"])
QUEUED_RUNS = {
    "words3": ["train.epochs=0.25"],
    "words10": ["filter.min_words=10", "train.epochs=0.25"],
}
# Fewer, shorter samples from each model: predict is not what is compared here.
QUICK = {"predict.num_sequences": 2, "predict.max_length": 64}
QUEUE_TIMEOUT = 600  # seconds for the queued runs to finish, polled every 2 s


def exp_args(name: str, overrides: list[str]) -> list[str]:
    return ["-n", name, *(arg for o in overrides for arg in ("-S", o))]


def experiments(show: list[dict]) -> dict[str, dict]:
    """{experiment name: its params and metrics} from `dvc exp show --json`."""
    found = {}
    for commit in show:
        for exp in commit.get("experiments") or []:
            (rev,) = exp["revs"]
            found[exp["name"]] = rev["data"]
    return found


def wait_for_queue(project: Project, timeout: float) -> str:
    """Poll `dvc queue status` until nothing is queued or running; return its last output."""
    deadline = time.monotonic() + timeout
    while True:
        status = project.dvc("queue", "status").stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            return status
        if time.monotonic() > deadline:
            project.dvc("queue", "kill", *QUEUED_RUNS, check=False)
            pytest.fail(f"queued experiments still running after {timeout}s:\n{status}")
        time.sleep(2)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Three experiments on the sample handle: one run in the workspace, two queued and run
    by one worker. Returns the project and `dvc exp show --json`."""
    project = copy_project(tmp_path_factory.mktemp("experiments") / "tweetlm")
    project.set_params(**QUICK)
    project.git("commit", "-q", "-am", "quick predict")
    # Queue first: a queued run snapshots the workspace, which must still be the checkout.
    # (Queued runs stop at train: predict and card would only add minutes here.)
    for name, overrides in QUEUED_RUNS.items():
        project.dvc("exp", "run", "--queue", stage_id("train", HANDLE), *exp_args(name, overrides))
    started = time.monotonic()
    run = project.dvc("exp", "run", *exp_args(*WORKSPACE_RUN))
    print(f"dvc exp run (whole pipeline, {WORKSPACE_RUN[1]}): {time.monotonic() - started:.0f}s")
    assert {"validate", stage_id("train", HANDLE)} <= ran_stages(run.stdout), run.stdout
    started = time.monotonic()
    try:
        project.dvc("queue", "start", "-j", "1")
        status = wait_for_queue(project, QUEUE_TIMEOUT)
    finally:
        project.dvc("queue", "stop", check=False)
    print(f"dvc queue ({len(QUEUED_RUNS)} runs, -j 1): {time.monotonic() - started:.0f}s")
    for name in QUEUED_RUNS:
        log = project.dvc("queue", "logs", name, check=False).stdout
        assert re.search(rf"\b{name}\b.*\bSuccess\b", status), f"{name} failed:\n{status}\n{log}"
        # Each queued run took what the workspace run had already done from the run-cache.
        assert f"Stage '{stage_id('ingest', HANDLE)}' is cached - skipping run" in log, log
    show = json.loads(project.dvc("exp", "show", "--json").stdout)
    return project, show


@pytest.mark.slow
def test_exp_show_puts_stats_and_eval_loss_side_by_side(compared):
    project, show = compared
    runs = experiments(show)
    assert set(runs) == {WORKSPACE_RUN[0], *QUEUED_RUNS}, list(runs)

    table = {}
    for name, data in runs.items():
        params = data["params"]["params.yaml"]["data"]
        stats = data["metrics"][STATS]["data"]
        train = data["metrics"][TRAIN_METRICS]["data"]
        table[name] = (params["filter"]["min_words"], params["train"]["epochs"], stats, train)
    print(json.dumps({k: [v[0], v[1], v[2]["kept"], v[3]["eval_loss"]] for k, v in table.items()}))

    # Each run recorded the params it was given ...
    assert {n: t[:2] for n, t in table.items()} == {
        "words5": (5, 0.5), "words3": (3, 0.25), "words10": (10, 0.25)}
    # ... filtered the same download differently: a higher min_words keeps fewer tweets ...
    same = {(s["downloaded"], s["retweets"]) for _, _, s, _ in table.values()}
    assert len(same) == 1, same
    kept = [table[n][2]["kept"] for n in ("words3", "words5", "words10")]
    assert kept[0] >= kept[1] >= kept[2] and kept[0] > kept[2], kept
    for _, _, s, _ in table.values():
        assert s["kept"] == s["downloaded"] - s["retweets"] - s["short"]
    # ... and trained on different data or for longer: a real, different eval loss each.
    losses = [t["eval_loss"] for _, _, _, t in table.values()]
    assert all(isinstance(x, float) and math.isfinite(x) and x > 0 for x in losses), losses
    assert len(set(losses)) == len(losses), losses

    # The table a person reads has both metrics as columns, one row per experiment.
    rows = list(csv.DictReader(io.StringIO(project.dvc("exp", "show", "--csv").stdout)))
    by_name = {row["Experiment"]: row for row in rows if row.get("Experiment")}
    for name, (_, _, stats, train) in table.items():
        assert int(by_name[name]["kept"]) == stats["kept"]
        assert float(by_name[name]["eval_loss"]) == pytest.approx(train["eval_loss"])


@pytest.mark.slow
def test_metrics_and_plots_diff_between_experiments(compared, tmp_path):
    project, _ = compared
    a, b = "words3", "words10"
    diff = json.loads(project.dvc("metrics", "diff", a, b, "--json").stdout)
    assert diff[STATS]["kept"]["diff"] != 0, diff
    assert diff[TRAIN_METRICS]["eval_loss"]["diff"] != 0, diff

    out = tmp_path / "plots"
    project.dvc("plots", "diff", a, b, "-o", str(out))
    page = (out / "index.html").read_text()
    assert a in page and b in page


@pytest.mark.slow
def test_tweetlm_compare_fits_the_experiments_in_120_columns(compared):
    """What `dvc exp show` spreads over hundreds of columns, in 120: per experiment, the
    changed params and kept, eval loss, perplexity and copy share, as DVC recorded them."""
    project, show = compared
    out = project.tweetlm("compare", "--width", "120").stdout
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120, out
    runs = experiments(show)
    for name, data in runs.items():
        (line,) = [row for row in lines if row.startswith(f"{name} [")]
        loss = data["metrics"][TRAIN_METRICS]["data"]["eval_loss"]
        kept = data["metrics"][STATS]["data"]["kept"]
        assert f"{loss:.4f}" in line.split() and f"{kept:,}" in line.split(), (name, line)
    (words10,) = [row for row in lines if row.startswith("words10 [")]
    assert "filter.min_words=10" in words10 and "train.epochs=0.25" in words10


# Bad params: each fails in `validate` with tweetlm's one line, before any other stage.
BAD_PARAMS = {
    "unknown-key": ("+filter.min_wrds=5", r"params\.yaml: filter\.min_wrds: unknown key"),
    "wrong-type": ("train.epochs=abc", r"params\.yaml: train\.epochs: expected a number"),
}


@pytest.mark.parametrize("case", BAD_PARAMS, ids=list(BAD_PARAMS))
def test_bad_param_fails_in_validate_before_any_work(project, case):
    override, message = BAD_PARAMS[case]
    started = time.monotonic()
    proc = project.dvc("exp", "run", "-S", override, check=False)
    elapsed = time.monotonic() - started
    print(f"dvc exp run -S {override}: failed in {elapsed:.1f}s")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(rf"^tweetlm: error: {message}", output, re.M), output
    assert "Traceback" not in output
    assert ran_stages(output) == {"validate"}, output
    # No stage wrote anything (DVC itself may leave empty output folders).
    for later in (f"data/raw/{HANDLE}", "data/interim", "data/processed", "models", "reports"):
        written = [p for p in (project.root / later).rglob("*") if p.is_file()]
        assert not written, written
    assert elapsed < 60


def test_a_handle_without_raw_files_fails_in_validate_before_any_work(project):
    """Not DVC's `failed to reproduce` of nobody's ingest ([Errno 2] ...) after other stages
    ran: validate names the handle, the folder and what to do."""
    project.set_params(handles=[HANDLE, "nobody"])
    proc = project.dvc("repro", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    line = ("tweetlm: error: params.yaml: handles: nobody: data/raw/nobody/ not found: put the "
            "account's tweet files there (README: Bring tweets), or take nobody out "
            "of `handles`")
    assert re.search(rf"^{re.escape(line)}$", output, re.M), output
    assert "Errno" not in output and "Traceback" not in output
    assert ran_stages(output) <= {"validate", "sample"}, output


def test_make_run_names_a_handle_written_with_an_at_before_dvc(project):
    """A bad handle name never reaches DVC (its pipeline file cannot be written: not
    found); `make run` validates first, so the user reads tweetlm's line instead."""
    venv = BIN.parent
    project.set_params(handles=[HANDLE, "@alice"])
    proc = project.run("make", "-o", f"{venv}/.installed", "run", f"VENV={venv}", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ("tweetlm: error: params.yaml: handles[1]: invalid handle '@alice': write it "
            "without the '@': alice") in output, output
    assert "not found inside" not in output and ran_stages(output) == set(), output


def test_misspelt_param_is_refused_by_dvc_itself(project):
    """Without a `+`, DVC refuses a key that params.yaml lacks and touches nothing."""
    proc = project.dvc("exp", "run", "-S", "filter.min_wrds=5", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(r"^ERROR: .*Could not override 'filter\.min_wrds'", output, re.M), output
    assert "Traceback" not in output
    assert ran_stages(output) == set()
    assert project.git("status", "--porcelain").stdout == ""


def readme_set_params() -> list[str]:
    """Every `-S` value of a `dvc exp run` in the bash blocks of the README and docs/ (the
    text blocks show failures on purpose)."""
    import shlex

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = "\n".join(page.read_text(encoding="utf-8") for page in pages)
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("dvc exp run"):
                args = shlex.split(line, comments=True)
                found += [args[i + 1] for i, a in enumerate(args) if a == "-S"]
    return found


@pytest.mark.parametrize("override", readme_set_params())
def test_every_set_param_in_the_readme_works_in_dvc_and_validates(override, tmp_path):
    """DVC's own override parser (Hydra) takes it, and tweetlm validate accepts the result:
    the docs' `-S` forms work as written."""
    import shutil

    from dvc.utils.hydra import apply_overrides

    from tweetlm.core.params import load_params

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    apply_overrides(str(tmp_path / "params.yaml"), [override])
    load_params(tmp_path / "params.yaml")


def test_the_readme_shows_display_names_in_forms_dvc_takes():
    forms = [o for o in readme_set_params() if "display_names" in o]
    assert forms == ["+card.display_names.alice=Marsh Wren",
                     "++card.display_names={alice: Marsh Wren, bob: Bob Ross}"]
