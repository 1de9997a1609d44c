"""Training speed: tokens/s and MFU, and the pipeline's end-to-end wall time.

    python benchmarks/bench_train.py [--out reports/benchmarks/train.json] [--no-e2e]

Every figure comes from tweetlm.train's own code (train_step, make_optimizer, precision,
train), not a re-implementation:

  cpu_tiny   the shipped tiny preset (params.yaml model.tiny, train.block_size/batch_size)
             on this CPU: tokens/s of train_step, and MFU against this CPU's measured fp32
             matmul rate (CPUs have no vendor peak worth quoting).
  tiny_run   train.train() end to end on the sample handle's tweets (3,200 raw, filtered;
             4 epochs as shipped): wall time, eval loss and perplexity; the ratio of its
             tokens/s to cpu_tiny's is the loop's efficiency (evals, logging, data).
  gpu_gpt2   CUDA only: GPT-2 124M (the `gpt2` architecture; its weights if cached, else
             random init: the compute is the same), block 1024, bf16 autocast, SDPA, fused
             AdamW, torch.compile; MFU against the GPU's dense bf16 peak. Baseline from the
             same run: fp32 eager (no TF32) with unfused AdamW, so the ratio is what the GPU
             path buys.
  e2e        `dvc repro` of the whole pipeline on the sample handle in a temporary copy of
             the project, timed per stage; skipped, with a message, while a stage's module
             is missing.

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
sys.path.insert(0, str(ROOT / "tests"))  # tinymodel: synthetic tweets

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


def step_throughput(model, batch: int, block: int, steps: int, warmup: int, *, device,
                    compile_: bool, optimized: bool) -> dict:
    """tokens/s of train.train_step on random tokens (same compute as real ones)."""
    import torch

    from tweetlm import train

    if optimized:
        autocast, bf16 = train.precision(device)
    else:
        from contextlib import nullcontext

        autocast, bf16 = nullcontext(), False
        if device.type == "cuda":  # a true fp32 baseline: no TF32 either
            if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
                torch.backends.cuda.matmul.fp32_precision = "ieee"
            else:
                torch.backends.cuda.matmul.allow_tf32 = False
    optimizer = train.make_optimizer(model, 1e-4, 0.0, fused=optimized and device.type == "cuda")
    forward = torch.compile(model) if compile_ else model
    gen = torch.Generator(device="cpu").manual_seed(0)
    vocab = model.config.vocab_size
    data = [torch.randint(0, vocab, (batch, block), generator=gen).to(device) for _ in range(4)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for i in range(warmup):  # compile, autotune, allocator warm-up
        train.train_step(forward, model, optimizer, [data[i % 4]], 1e-4, 1.0, autocast)
    sync()
    start = time.perf_counter()
    for i in range(steps):
        loss = train.train_step(forward, model, optimizer, [data[i % 4]], 1e-4, 1.0, autocast)
    loss.item()
    sync()
    elapsed = time.perf_counter() - start
    tokens = steps * batch * block
    return {"tokens_per_s": tokens / elapsed, "step_ms": 1000 * elapsed / steps, "batch": batch,
            "block_size": block, "bf16": bf16, "compile": compile_, "steps": steps}


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


def bench_cpu_tiny(params, steps: int) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tiny, tp = params.model.tiny, params.train
    device = torch.device("cpu")
    config = GPT2Config(vocab_size=tiny.vocab_size, n_positions=tp.block_size, n_embd=tiny.n_embd,
                        n_layer=tiny.n_layer, n_head=tiny.n_head, resid_pdrop=tiny.dropout,
                        embd_pdrop=tiny.dropout, attn_pdrop=tiny.dropout,
                        bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).train()
    result = step_throughput(model, tp.batch_size, tp.block_size, steps, 5, device=device,
                             compile_=False, optimized=True)
    peak = cpu_matmul_peak()
    fpt = flops_per_token(model, tp.block_size)
    result.update({
        "device": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in model.parameters()), "flops_per_token": fpt,
        "achieved_tflops": result["tokens_per_s"] * fpt / 1e12,
        "peak_tflops": peak / 1e12, "peak_source": "measured fp32 1024x1024 matmul",
        "mfu": result["tokens_per_s"] * fpt / peak,
    })
    return result


def bench_tiny_run(params, tweets_n: int) -> dict:
    """train.train() as `dvc repro` runs it, on the sample handle's tweets (sample, ingest
    and filter run in-process), or on tinymodel's synthetic tweets if those stages fail."""
    from tweetlm import tokenize, train

    params = replace(params, handles=["sample"], bots={},
                     train=replace(params.train, device="cpu"),
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
            metrics = train.train("sample", params, Path("data/tokenized/sample"),
                                  Path("models/sample"), Path("reports/sample"))
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

    try:
        from tweetlm import filter as filter_stage
        from tweetlm import ingest, sample

        with contextlib.redirect_stdout(io.StringIO()):
            sample.main("data/raw/sample", tweets_n, 0)
            ingest.main("sample", params)
            filter_stage.main("sample", params)
        return f"the sample handle ({tweets_n} raw tweets, filtered)"
    except Exception as e:  # noqa: BLE001 - those stages are not this benchmark's subject
        from tinymodel import tweets, write_tweets

        write_tweets(Path("data/processed/sample/tweets.parquet"), tweets(tweets_n, seed=0))
        return f"tinymodel.tweets({tweets_n}) (sample stages failed: {e})"


def bench_gpu_gpt2(batch: int, steps: int) -> dict:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tweetlm import pretrained
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
    for label, optimized in (("baseline_fp32_eager", False), ("optimized", True)):
        model, weights = fresh_model()
        size = batch
        while True:
            try:
                r = step_throughput(model, size, 1024, steps, 10 if optimized else 3,
                                    device=device, compile_=optimized, optimized=optimized)
                break
            except torch.OutOfMemoryError:
                if size == 1:
                    raise
                size //= 2
                torch.cuda.empty_cache()
        fpt = flops_per_token(model, 1024)
        r.update({"weights": weights, "flops_per_token": fpt,
                  "achieved_tflops": r["tokens_per_s"] * fpt / 1e12,
                  "mfu": r["tokens_per_s"] * fpt / (peak * 1e12) if peak else None,
                  "max_memory_gib": torch.cuda.max_memory_allocated() / 2**30})
        results[label] = r
        del model
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    results["speedup_vs_baseline"] = (results["optimized"]["tokens_per_s"]
                                      / results["baseline_fp32_eager"]["tokens_per_s"])
    return results


def bench_e2e() -> dict:
    """`dvc repro` on the sample handle in a throwaway copy: total and per-stage seconds."""
    missing = [s for s in STAGES[1:] if not (ROOT / f"src/tweetlm/{s}.py").is_file()]
    if missing:
        return {"skipped": f"src/tweetlm/{missing[0]}.py does not exist yet"}
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="tweetlm-e2e-") as tmp:
        dest = Path(tmp) / "project"
        for name in filter(None, files.split("\0")):
            if (ROOT / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, dest / name)
        env = {**os.environ, "PYTHONPATH": str(dest / "src"), "WANDB_MODE": "offline",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@tweetlm.invalid",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@tweetlm.invalid"}
        for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "bench"]):
            subprocess.run(cmd, cwd=dest, env=env, check=True, capture_output=True)
        dvc = str(Path(sys.executable).parent / "dvc")
        start = time.perf_counter()
        proc = subprocess.Popen([dvc, "repro"], cwd=dest, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        marks, lines = [], []
        for line in proc.stdout:  # time each stage from when DVC announces it
            lines.append(line)
            found = re.match(r"Running stage '([^']+)'", line)
            if found:
                marks.append((found.group(1), time.perf_counter()))
        proc.wait()
        total = time.perf_counter() - start
        if proc.returncode:
            return {"failed": f"dvc repro exited {proc.returncode}", "log_tail": lines[-15:]}
        ends = [t for _, t in marks[1:]] + [start + total]
        stages = {name: round(end - t, 2) for (name, t), end in zip(marks, ends)}
        metrics = json.loads((dest / "reports/sample/train_metrics.json").read_text())
    raw_to_card = sum(v for k, v in stages.items() if k.split("@")[0] in STAGES[2:])
    return {"total_s": round(total, 2), "raw_json_to_card_s": round(raw_to_card, 2),
            "stages_s": stages, "train_metrics": metrics}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/benchmarks/train.json")
    parser.add_argument("--no-e2e", action="store_true", help="skip the dvc repro run")
    parser.add_argument("--no-tiny-run", action="store_true", help="skip the train.train() run")
    parser.add_argument("--cpu-steps", type=int, default=30)
    parser.add_argument("--gpu-steps", type=int, default=30)
    parser.add_argument("--gpu-batch", type=int, default=16)
    parser.add_argument("--tweets", type=int, default=3200, help="tiny_run corpus size")
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from tweetlm.core.params import load_params

    hf_logging.disable_progress_bar()
    params = load_params(ROOT / "params.yaml")
    report = {"torch": torch.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count()}

    # 1-minute load average before each part: other processes on a shared machine slow a
    # 2-thread CPU run far more than their share (the threads wait on each other)
    report["load_before"] = {"cpu_tiny": os.getloadavg()[0]}
    r = report["cpu_tiny"] = bench_cpu_tiny(params, args.cpu_steps)
    print(f"cpu_tiny: {r['tokens_per_s']:,.0f} tokens/s ({r['step_ms']:.1f} ms/step, batch "
          f"{r['batch']}x{r['block_size']}, {r['parameters']:,} params, {r['threads']} threads); "
          f"{r['achieved_tflops'] * 1e3:.1f} GFLOP/s = MFU {r['mfu']:.1%} of measured matmul "
          f"peak {r['peak_tflops'] * 1e3:.0f} GFLOP/s", flush=True)

    if not args.no_tiny_run:
        report["load_before"]["tiny_run"] = os.getloadavg()[0]
        t = report["tiny_run"] = bench_tiny_run(params, args.tweets)
        t["loop_efficiency"] = t["tokens_per_s"] / r["tokens_per_s"]
        print(f"tiny_run on {t['corpus']}: {t['tweets']} tweets, {t['train_tokens']:,} "
              f"train tokens x "
              f"{t['epochs']:g} epochs in {t['train_runtime_s']:.1f} s of training "
              f"({t['train_call_s']:.1f} s with setup and saving, {t['train_call_cpu_s']:.1f} "
              f"CPU s; tokenize {t['tokenize_s']:.1f} s); eval loss {t['initial_eval_loss']:.3f} -> {t['eval_loss']:.3f}, perplexity "
              f"{t['perplexity']:.1f}; {t['tokens_per_s']:,.0f} tokens/s = "
              f"{t['loop_efficiency']:.2f} x cpu_tiny", flush=True)

    if torch.cuda.is_available():
        g = report["gpu_gpt2"] = bench_gpu_gpt2(args.gpu_batch, args.gpu_steps)
        for label in ("baseline_fp32_eager", "optimized"):
            x = g[label]
            mfu = f"MFU {x['mfu']:.1%}" if x["mfu"] is not None else "MFU n/a (unknown peak)"
            print(f"gpu_gpt2 {label}: {x['tokens_per_s']:,.0f} tokens/s ({x['step_ms']:.0f} "
                  f"ms/step, batch {x['batch']}x1024, {x['weights']} weights), "
                  f"{x['achieved_tflops']:.0f} TFLOP/s, {mfu} on {g['device']}", flush=True)
        print(f"gpu_gpt2: optimized / baseline = {g['speedup_vs_baseline']:.2f}x")
    else:
        report["gpu_gpt2"] = {"skipped": "no CUDA GPU"}
        print("gpu_gpt2: skipped (no CUDA GPU)")

    if args.no_e2e:
        report["e2e"] = {"skipped": "--no-e2e"}
    else:
        report["load_before"]["e2e"] = os.getloadavg()[0]
        e = report["e2e"] = bench_e2e()
        if "total_s" in e:
            print(f"e2e: dvc repro (sample handle) {e['total_s']:.1f} s, raw JSON to card "
                  f"{e['raw_json_to_card_s']:.1f} s; per stage: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in e["stages_s"].items()))
        else:
            print(f"e2e: {e.get('skipped') or e.get('failed')}")

    load = report["load_before"]
    if max(load.values()) > 0.5 * (os.cpu_count() or 1):
        print(f"note: the machine was busy (1-min load average {max(load.values()):.1f} on "
              f"{os.cpu_count()} CPUs): CPU figures are below what an idle machine gives")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
