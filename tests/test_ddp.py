"""`tweetlm train` under torchrun: 2 processes, gloo on the CPU, each rank its share of every
micro-batch, give the one-process run of the same global batch; rank 0 alone writes and
prints; a crashed 2-process run resumes to the uninterrupted result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.params import shipped_raw
from helpers.project import ROOT
from helpers.stages import run_stages
from helpers.tinymodel import tweets, write_tweets

from tweetlm import tokenize
from tweetlm.core.params import load_params, parse_params
from tweetlm.core import layout

NAME = "alice"
SMALL = {  # as tests/test_train.py: a tiny GPT-2 that learns in seconds
    "tokenize": {"val_fraction": 0.1, "seed": 1},
    "model": {"base": "tiny", "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 32,
                                       "vocab_size": 400, "n_positions": 32, "dropout": 0.0}},
    "train": {"learning_rate": 3e-3, "block_size": 32, "epochs": 2, "batch_size": 8,
              "grad_accum": 1, "logging_steps": 5, "checkpoint_steps": 1000, "device": "cpu"},
}
# Crash every rank after optimizer step CRASH_AT, then hand over to the real CLI.
CRASHER = """
import os, sys
import tweetlm.train as stage
from tweetlm.train import loop

def crashing(params, paths, on_step=None, run=None):
    def boom(step):
        if step == int(os.environ["CRASH_AT"]):
            raise RuntimeError("simulated crash")
    return loop.train(params, paths, on_step=boom, run=run)

stage.train = crashing
from tweetlm.core import cli
from tweetlm.core import layout
sys.exit(cli.main(sys.argv[1:]))
"""


def write_params(folder: Path, **train) -> None:
    raw = shipped_raw()
    raw["handles"] = [NAME]
    for section, values in SMALL.items():
        for key, value in values.items():
            if isinstance(value, dict):
                raw[section][key].update(value)
            else:
                raw[section][key] = value
    raw["train"].update(train)
    parse_params(raw)
    (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


@pytest.fixture(scope="module")
def tokenized(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp-data")
    write_tweets(root / layout.processed(NAME), tweets(400, seed=11))
    write_params(root)
    run_stages(root, NAME, load_params(root / "params.yaml"), tokenize)
    return root / layout.bot(NAME).tokenized


def workdir(base: Path, tokenized: Path, **train) -> Path:
    base.mkdir(parents=True)
    shutil.copytree(tokenized, base / layout.bot(NAME).tokenized)
    write_params(base, **train)
    return base


def launch(folder: Path, nproc: int, script: list[str] | None = None, check: bool = True,
           **env) -> subprocess.CompletedProcess:
    """`tweetlm train NAME` in `folder`: in one plain process, or under torchrun."""
    target = script or ["-m", "tweetlm.core.cli"]
    cmd = ([sys.executable, *target, "train", NAME] if nproc == 1 else
           [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", *(script or ["-m", "tweetlm.core.cli"]), "train", NAME])
    full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WANDB_MODE": "disabled",
                "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **env}
    proc = subprocess.run(cmd, cwd=folder, env=full_env, capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def metrics(folder: Path) -> dict:
    return json.loads((folder / layout.bot(NAME).train_metrics).read_text())


@pytest.mark.slow
def test_two_processes_train_as_one_with_the_same_global_batch(tmp_path, tokenized):
    meta = json.loads((tokenized / "meta.json").read_text())
    blocks = meta["splits"]["train"]["blocks"]
    assert blocks % 8 and blocks % 8 <= 4  # the last micro-batch leaves rank 1 idle
    one = workdir(tmp_path / "one", tokenized, batch_size=8)
    two = workdir(tmp_path / "two", tokenized, batch_size=4)  # x 2 ranks = 8
    launch(one, 1)
    out = launch(two, 2)

    a, b = metrics(one), metrics(two)
    assert (a["processes"], b["processes"]) == (1, 2)
    assert a["batch_size"] == b["batch_size"] == 8
    for key in ("steps", "tokens_seen", "validation_tokens", "train_blocks"):
        assert a[key] == b[key], key
    for key in ("initial_eval_loss", "eval_loss", "train_loss"):
        assert b[key] == pytest.approx(a[key], rel=1e-4), key
    # rank 0 alone prints and writes
    assert out.stdout.count("eval loss") == len(
        [h for h in (two / layout.bot(NAME).train_plots / "eval/loss.tsv")
         .read_text().splitlines()[1:]]) + 1  # + the final summary line
    assert sorted(p.name for p in (two / layout.bot(NAME).model).iterdir()) == sorted(
        p.name for p in (one / layout.bot(NAME).model).iterdir())
    assert not (two / "checkpoints").exists()

    # the lean GPT-2 (train.fast_gpt2, what a GPU gets) under torchrun: the same run again
    lean = workdir(tmp_path / "lean", tokenized, batch_size=4, fast_gpt2=True)
    launch(lean, 2)
    c = metrics(lean)
    assert (c["training_path"], c["processes"]) == ("lean GPT-2", 2)
    for key in ("initial_eval_loss", "eval_loss", "train_loss"):
        assert c[key] == pytest.approx(a[key], rel=1e-4), key


@pytest.mark.slow
def test_a_crashed_two_process_run_resumes_to_the_same_result(tmp_path, tokenized):
    plain = workdir(tmp_path / "plain", tokenized, batch_size=4, checkpoint_steps=5)
    crash = workdir(tmp_path / "crash", tokenized, batch_size=4, checkpoint_steps=5)
    launch(plain, 2)
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER)
    failed = launch(crash, 2, script=[str(script)], check=False, CRASH_AT="12")
    assert failed.returncode != 0 and "simulated crash" in failed.stderr
    assert list((crash / "checkpoints" / NAME).glob("*/last.pt"))  # rank 0 saved at step 10
    resumed = launch(crash, 2)
    assert "resuming at step 10/" in resumed.stdout
    a, b = metrics(plain), metrics(crash)
    for key in ("initial_eval_loss", "eval_loss", "train_loss", "tokens_seen", "steps"):
        assert b[key] == pytest.approx(a[key], rel=1e-6), key
    assert not (crash / "checkpoints").exists()
