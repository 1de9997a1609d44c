"""benchmarks/device (the GPU recipe) and benchmarks/stage_timer.py, as far as a CPU can run
them: the small GPT-2-shaped base, e2e.sh's project copy and params edit, one timed stage, and
lean_vs_hf.py's comparison of the two training paths and its verdict on train.fast_gpt2."""

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
        # every stage's `tweetlm` is the timer, first on the copy's PATH; the files as generated
        assert "benchmarks/stage_timer.py" in open(f"{copy}/.bench-bin/tweetlm").read()
        cmds = [line for line in open(f"{copy}/{layout.pipeline_file('sample')}") if "cmd:" in line]
        assert cmds and all("cmd: tweetlm " in c for c in cmds)
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


def _lean_vs_hf():
    """benchmarks/device/lean_vs_hf.py as a module (its decide() and tolerance())."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "lean_vs_hf", ROOT / "benchmarks/device/lean_vs_hf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_lean_vs_hf_on_a_cpu_trains_both_alike_and_decides_nothing(tmp_path):
    """The GPU comparison run on a CPU in fp32 with a tiny GPT-2: both paths from the same
    weights on the same batches give the same loss curve (fp32: to 1e-4 of the loss), every
    step timed, the JSON a table benchmarks/tables.py renders, and no params change (a CPU
    decides nothing about the CUDA default)."""
    from helpers.tinymodel import save_tiny_gpt2

    base = save_tiny_gpt2(tmp_path / "base", n_positions=64)
    out = tmp_path / "device-lean-vs-hf.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/device/lean_vs_hf.py", "--base", str(base), "--steps", "6",
         "--batch", "2", "--block", "64", "--warmup", "1", "--out", str(out)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    hf, lean = report["curves"]["hf"], report["curves"]["lean"]
    assert len(hf) == len(lean) == 6 and set(report["curves"]) == {"hf", "lean"}  # fp32: no ref
    assert all(len(report["step_ms"][k]) == 6 and min(report["step_ms"][k]) > 0
               for k in ("hf", "lean"))
    assert hf[-1] < hf[0]  # it trained
    assert max(abs(a - b) for a, b in zip(hf, lean)) < 1e-4 * hf[0] and report["matches"]
    assert report["device"] == "cpu" and report["dtype"] == "fp32"
    assert report["params_change"] is None and "decides nothing" in report["verdict"]
    assert proc.stdout.splitlines()[-1] == f"verdict: {report['verdict']}"
    assert [row[0] for row in report["rows"]] == ["hf", "lean"]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tables

    assert "| lean |" in "\n".join(tables.section(out))


def test_the_verdict_names_the_params_change_only_for_a_match_that_is_faster():
    lvh = _lean_vs_hf()
    hf = [10.0 - 0.1 * i for i in range(50)]
    ref = [v + 0.01 * (i % 3) for i, v in enumerate(hf)]  # bf16 moved hf by up to 0.02
    fast, slow = {"hf": [100.0] * 50, "lean": [70.0] * 50}, {"hf": [100.0] * 50,
                                                            "lean": [99.0] * 50}
    # tolerance: 2 x the bf16 envelope (0.04) or 2^-8 of the first loss (0.039), the larger
    assert lvh.tolerance(hf, ref, "bf16") == pytest.approx(0.04)
    assert lvh.tolerance(hf, hf, "bf16") == pytest.approx(10.0 / 256)
    assert lvh.tolerance(hf, None, "fp32") == pytest.approx(1e-3)

    def decide(lean, step_ms, **how):
        return lvh.decide({"hf": hf, "lean": lean, "hf_fp32": ref}, step_ms,
                          **{"dtype": "bf16", "device": "cuda", **how})

    close = [v + 0.035 for v in hf]
    yes = decide(close, fast)
    assert yes["matches"] and yes["faster"] and yes["speedup"] == pytest.approx(100 / 70)
    assert yes["params_change"] == "train.fast_gpt2: auto"
    assert "set `train.fast_gpt2: auto` in params.yaml" in yes["verdict"]

    apart = close[:40] + [hf[40] + 0.06] + close[41:]  # leaves the band at step 41
    no = decide(apart, fast)
    assert not no["matches"] and no["worst_step"] == 41 and no["params_change"] is None
    assert "keep `train.fast_gpt2: false`" in no["verdict"] and "fix train/gpt2.py" in no["verdict"]

    no = decide(close, slow)  # 1.01x: timing noise, not a reason to switch
    assert no["matches"] and not no["faster"] and no["params_change"] is None
    assert no["verdict"].endswith("no faster")

    nan = decide(close[:-1] + [float("nan")], fast)
    assert not nan["matches"] and nan["params_change"] is None

    warm = decide(close, {"hf": [900.0] * 5 + [100.0] * 45, "lean": [5000.0] * 5 + [70.0] * 45})
    assert warm["speedup"] == pytest.approx(100 / 70)  # warm-up steps (compile) left out

    for where in ({"device": "cpu"}, {"dtype": "fp32"}):  # decides nothing off a CUDA bf16 run
        assert decide(close, fast, **where)["params_change"] is None
