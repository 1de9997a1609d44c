"""benchmarks/device (the GPU recipe) and benchmarks/stage_timer.py, as far as a CPU can run
them: the small GPT-2-shaped base, e2e.sh's project copy and params edit, one timed stage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from helpers.project import ROOT
from tweetlm.core import layout

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "DVC_NO_ANALYTICS": "1", "WANDB_MODE": "disabled"}


@pytest.mark.slow
def test_small_base_and_e2e_copy(tmp_path):
    base = tmp_path / "base"
    subprocess.run([sys.executable, "benchmarks/device/make_base.py", str(base), "--small",
                    "--tweets", "300"], cwd=ROOT, env=ENV, check=True, capture_output=True)
    config = json.loads((base / "config.json").read_text())
    assert (config["vocab_size"], config["n_layer"], config["n_embd"], config["n_positions"]) \
        == (50257, 2, 128, 1024)  # GPT-2's embedding and context, a small body
    assert {"model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= \
        {p.name for p in base.iterdir()}

    tag = f"test{os.getpid()}"
    proc = subprocess.run(
        ["bash", "benchmarks/device/e2e.sh", tag, "offline", "train.epochs=1",
         "train.compile=true"], cwd=ROOT, capture_output=True, text=True, check=True,
        env={**ENV, "PREPARE_ONLY": "1", "BASE": str(base), "PYTHON": sys.executable})
    copy = f"/tmp/tweetlm-{tag}/p"  # where e2e.sh makes it
    try:
        assert "ready" in proc.stdout
        params = yaml.safe_load(open(f"{copy}/params.yaml"))
        assert params["model"]["base"] == str(base.resolve())
        assert params["train"]["epochs"] == 1 and params["train"]["compile"] is True
        cmds = [line for line in open(f"{copy}/dvc.yaml") if "cmd:" in line]
        assert cmds and all("benchmarks/stage_timer.py" in c for c in cmds)
        git = lambda *a: subprocess.run(["git", *a], cwd=copy, capture_output=True, text=True,
                                        check=True).stdout
        assert git("status", "--porcelain") == ""  # committed: DVC sees a clean copy
        files = git("ls-files").split()
        assert "src/tweetlm/train/gpt2.py" in files and not any(
            f.startswith(("data/", "models/", "reports/")) or f == "dvc.lock" for f in files)
    finally:
        subprocess.run(["rm", "-rf", f"/tmp/tweetlm-{tag}"])


def test_stage_timer_splits_a_stage(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    shutil.copytree(ROOT / "handles", tmp_path / "handles")  # the pipeline files validate checks
    times = tmp_path / "times.jsonl"
    subprocess.run([sys.executable, str(ROOT / "benchmarks/stage_timer.py"), "validate"],
                   cwd=tmp_path, check=True, capture_output=True,
                   env={**ENV, "TWEETLM_STAGE_TIMES": str(times),
                        "PYTHONPATH": str(ROOT / "src")})
    (record,) = [json.loads(line) for line in times.read_text().splitlines()]
    assert record["stage"] == "validate" and record["exit"] == 0
    parts = ("startup_s", "imports_s", "load_s", "work_s", "saving_s", "tracking_s")
    assert all(record[k] >= 0 for k in parts)
    assert record["imports_s"] > 0 and record["saving_s"] > 0  # pydantic; reports/params/
    assert sum(record[k] for k in parts) <= record["wall_s"] + 0.02
    assert (tmp_path / layout.params_stamp("train", layout.SAMPLE_HANDLE)).is_file()
