"""The lean GPT-2 (src/tweetlm/train/gpt2.py) against transformers' GPT-2, side by side: same
initial weights, same batches, the same optimizer steps, N steps each; both loss curves and
step times, and the verdict that decides `train.fast_gpt2`.

    python benchmarks/device/lean_vs_hf.py [--base DIR] [--steps 50] [--batch 8] [--block 1024]
        [--device auto|cuda|cpu] [--dtype bf16|fp32] [--compile] [--out FILE.json]

Runs, each from the same initial weights (dropout off: the maths, not two RNG streams, is
compared; tests/test_fast_gpt2.py checks the dropout on a CPU), on the same batches of sample
tweets (tweetlm.sample, tokenized by the base's tokenizer, packed into blocks), with
train.model.train_step, make_optimizer (fused on CUDA), lr_at (cosine, 5 warmup steps) and
gradient clipping at 1.0, exactly as the train stage steps:

  hf        transformers' GPT2LMHeadModel, SDPA attention, under `--dtype` (bf16 autocast)
  lean      LeanGPT2.from_hf of the same weights, gpt2.loss_function under `--dtype`
  hf_fp32   (bf16 only) transformers' model again without autocast: the reference that
            says how far bf16 rounding alone moves this model's loss curve

Tolerance (`tolerance()`): the lean curve matches when no step's loss is further from
transformers' (same dtype) than
  bf16:  max(2 x the largest |hf - hf_fp32| over the steps, 2^-8 x hf's first loss)
         -- bf16 rounding moves each path up to `envelope` from exact arithmetic, so two
         bf16 paths may sit 2 x envelope apart; the floor is bf16's relative precision
         (8 significant bits) at the loss's scale, for runs where the envelope is tiny;
  fp32:  1e-4 x hf's first loss (fp32 differs only in the order of the sums).
Faster: the median step time after the warm-up steps (`--warmup`, allocator and kernel
autotuning) is at least `--min-speedup` (default 1.05: below 5% a switch is timing noise).

Verdict (`decide()`): on CUDA in bf16, matches and faster -> set `train.fast_gpt2: auto` in
params.yaml (the lean GPT-2 on CUDA, transformers' model on a CPU); otherwise keep `false`,
saying why. A CPU run (fp32) checks the comparison itself and decides nothing. The JSON
(`--out`, default reports/benchmarks/device-lean-vs-hf.json) is a recorded table for
benchmarks/tables.py plus both curves and every step time; the verdict is also printed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

BF16_FLOOR = 2.0 ** -8  # bf16 keeps 8 significant bits: its relative precision
FP32_RELATIVE = 1e-4
DEFAULT_BASE = Path("/tmp/gpt2base")  # where e2e.sh keeps make_base.py's GPT-2 124M


def tolerance(hf: list[float], reference: list[float] | None, dtype: str) -> float:
    """How far the lean loss curve may be from transformers' at any step (module docstring)."""
    if dtype == "fp32":
        return FP32_RELATIVE * abs(hf[0])
    envelope = max((abs(a - b) for a, b in zip(hf, reference)), default=0.0) if reference \
        else 0.0
    return max(2 * envelope, BF16_FLOOR * abs(hf[0]))


def steady_ms(step_ms: list[float], warmup: int) -> float:
    """The median step time once warm (all steps if there are no more than `warmup`)."""
    return statistics.median(step_ms[warmup:] or step_ms)


