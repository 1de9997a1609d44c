"""Training speed: tokens/s and MFU; where each pipeline stage's time goes.

    python benchmarks/bench_train.py [--out reports/benchmarks/train.json] [--no-e2e]

Every figure comes from tweetlm.train's own code (train_step, make_optimizer, precision,
the lean GPT-2 of train/gpt2.py, train), not a re-implementation. A quick CPU check:
--no-e2e --cpu-steps 5 --tweets 400 --epochs 1.

  cpu_tiny   the shipped tiny preset (params.yaml model.tiny, train.block_size/batch_size)
             on this CPU, HF model and lean GPT-2 (fp32 eager both, taking turns, best of 5
             rounds: robust to other jobs on a shared machine): tokens/s of a training
             step, and MFU against this CPU's measured fp32 matmul rate (CPUs have no vendor
             peak worth quoting).
  tiny_run   train.train() end to end on the sample handle's tweets (3,200 raw, filtered;
             4 epochs as shipped, or --epochs): wall time, eval loss and perplexity; the
             ratio of its tokens/s to cpu_tiny's is the loop's efficiency (evals, logging, data).
  gpu_gpt2   CUDA only: GPT-2 124M (the `gpt2` architecture; its weights if cached, else
             random init: the compute is the same), block 1024, steady state, three variants
             in the same run: HF fp32 eager (no TF32, unfused AdamW: the baseline), HF
             optimized (bf16 autocast, SDPA, fused AdamW, torch.compile of the model) and lean
             (train/gpt2.py: vocabulary padded to 50304, logits and loss in one compiled
             function, bf16, fused AdamW). MFU against the GPU's dense bf16 peak, counting the
             real model's FLOPs (padded vocabulary rows are not useful work).
  e2e        `dvc repro` of the whole pipeline on the sample handle in a temporary copy of
             the project (the files tests/helpers/project.py copies), every stage run through
             benchmarks/stage_timer.py: per stage, DVC's own time and the stage's start-up,
             imports, model load, work, saving and W&B tracking; once per --wandb mode
             (default: offline as shipped, then disabled, `dvc repro -f`), with each stage's
             CPU seconds. --e2e-base uses a base model folder instead of the tiny preset
             (benchmarks/device/make_base.py makes a GPT-2-shaped one), --set KEY=VALUE
             edits params.yaml of the copy. benchmarks/device/ runs all of it on a GPU.

FLOPs per token = 6 N + 12 L d T (PaLM appendix B / nanoGPT): N parameters without the
position embeddings, L layers, d width, T block size; forward + backward.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from tweetlm.core.layout import stage_id  # noqa: E402  (after the path: this checkout's)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Dense bf16 tensor-core peaks, TFLOP/s (vendor datasheets, no sparsity).
GPU_PEAK_TFLOPS = [
    ("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0), ("GH200", 989.0),
    ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0), ("A10", 125.0),
    ("RTX 4090", 165.0), ("RTX 3090", 71.0),
]
STAGES = ["validate", "sample", "ingest", "filter", "tokenize", "train", "predict", "card"]


def flops_per_token(model, block_size: int) -> float:
    cfg = model.config
    n = sum(p.numel() for p in model.parameters())
    wpe = getattr(getattr(model, "transformer", None), "wpe", None)
    n -= wpe.weight.numel() if wpe is not None else 0
    return 6 * n + 12 * cfg.n_layer * cfg.n_embd * block_size


def make_stepper(model, batch: int, block: int, *, device, compile_: bool, optimized: bool,
                 lean: bool = False):
    """(run(steps) -> seconds, info) for training steps (train.model.train_step) on random
    tokens (same compute as real ones). `model` is a GPT2LMHeadModel; with `lean` it is
    trained as train/gpt2.py's LeanGPT2 (vocabulary padded to a multiple of 64, loss compiled
    with the model)."""
    import torch

    from tweetlm.train.model import hf_loss, make_optimizer, precision, train_step

    if optimized:
        autocast, bf16 = precision(device)
    else:
        from contextlib import nullcontext

        autocast, bf16 = nullcontext(), False
        if device.type == "cuda":  # a true fp32 baseline: no TF32 either
            if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
                torch.backends.cuda.matmul.fp32_precision = "ieee"
            else:
                torch.backends.cuda.matmul.allow_tf32 = False
    vocab = model.config.vocab_size
    if lean:
        from tweetlm.train.gpt2 import LeanGPT2, loss_function

        model = LeanGPT2.from_hf(model, vocab_multiple=64)
        loss_fn = loss_function(model, bf16, compile=compile_)
    else:
        loss_fn = hf_loss(torch.compile(model) if compile_ else model, autocast)
    optimizer = make_optimizer(model, 1e-4, 0.0, fused=optimized and device.type == "cuda")
    gen = torch.Generator(device="cpu").manual_seed(0)
    data = [torch.randint(0, vocab, (batch, block), generator=gen).to(device) for _ in range(4)]
    done = [0]

    def run(steps: int) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            loss = train_step(loss_fn, model, optimizer, [data[done[0] % 4]], 1e-4, 1.0)
            done[0] += 1
        loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    return run, {"batch": batch, "block_size": block, "bf16": bf16, "compile": compile_,
                 "path": "lean" if lean else "hf"}


def step_throughput(model, batch: int, block: int, steps: int, warmup: int, **how) -> dict:
    """Steady-state tokens/s: `warmup` steps (compile, autotune, allocator), then `steps`."""
    run, info = make_stepper(model, batch, block, **how)
    run(warmup)
    elapsed = run(steps)
    return {"tokens_per_s": steps * batch * block / elapsed, "step_ms": 1000 * elapsed / steps,
            "steps": steps, **info}


def cpu_matmul_peak(seconds: float = 2.0) -> float:
    """This CPU's fp32 GEMM rate (FLOP/s): the ceiling MFU is measured against."""
    import torch

    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start)