def decide(curves: dict, step_ms: dict, *, dtype: str, device: str, warmup: int = 5,
           min_speedup: float = 1.05) -> dict:
    """The comparison's figures and verdict: does lean match hf within tolerance at every
    step, is it faster, and what params.yaml should say."""
    hf, lean = curves["hf"], curves["lean"]
    diffs = [abs(a - b) for a, b in zip(lean, hf)]
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    tol = tolerance(hf, curves.get("hf_fp32"), dtype)
    finite = all(v == v and abs(v) != float("inf") for v in hf + lean)
    matches = finite and len(lean) == len(hf) and diffs[worst] <= tol
    speedup = steady_ms(step_ms["hf"], warmup) / steady_ms(step_ms["lean"], warmup)
    faster = speedup >= min_speedup
    steps = len(hf)
    how = (f"lean GPT-2 {'matches' if matches else 'does NOT match'} transformers within "
           f"{dtype} tolerance over {steps} steps (max |loss difference| {diffs[worst]:.4g} at "
           f"step {worst + 1}, tolerance {tol:.4g}) and is {speedup:.2f}x as fast "
           f"({'faster' if faster else f'not faster: needs {min_speedup:g}x'})")
    if device != "cuda" or dtype != "bf16":
        change = None
        why = (f"measured on {device} in {dtype}: this checks the comparison, it decides "
               "nothing; run benchmarks/device/run.sh on a CUDA GPU")
    elif matches and faster:
        change = "train.fast_gpt2: auto"
        why = ("set `train.fast_gpt2: auto` in params.yaml (and its comment: measured, "
               "reports/benchmarks/device-lean-vs-hf.json): the lean GPT-2 on CUDA")
    else:
        change = None
        why = ("keep `train.fast_gpt2: false`: " + ("the curves part: fix train/gpt2.py first"
                                                    if not matches else "no faster"))
    return {"steps": steps, "max_abs_diff": diffs[worst], "worst_step": worst + 1,
            "tolerance": tol, "matches": matches, "speedup": speedup, "faster": faster,
            "min_speedup": min_speedup, "warmup_steps": warmup, "params_change": change,
            "verdict": f"{how}: {why}"}


def batches(tokenizer, steps: int, batch: int, block: int, seed: int = 0):
    """steps x (batch, block) token ids: sample tweets, each ended by end-of-text, packed
    into blocks and used in order (cycled when there are fewer blocks than needed)."""
    import torch

    from tweetlm import sample

    need, n = steps * batch * block, 2000
    while True:  # enough tweets for every step, up to 64,000 of them
        texts = [tweet.text for tweet in sample.make_tweets(n, seed)]
        ids = [i for row in tokenizer(texts)["input_ids"] for i in row + [tokenizer.eos_token_id]]
        if len(ids) >= need or n >= 64000:
            break
        n *= 2
    blocks = torch.tensor(ids[:len(ids) // block * block]).view(-1, block)
    order = torch.arange(steps * batch) % len(blocks)
    return blocks[order].view(steps, batch, block)


def train_curve(label: str, model_factory, data, device, dtype: str, compile_: bool,
                lr: float) -> tuple[list[float], list[float]]:
    """(loss of every step, ms of every step) of one path, from fresh weights."""
    from contextlib import nullcontext

    import torch

    from tweetlm.train import gpt2
    from tweetlm.train.model import hf_loss, lr_at, make_optimizer, train_step

    bf16 = dtype == "bf16" and label != "hf_fp32"
    model = model_factory()
    if label == "lean":
        model = gpt2.LeanGPT2.from_hf(model).to(device)
        loss_fn = gpt2.loss_function(model, bf16, compile=compile_)
    else:
        model = model.to(device)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()
        loss_fn = hf_loss(torch.compile(model) if compile_ else model, autocast)
    model.train()
    optimizer = make_optimizer(model, lr, 0.0, fused=device.type == "cuda")
    steps, losses, times = len(data), [], []
    for step in range(steps):
        x = data[step].to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = train_step(loss_fn, model, optimizer, [x], lr_at(step, steps, lr, 5, "cosine"),
                          1.0)
        losses.append(loss.item())  # waits for the step: the time is the step's
        times.append(1000 * (time.perf_counter() - start))
    del model, optimizer
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return losses, times


def ensure_base(base: Path) -> Path:
    if not (base / "model.safetensors").is_file():
        subprocess.run([sys.executable, str(ROOT / "benchmarks/device/make_base.py"), str(base),
                        "--root", str(ROOT)], check=True)
    return base


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE,
                        help="a GPT-2 model folder (default: %(default)s, built by make_base.py"
                             " if missing: GPT-2 124M)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--dtype", choices=["bf16", "fp32"],
                        help="default: bf16 on CUDA, fp32 on a CPU")
    parser.add_argument("--compile", action="store_true", help="torch.compile both paths")
    parser.add_argument("--warmup", type=int, default=5, help="steps left out of the timing")
    parser.add_argument("--min-speedup", type=float, default=1.05)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "reports/benchmarks/device-lean-vs-hf.json")
    args = parser.parse_args()

    import torch
    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    from tweetlm.shared import pretrained
    from tweetlm.train.model import precision

    hf_logging.disable_progress_bar()
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    dtype = args.dtype or ("bf16" if cuda else "fp32")
    if cuda:
        precision(device)  # TF32 for fp32 matmuls, as the train stage sets it
    base = ensure_base(args.base) if args.base == DEFAULT_BASE else args.base
    tokenizer = pretrained.load_tokenizer(base)
    template = GPT2LMHeadModel.from_pretrained(base, attn_implementation="sdpa",
                                               dtype=torch.float32, resid_pdrop=0.0,
                                               embd_pdrop=0.0, attn_pdrop=0.0)
    block = min(args.block, template.config.n_positions)
    initial = {k: v.clone() for k, v in template.state_dict().items()}

    def fresh():  # the same initial weights for every run
        model = GPT2LMHeadModel(template.config)
        model.load_state_dict(initial)
        return model

    data = batches(tokenizer, args.steps, args.batch, block)
    labels = ["hf", "lean"] + (["hf_fp32"] if dtype == "bf16" else [])
    curves, step_ms = {}, {}
    for label in labels:
        torch.manual_seed(0)
        curves[label], step_ms[label] = train_curve(label, fresh, data, device, dtype,
                                                    args.compile, args.lr)
        print(f"{label}: loss {curves[label][0]:.4f} -> {curves[label][-1]:.4f}, "
              f"{steady_ms(step_ms[label], args.warmup):.1f} ms/step", flush=True)
    result = decide(curves, step_ms, dtype=dtype, device=device.type, warmup=args.warmup,
                    min_speedup=args.min_speedup)
    name = torch.cuda.get_device_name(device) if cuda else platform.processor() or "CPU"
    shape = (f"GPT-2 {template.config.n_layer} layers x {template.config.n_embd}, vocabulary "
             f"{template.config.vocab_size}, batch {args.batch} x {block} tokens")
    report = {
        "title": f"Lean GPT-2 against transformers' GPT-2: {args.steps} steps, {dtype}, "
                 f"same init and data ({device.type})",
        "machine": name, "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
        "python": platform.python_version(),
        "command": "python benchmarks/device/lean_vs_hf.py " + " ".join(sys.argv[1:]),
        "columns": ["path", "first loss", "last loss", "max abs difference from hf",
                    "ms a step (median after warm-up)", "speed-up"],
        "rows": [[label, curves[label][0], curves[label][-1],
                  max(abs(a - b) for a, b in zip(curves[label], curves["hf"])),
                  steady_ms(step_ms[label], args.warmup),
                  steady_ms(step_ms["hf"], args.warmup) / steady_ms(step_ms[label], args.warmup)]
                 for label in labels],
        "notes": f"{shape}; {'compiled' if args.compile else 'eager'}, dropout off. "
                 f"Verdict: {result['verdict']}",
        **result, "device": device.type, "dtype": dtype, "compile": args.compile,
        "base": str(base), "model": shape, "learning_rate": args.lr,
        "curves": curves, "step_ms": step_ms,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    print(f"verdict: {result['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