def bench_cpu_tiny(params, steps: int, rounds: int = 5) -> dict:
    """The tiny preset's step on this CPU: the HF model, and the same weights as the lean
    GPT-2 (fp32 eager both: on a CPU, compile does not pay for a short run). The two take
    turns, `rounds` rounds of steps/rounds steps each, and each keeps its best round: other
    jobs on a shared machine slow whichever runs while they do."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tiny, recipe = params.model.tiny, params.train
    block = recipe.block_size if recipe.block_size != "auto" else tiny.n_positions
    device = torch.device("cpu")
    config = GPT2Config(vocab_size=tiny.vocab_size, n_positions=block, n_embd=tiny.n_embd,
                        n_layer=tiny.n_layer, n_head=tiny.n_head, resid_pdrop=tiny.dropout,
                        embd_pdrop=tiny.dropout, attn_pdrop=tiny.dropout,
                        bos_token_id=0, eos_token_id=0, attn_implementation="sdpa")
    peak = cpu_matmul_peak()
    runners, out = {}, {}
    for label in ("hf", "lean"):
        torch.manual_seed(0)
        model = GPT2LMHeadModel(config).train()
        fpt = flops_per_token(model, block)
        run, info = make_stepper(model, recipe.batch_size, block, device=device, compile_=False,
                                 optimized=True, lean=label == "lean")
        run(5)  # warm-up
        runners[label] = run, fpt
        out[label] = {**info, "parameters": sum(p.numel() for p in model.parameters()),
                      "flops_per_token": fpt, "round_ms": []}
    per_round = max(1, steps // rounds)
    for _ in range(rounds):
        for label, (run, _) in runners.items():
            out[label]["round_ms"].append(round(1000 * run(per_round) / per_round, 1))
    for label, (_, fpt) in runners.items():
        r = out[label]
        r["step_ms"] = min(r["round_ms"])
        r["tokens_per_s"] = recipe.batch_size * block / (r["step_ms"] / 1000)
        r["achieved_tflops"] = r["tokens_per_s"] * fpt / 1e12
        r["mfu"] = r["tokens_per_s"] * fpt / peak
    out.update({"device": platform.processor() or platform.machine(),
                "threads": torch.get_num_threads(), "peak_tflops": peak / 1e12,
                "peak_source": "measured fp32 1024x1024 matmul", "rounds": rounds,
                "lean_speedup": out["lean"]["tokens_per_s"] / out["hf"]["tokens_per_s"]})
    return out


def bench_tiny_run(params, tweets_n: int, epochs: float | None = None) -> dict:
    """train.train() as `dvc repro` runs it, on the sample handle's tweets (sample, ingest
    and filter run in-process)."""
    from tweetlm import tokenize, train
    from tweetlm.core import layout

    params = replace(params, handles=[layout.SAMPLE_HANDLE], bots={},
                     train=replace(params.train, device="cpu",
                                   epochs=epochs or params.train.epochs),
                     model=replace(params.model, base="tiny"))
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="tweetlm-bench-") as tmp:
        os.chdir(tmp)
        try:
            os.environ["WANDB_MODE"] = "disabled"
            corpus = _sample_corpus(params, tweets_n)
            start = time.perf_counter()
            tokenize.main("sample", params)
            tokenize_s = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            metrics = train.train(params, layout.bot(layout.SAMPLE_HANDLE))
            train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
            meta = json.loads(Path("data/tokenized/sample/meta.json").read_text())
        finally:
            os.chdir(cwd)
    return {
        "corpus": corpus, "tweets": meta["splits"]["train"]["tweets"]
        + meta["splits"]["validation"]["tweets"],
        "train_tokens": meta["splits"]["train"]["tokens_in_blocks"],
        "tokenize_s": tokenize_s, "train_call_s": train_s,
        "train_call_cpu_s": train_cpu,  # CPU seconds, all threads: less load-sensitive
        **metrics,
    }


def _sample_corpus(params, tweets_n: int) -> str:
    import contextlib
    import io

    from tweetlm import filter as filter_stage
    from tweetlm import ingest, sample
    from tweetlm.core import layout

    with contextlib.redirect_stdout(io.StringIO()):
        sample.main(str(layout.raw_dir(layout.SAMPLE_HANDLE)), tweets_n, 0)
        ingest.main(layout.SAMPLE_HANDLE, params)
        filter_stage.main(layout.SAMPLE_HANDLE, params)
    return f"the sample handle ({tweets_n} raw tweets, filtered)"


def bench_gpu_gpt2(batch: int, steps: int) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tweetlm.shared import pretrained
    from tweetlm.core.errors import TweetlmError

    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak = next((p for key, p in GPU_PEAK_TFLOPS if key in name), None)

    def fresh_model():
        try:
            base = pretrained.resolve("gpt2")
            model, weights = pretrained.load_model(base.path, attn_implementation="sdpa",
                                                   dtype=torch.float32), "gpt2 (cached)"
        except TweetlmError:
            torch.manual_seed(0)
            model, weights = GPT2LMHeadModel(GPT2Config(attn_implementation="sdpa")), "random"
        return model.to(device).train(), weights

    results = {"device": name, "peak_tflops": peak, "peak_source": "dense bf16 datasheet"}
    variants = (("baseline_fp32_eager", False, False), ("optimized", True, False),
                ("lean", True, True))
    for label, optimized, lean in variants:
        model, weights = fresh_model()
        fpt = flops_per_token(model, 1024)  # the real model's, whatever the path pads
        size = batch
        while True:
            try:
                r = step_throughput(model, size, 1024, steps, 10 if optimized else 3,
                                    device=device, compile_=optimized, optimized=optimized,
                                    lean=lean)
                break
            except torch.OutOfMemoryError:
                if size == 1:
                    raise
                size //= 2
                torch.cuda.empty_cache()
        r.update({"weights": weights, "flops_per_token": fpt,
                  "achieved_tflops": r["tokens_per_s"] * fpt / 1e12,
                  "mfu": r["tokens_per_s"] * fpt / (peak * 1e12) if peak else None,
                  "max_memory_gib": torch.cuda.max_memory_allocated() / 2**30})
        results[label] = r
        del model
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    base = results["baseline_fp32_eager"]["tokens_per_s"]
    results["speedup_vs_baseline"] = results["optimized"]["tokens_per_s"] / base
    results["lean_speedup_vs_baseline"] = results["lean"]["tokens_per_s"] / base
    return results


PARTS = ("startup_s", "imports_s", "load_s", "work_s", "saving_s", "tracking_s")


def e2e_project(dest: Path, base: str | None = None, sets: dict | None = None):
    """A git copy of the project in `dest` (what tests/helpers/project.py copies: the code,
    never a checkout's outputs or dvc.lock), params edited, every stage's `tweetlm` command
    run through benchmarks/stage_timer.py; committed. Returns the helpers.project.Project."""
    import yaml

    sys.path.insert(0, str(ROOT / "tests"))
    from helpers.project import copy_project

    project = copy_project(dest, ROOT)
    updates = {"model.base": str(Path(base).resolve())} if base else {}
    updates.update({k: yaml.safe_load(v) if isinstance(v, str) else v
                    for k, v in (sets or {}).items()})
    if updates:
        project.set_params(**updates)
    # Every stage's `tweetlm` runs through benchmarks/stage_timer.py: a `tweetlm` first on the
    # copy's PATH (the pipeline files stay as generated, so validate accepts them).
    shim = dest / ".bench-bin" / "tweetlm"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{dest}/benchmarks/stage_timer.py" "$@"\n')
    shim.chmod(0o755)
    (dest / ".git/info/exclude").write_text("/.bench-bin/\n")
    project.git("commit", "-qa", "--allow-empty", "-m",
                "bench: timed stages" + (f", {updates}" if updates else ""))
    # the copy's src first; keep the caller's PYTHONPATH (a GPU image's carried packages)
    project.env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(dest / "src"), os.environ.get("PYTHONPATH")]))
    project.env["PATH"] = os.pathsep.join([str(shim.parent), str(Path(sys.executable).parent),
                                           project.env["PATH"]])
    return project


def bench_e2e(modes=("offline", "disabled"), base: str | None = None, sets: dict | None = None,
              keep: Path | None = None) -> dict:
    """`dvc repro` of the sample handle in a copy, once per W&B mode (the later ones with -f):
    per stage, DVC's seconds and the stage's own breakdown (stage_timer.py)."""
    dvc = shutil.which("dvc", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                    f"{os.environ.get('PATH', '')}") or "dvc"
    with tempfile.TemporaryDirectory(prefix="tweetlm-e2e-") as tmp:
        dest = keep or Path(tmp) / "project"
        project = e2e_project(dest, base, sets)
        out = {"base": base or "tiny", "params_set": sets or {}, "runs": {}}
        for i, mode in enumerate(modes):
            times = Path(tmp) / f"stages-{mode}.jsonl"
            env = {**project.env, "WANDB_MODE": mode, "TWEETLM_STAGE_TIMES": str(times),
                   "PYTHONUNBUFFERED": "1"}
            load = os.getloadavg()[0]
            start = time.perf_counter()
            proc = subprocess.Popen([dvc, "repro", *(["-f"] if i else [])], cwd=dest, env=env,
                                    text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            marks, lines = [], []
            for line in proc.stdout:  # time each stage from when DVC announces it
                lines.append(line)
                found = re.match(r"Running stage '([^']+)'", line)
                if found:
                    marks.append((found.group(1), time.perf_counter()))
            proc.wait()
            total = time.perf_counter() - start
            if proc.returncode:
                out["runs"][mode] = {"failed": f"dvc repro exited {proc.returncode}",
                                     "log_tail": lines[-15:]}
                continue
            ends = [t for _, t in marks[1:]] + [start + total]
            own = {}
            for line in times.read_text().splitlines() if times.is_file() else []:
                r = json.loads(line)
                own[stage_id(r["stage"], r["name"], bot=False) if r["name"] else r["stage"]] = r
            stages = {}
            for (name, t), end in zip(marks, ends):
                r, dvc_s = own.get(name, {}), end - t
                stages[name] = {"dvc_s": round(dvc_s, 2), "process_s": r.get("wall_s"),
                                "cpu_s": r.get("cpu_s"),
                                **{k: r.get(k) for k in PARTS},
                                "dvc_overhead_s": round(dvc_s - r["wall_s"], 2) if r else None,
                                "top_imports": dict(list(r.get("imports_by_package",
                                                               {}).items())[:4])}
            metrics = json.loads((dest / "reports/sample/train_metrics.json").read_text())
            out["runs"][mode] = {
                "load_before": load, "total_s": round(total, 2),
                "raw_json_to_card_s": round(sum(v["dvc_s"] for k, v in stages.items()
                                                if k.split(":")[-1] in STAGES[2:]), 2),
                "stages": stages,
                "train": {k: metrics.get(k) for k in ("train_runtime_s", "tokens_per_s",
                                                       "device", "precision", "eval_loss",
                                                       "steps", "block_size", "batch_size")},
            }
    return out


def print_e2e(e: dict) -> None:
    for mode, run in e["runs"].items():
        if "failed" in run:
            print(f"e2e ({mode}): {run['failed']}\n" + "".join(run["log_tail"]))
            continue
        print(f"e2e: dvc repro of the sample handle, base {e['base']}, W&B {mode}: "
              f"{run['total_s']:.1f} s, raw JSON to card {run['raw_json_to_card_s']:.1f} s "
              f"(1-min load {run['load_before']:.1f}); train {run['train']['train_runtime_s']} s "
              f"of training at {run['train']['tokens_per_s']} tokens/s")
        print(f"  {'stage':16s} {'dvc':>6s} {'process':>7s} {'cpu':>6s} | {'startup':>7s} "
              f"{'imports':>7s} {'load':>6s} {'work':>6s} {'saving':>6s} {'W&B':>6s} | top imports")
        for name, st in run["stages"].items():
            cells = " ".join(f"{st[k]:>{w}.2f}" if st[k] is not None else f"{'-':>{w}s}"
                             for k, w in zip(PARTS, (7, 7, 6, 6, 6, 6)))
            tops = ", ".join(f"{k} {v:.2f}" for k, v in st["top_imports"].items())
            proc = f"{st['process_s']:7.2f}" if st["process_s"] is not None else f"{'-':>7s}"
            cpu = f"{st['cpu_s']:6.2f}" if st.get("cpu_s") is not None else f"{'-':>6s}"
            print(f"  {name:16s} {st['dvc_s']:6.2f} {proc} {cpu} | {cells} | {tops}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/benchmarks/train.json")
    parser.add_argument("--no-e2e", action="store_true", help="skip the dvc repro runs")
    parser.add_argument("--e2e-only", action="store_true", help="only the dvc repro runs")
    parser.add_argument("--no-tiny-run", action="store_true", help="skip the train.train() run")
    parser.add_argument("--no-gpu", action="store_true", help="skip gpu_gpt2")
    parser.add_argument("--cpu-steps", type=int, default=30)
    parser.add_argument("--gpu-steps", type=int, default=30)
    parser.add_argument("--gpu-batch", type=int, default=16)
    parser.add_argument("--tweets", type=int, default=3200, help="tiny_run corpus size")
    parser.add_argument("--epochs", type=float, help="tiny_run epochs (default: params.yaml)")
    parser.add_argument("--wandb", default="offline,disabled",
                        help="e2e: W&B modes, one dvc repro each (default: %(default)s)")
    parser.add_argument("--e2e-base", help="e2e: model.base (a model folder) instead of tiny")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="e2e: edit params.yaml of the copy (YAML value), repeatable")
    parser.add_argument("--e2e-dir", type=Path, help="e2e: make the copy here and keep it")
    parser.add_argument("--e2e-prepare-only", action="store_true",
                        help="make the e2e copy in --e2e-dir (edited, committed) and stop")
    args = parser.parse_args()
    sets = dict(item.split("=", 1) for item in args.set)
    if args.e2e_prepare_only:
        if not args.e2e_dir:
            parser.error("--e2e-prepare-only needs --e2e-dir")
        e2e_project(args.e2e_dir, args.e2e_base, sets)
        print(f"e2e copy ready in {args.e2e_dir}")
        return 0

    import torch
    from transformers.utils import logging as hf_logging

    from tweetlm.core.params import load_params

    hf_logging.disable_progress_bar()
    params = load_params(ROOT / "params.yaml")
    report = {"torch": torch.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
              "load_before": {}}

    # 1-minute load average before each part: other processes on a shared machine slow a
    # 2-thread CPU run far more than their share (the threads wait on each other)
    if not args.e2e_only:
        report["load_before"]["cpu_tiny"] = os.getloadavg()[0]
        r = report["cpu_tiny"] = bench_cpu_tiny(params, args.cpu_steps)
        for label in ("hf", "lean"):
            x = r[label]
            print(f"cpu_tiny {label}: {x['tokens_per_s']:,.0f} tokens/s ({x['step_ms']:.1f} "
                  f"ms/step, best of {r['rounds']} rounds: {x['round_ms']}; batch "
                  f"{x['batch']}x{x['block_size']}, {x['parameters']:,} params, "
                  f"{r['threads']} threads); {x['achieved_tflops'] * 1e3:.1f} GFLOP/s = MFU "
                  f"{x['mfu']:.1%} of measured matmul peak {r['peak_tflops'] * 1e3:.0f} GFLOP/s",
                  flush=True)

    if not (args.no_tiny_run or args.e2e_only):
        report["load_before"]["tiny_run"] = os.getloadavg()[0]
        t = report["tiny_run"] = bench_tiny_run(params, args.tweets, args.epochs)
        t["loop_efficiency"] = t["tokens_per_s"] / r["hf"]["tokens_per_s"]
        print(f"tiny_run on {t['corpus']}: {t['tweets']} tweets, {t['train_tokens']:,} "
              f"train tokens x "
              f"{t['epochs']:g} epochs in {t['train_runtime_s']:.1f} s of training "
              f"({t['train_call_s']:.1f} s with setup and saving, {t['train_call_cpu_s']:.1f} "
              f"CPU s; tokenize {t['tokenize_s']:.1f} s); eval loss "
              f"{t['initial_eval_loss']:.3f} -> {t['eval_loss']:.3f}, perplexity "
              f"{t['perplexity']:.1f}; {t['tokens_per_s']:,.0f} tokens/s = "
              f"{t['loop_efficiency']:.2f} x cpu_tiny", flush=True)

    if args.no_gpu or args.e2e_only:
        pass
    elif torch.cuda.is_available():
        g = report["gpu_gpt2"] = bench_gpu_gpt2(args.gpu_batch, args.gpu_steps)
        for label in ("baseline_fp32_eager", "optimized", "lean"):
            x = g[label]
            mfu = f"MFU {x['mfu']:.1%}" if x["mfu"] is not None else "MFU n/a (unknown peak)"
            print(f"gpu_gpt2 {label}: {x['tokens_per_s']:,.0f} tokens/s ({x['step_ms']:.0f} "
                  f"ms/step, batch {x['batch']}x1024, {x['weights']} weights), "
                  f"{x['achieved_tflops']:.0f} TFLOP/s, {mfu} on {g['device']}, "
                  f"{x['max_memory_gib']:.1f} GiB", flush=True)
        print(f"gpu_gpt2: optimized / baseline = {g['speedup_vs_baseline']:.2f}x, lean / "
              f"baseline = {g['lean_speedup_vs_baseline']:.2f}x")
    else:
        report["gpu_gpt2"] = {"skipped": "no CUDA GPU"}
        print("gpu_gpt2: skipped (no CUDA GPU)")

    if args.no_e2e:
        report["e2e"] = {"skipped": "--no-e2e"}
    else:
        report["load_before"]["e2e"] = os.getloadavg()[0]
        e = report["e2e"] = bench_e2e(tuple(args.wandb.split(",")), args.e2e_base, sets,
                                      args.e2e_dir)
        print_e2e(e)

    load = report["load_before"]
    if load and max(load.values()) > 0.5 * (os.cpu_count() or 1):
        print(f"note: the machine was busy (1-min load average {max(load.values()):.1f} on "
              f"{os.cpu_count()} CPUs): CPU figures are below what an idle machine gives")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=float) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
