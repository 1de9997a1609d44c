"""train: fine-tune the base model on a bot's packed tweets.

data/tokenized/<bot>/ -> models/<bot>/{config.json, model.safetensors, tokenizer.json,
tokenizer_config.json} (loads with `pipeline('text-generation', model='models/<bot>')`),
reports/<bot>/train_metrics.json (DVC metrics) and the curves under
reports/<bot>/train/plots/metrics/ (dvclive TSVs, a DVC plot with x = step): train/loss and
train/learning_rate at every step, eval/loss before training and after each epoch.

A lean PyTorch loop in the spirit of nanoGPT, with the defaults of the original
(transformers' Trainer): AdamW (0.9, 0.999, eps 1e-8), gradient clipping at 1.0, an
lr schedule with warmup computed from the step number, a fresh seeded shuffle of the
blocks every epoch. Eval loss (token-weighted mean cross-entropy on the validation
blocks) before training, after every epoch and at the end; perplexity = exp(eval_loss).

On a CUDA GPU: bf16 autocast, TF32 matmuls, SDPA attention, fused AdamW and, with
train.compile, torch.compile. On a CPU: plain fp32, no compile unless asked.

Resumable: every train.checkpoint_steps the full state (model, optimizer, RNG, loss
history) goes to checkpoints/<bot>/<fingerprint>/last.pt, where the fingerprint hashes
the tokenized data and the train/model params. Run `tweetlm train` again after a crash
or Ctrl-C (which finishes the current step and saves first) and it resumes there; the
result is the same as an uninterrupted run. Checkpoints of other fingerprints are
removed, and all of them after success. checkpoints/ is outside DVC's outputs on
purpose: persistent outputs would disable DVC's run-cache.

`model.base: tiny` builds a small GPT-2 (model.tiny) from scratch, seeded, on the tiny
tokenizer from the tokenize stage, and uses model.tiny.learning_rate.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path

from tweetlm import pretrained, tracking
from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import atomic_path, write_json
from tweetlm.core.params import Params

# What train writes into models/<bot>/ (dvc.yaml lists exactly these; predict and card
# add generation_config.json and README.md next to them).
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
CHECKPOINTS = Path("checkpoints")
LOSS_METRICS = "train/plots/metrics"  # under reports/<bot>/, declared as a DVC plot


def load_blocks(tokenized: Path):
    """(train blocks as one (n, block_size) tensor, validation blocks as a list of 1-D
    tensors, the last one possibly shorter)."""
    import datasets
    import numpy as np
    import torch

    if not (tokenized / "dataset_dict.json").is_file():
        raise TweetlmError(f"{tokenized}: no tokenized dataset: run `dvc repro` (tokenize) first")
    data = datasets.load_from_disk(str(tokenized))

    def flat(split):  # (all token ids, row offsets), straight from the Arrow column
        column = data[split].data.column("input_ids").combine_chunks()
        offsets = column.offsets.to_numpy()
        values = column.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]]
        return torch.from_numpy(values.astype(np.int64)), offsets - offsets[0]

    values, offsets = flat("train")
    lengths = set(np.diff(offsets).tolist())
    if len(lengths) != 1 or 0 in lengths:
        raise TweetlmError(f"{tokenized}/train: expected equal blocks: rerun `dvc repro` (tokenize)")
    train = values.view(len(offsets) - 1, lengths.pop())
    if "validation" not in data:  # tokenize.val_fraction: 0
        return train, []
    values, offsets = flat("validation")
    return train, [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def fingerprint(tokenized: Path, params: Params, device: str) -> str:
    """What a checkpoint is valid for: the tokenized data, the train/model params (but how
    often to checkpoint), the device and the torch version."""
    import torch

    h = hashlib.sha256()
    for path in sorted(p for p in tokenized.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(tokenized)).encode() + b"\0")
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    train = {k: v for k, v in asdict(params.train).items() if k != "checkpoint_steps"}
    h.update(json.dumps([train, asdict(params.model), device, torch.__version__],
                        sort_keys=True).encode())
    return h.hexdigest()[:16]


def lr_at(step: int, total: int, peak: float, warmup: int, schedule: str) -> float:
    """The learning rate of optimizer step `step` (0-based), as transformers' schedulers:
    linear warmup, then cosine to 0 (half a cycle), linear to 0, or constant."""
    if step < warmup:
        return peak * step / max(1, warmup)
    if schedule == "constant":
        return peak
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "linear":
        return peak * max(0.0, 1.0 - progress)
    return peak * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def pick_device(wanted: str):
    import torch

    if wanted == "cuda" and not torch.cuda.is_available():
        raise TweetlmError(f"params.yaml: train.device: cuda, but torch {torch.__version__} sees "
                           "no CUDA GPU: set train.device to auto or cpu")
    return torch.device("cuda" if wanted != "cpu" and torch.cuda.is_available() else "cpu")


def build_model(tokenizer_dir: Path, params: Params, base: pretrained.Base, device):
    """The model to train: the base's weights, or for 'tiny' a seeded random GPT-2."""
    import torch

    block_size = params.train.block_size
    attn = "sdpa"  # PyTorch's fused attention (flash/memory-efficient kernels on a GPU)
    if base.is_tiny:
        from transformers import GPT2Config, GPT2LMHeadModel

        tokenizer = pretrained.load_tokenizer(tokenizer_dir)
        tiny = params.model.tiny
        config = GPT2Config(
            vocab_size=len(tokenizer), n_positions=block_size, n_embd=tiny.n_embd,
            n_layer=tiny.n_layer, n_head=tiny.n_head, resid_pdrop=tiny.dropout,
            embd_pdrop=tiny.dropout, attn_pdrop=tiny.dropout,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
            attn_implementation=attn,
        )
        torch.manual_seed(params.train.seed)
        model = GPT2LMHeadModel(config)
    else:
        model = pretrained.load_model(base.path, attn_implementation=attn, dtype=torch.float32)
        limit = getattr(model.config, "n_positions", None) or getattr(
            model.config, "max_position_embeddings", None)
        if limit and block_size > limit:
            raise TweetlmError(f"params.yaml: train.block_size: {block_size} is longer than "
                               f"{base.name} can attend to ({limit} tokens): lower it")
    return model.to(device)


def evaluate(model, blocks: list, batch_size: int, device, autocast) -> tuple[float, int]:
    """Token-weighted mean next-token loss over `blocks` -> (loss, predicted tokens)."""
    import torch

    if not blocks:
        return float("nan"), 0
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    tokens = 0
    with torch.no_grad():
        i = 0
        while i < len(blocks):  # batch neighbours of equal length (only the last differs)
            j = i + 1
            while j < len(blocks) and j - i < batch_size and len(blocks[j]) == len(blocks[i]):
                j += 1
            x = torch.stack(blocks[i:j]).to(device, non_blocking=True)
            with autocast:
                logits = model(input_ids=x).logits
            total += _loss_sum(logits, x).double()
            tokens += x.shape[0] * (x.shape[1] - 1)
            i = j
    model.train(was_training)
    return total.item() / tokens, tokens


def _loss_sum(logits, x):
    import torch.nn.functional as F

    # Labels are the inputs shifted by one; fp32 cross-entropy whatever the autocast.
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), x[:, 1:].flatten(),
                           reduction="sum")


class _GracefulStop:
    """SIGINT/SIGTERM finish the current step, save a checkpoint, then stop; a second
    signal stops at once."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def __enter__(self):
        if hasattr(signal, "SIGTERM") and _main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        print("tweetlm: train: stopping after this step to save a checkpoint "
              "(signal again to abort now)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


class Checkpoints:
    """checkpoints/<bot>/<fingerprint>/last.pt, written atomically; other fingerprints removed."""

    def __init__(self, name: str, fp: str, root: Path = CHECKPOINTS):
        self.root, self.bot_dir, self.dir = root, root / name, root / name / fp
        self.path = self.dir / "last.pt"

    def load(self):
        import torch

        for stale in self.bot_dir.glob("*") if self.bot_dir.is_dir() else []:
            if stale != self.dir:
                shutil.rmtree(stale, ignore_errors=True)
        if not self.path.is_file():
            return None
        try:  # tensors and plain containers only: nothing in it can run code
            return torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - a corrupt checkpoint only costs the progress
            print(f"tweetlm: warning: ignoring unreadable checkpoint {self.path} ({e})",
                  file=sys.stderr)
            return None

    def save(self, state: dict) -> None:
        import torch

        self.dir.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"  # the folder ignores itself: never committed
        if not ignore.exists():
            ignore.write_text("# resumable training state, see tweetlm/train.py\n*\n")
        with atomic_path(self.path) as tmp:
            torch.save(state, tmp)

    def clear(self) -> None:
        shutil.rmtree(self.bot_dir, ignore_errors=True)
        if self.root.is_dir() and {p.name for p in self.root.iterdir()} <= {".gitignore"}:
            shutil.rmtree(self.root, ignore_errors=True)


def precision(device):
    """(autocast context, bf16?) for `device`; on CUDA also turns TF32 on for the fp32
    matmuls left outside autocast. CPU: plain fp32."""
    import torch

    if device.type != "cuda":
        return nullcontext(), False
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):  # torch >= 2.9
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        torch.backends.cudnn.conv.fp32_precision = "tf32"
    else:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    if not torch.cuda.is_bf16_supported():  # pre-Ampere: fp32 (fp16 would need loss scaling)
        return nullcontext(), False
    return torch.autocast("cuda", dtype=torch.bfloat16), True


def make_optimizer(model, lr: float, weight_decay: float, fused: bool):
    """AdamW as Trainer sets it up: no decay on biases and norms; fused kernel on a GPU."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=fused,
    )


def train_step(forward, model, optimizer, batches: list, lr: float, max_grad_norm: float,
               autocast):
    """One optimizer step over the micro-batches `batches` (token-weighted, so gradient
    accumulation equals one big batch); returns the step's mean loss as a device tensor."""
    import torch

    for group in optimizer.param_groups:
        group["lr"] = lr
    step_tokens = sum(x.shape[0] * (x.shape[1] - 1) for x in batches)
    step_loss = torch.zeros((), device=batches[0].device)
    for x in batches:
        with autocast:
            logits = forward(input_ids=x).logits
        loss = _loss_sum(logits, x) / step_tokens
        loss.backward()
        step_loss += loss.detach()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return step_loss


def train(name: str, params: Params, tokenized: Path, model_dir: Path, reports: Path,
          checkpoints_root: Path = CHECKPOINTS, on_step=None, run=None) -> dict:
    """Train on data/tokenized/<name> and write the model, metrics and loss plots.

    `on_step(step)` is called after every optimizer step (tests use it to crash a run).
    Returns the metrics written to reports/train_metrics.json.
    """
    import torch

    tp = params.train
    if not (tokenized / "meta.json").is_file():
        raise TweetlmError(f"{tokenized}: no tokenized data: run `dvc repro` (tokenize) first")
    meta = json.loads((tokenized / "meta.json").read_text(encoding="utf-8"))
    if meta.get("base") != params.model.base:
        raise TweetlmError(f"{tokenized}/meta.json: tokenized for base {meta.get('base')!r} but "
                           f"model.base is {params.model.base!r}: run `dvc repro` (tokenize)")
    base = pretrained.resolve(params.model.base, params.model.revision)
    if meta.get("base_revision") != base.revision:  # the cache moved on since tokenize
        raise TweetlmError(f"{tokenized}/meta.json: tokenized with {base.name} at "
                           f"{meta.get('base_revision')} but the cache now has {base.revision}: "
                           "pin model.revision, or rerun tokenize (dvc repro -f tokenize@NAME)")
    device = pick_device(tp.device)
    cuda = device.type == "cuda"
    autocast, bf16 = precision(device)

    train_blocks, val_blocks = load_blocks(tokenized)
    block_size = train_blocks.shape[1]
    if block_size != tp.block_size:
        raise TweetlmError(f"{tokenized}: blocks of {block_size} tokens but train.block_size is "
                           f"{tp.block_size}: run `dvc repro` (tokenize)")
    torch.manual_seed(tp.seed)
    model = build_model(tokenized / "tokenizer", params, base, device)
    model.train()
    train_blocks = train_blocks.to(device)  # tweets are small: the whole set lives on device
    peak_lr = params.model.tiny.learning_rate if base.is_tiny else tp.learning_rate
    optimizer = make_optimizer(model, peak_lr, tp.weight_decay, fused=cuda)

    n = train_blocks.shape[0]
    micro_per_epoch = math.ceil(n / tp.batch_size)
    total_micro = max(1, math.ceil(tp.epochs * micro_per_epoch))
    total_steps = math.ceil(total_micro / tp.grad_accum)
    steps_per_epoch = micro_per_epoch / tp.grad_accum

    ckpt = Checkpoints(name, fingerprint(tokenized, params, device.type), checkpoints_root)
    state = ckpt.load()
    history: list[dict] = []
    step, loss_total, tokens_seen, runtime, busy = 0, 0.0, 0, 0.0, 0.0
    pending: list = []  # (step, lr, loss on device) since the last log: synced in one go
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng_cpu"])
        if cuda and state.get("rng_cuda"):
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        step, history = state["step"], state["history"]
        loss_total, tokens_seen = state["loss_total"], state["tokens_seen"]
        runtime, busy = state["runtime_s"], state["busy_s"]
        pending = [(s, lr, torch.tensor(v, device=device)) for s, lr, v in state["pending"]]
        print(f"train {name}: resuming at step {step}/{total_steps} from {ckpt.path}")
    forward = torch.compile(model) if tp.compile else model

    def evaluate_now(at_step: int) -> float:
        loss, _ = evaluate(forward, val_blocks, tp.batch_size, device, autocast)
        if val_blocks:
            history.append({"step": at_step, "eval_loss": loss})
            tracking.log(run, {"eval/loss": loss, "eval/perplexity": _exp(loss)}, step=at_step)
            print(f"train {name}: step {at_step} eval loss {loss:.4f} "
                  f"perplexity {_exp(loss) or float('inf'):.2f}", flush=True)
        return loss

    if step == 0:
        print(f"train {name}: {n} blocks x {block_size} tokens, {tp.epochs:g} epochs = "
              f"{total_steps} steps on {device.type}{' (bf16)' if bf16 else ''}, "
              f"{_count(model):,} parameters", flush=True)
        evaluate_now(0)

    perm_epoch, perm = -1, None
    started = time.perf_counter()
    aside = 0.0  # seconds spent evaluating, logging and checkpointing: not throughput
    with _GracefulStop() as stop:
        while step < total_steps:
            batches = []
            for g in range(step * tp.grad_accum, min((step + 1) * tp.grad_accum, total_micro)):
                epoch, j = divmod(g, micro_per_epoch)
                if epoch != perm_epoch:  # each epoch's order depends only on (seed, epoch)
                    gen = torch.Generator().manual_seed(tp.seed + epoch)
                    perm, perm_epoch = torch.randperm(n, generator=gen).to(device), epoch
                batches.append(train_blocks[perm[j * tp.batch_size:(j + 1) * tp.batch_size]])
            lr = lr_at(step, total_steps, peak_lr, tp.warmup_steps, tp.lr_scheduler)
            loss = train_step(forward, model, optimizer, batches, lr, tp.max_grad_norm, autocast)
            tokens_seen += sum(x.numel() for x in batches)
            step += 1
            pending.append((step, lr, loss))
            log_now = step % tp.logging_steps == 0 or step == total_steps
            eval_now = step == total_steps or (step * tp.grad_accum) // micro_per_epoch > (
                (step - 1) * tp.grad_accum) // micro_per_epoch  # an epoch ended
            stopping = stop.signum is not None
            save_now = step < total_steps and (step % tp.checkpoint_steps == 0 or stopping)
            if log_now:  # the only host sync in a logging window...
                losses = torch.stack([v for _, _, v in pending]).tolist()
            elif cuda and (eval_now or save_now):  # ...else wait here, so the GPU's work
                torch.cuda.synchronize()           # counts as training time, not `aside`
            t0 = time.perf_counter()
            if log_now:
                for (at, at_lr, _), value in zip(pending, losses):  # every step's loss
                    history.append({"step": at, "loss": value, "learning_rate": at_lr,
                                    "epoch": round(at / steps_per_epoch, 4)})
                    tracking.log(run, {"train/loss": value, "train/learning_rate": at_lr,
                                       "train/epoch": at / steps_per_epoch}, step=at)
                    loss_total += value
                print(f"train {name}: step {step}/{total_steps} epoch {step / steps_per_epoch:.2f}"
                      f" loss {sum(losses) / len(losses):.4f} lr {lr:.3g}", flush=True)
                pending = []
            if eval_now:
                evaluate_now(step)
            if on_step is not None:
                on_step(step)
            if save_now:
                ckpt.save({
                    "step": step, "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "rng_cpu": torch.get_rng_state(),
                    "rng_cuda": torch.cuda.get_rng_state_all() if cuda else [],
                    "history": history, "loss_total": loss_total,
                    "pending": [(at, at_lr, v.item()) for at, at_lr, v in pending],
                    "tokens_seen": tokens_seen,
                    "runtime_s": runtime + time.perf_counter() - started,
                    "busy_s": busy + time.perf_counter() - started - aside,
                })
            if stopping:
                print(f"tweetlm: train: stopped at step {step}/{total_steps}; run it again "
                      f"to resume from {ckpt.path}", file=sys.stderr)
                raise KeyboardInterrupt
            aside += time.perf_counter() - t0
    elapsed = time.perf_counter() - started
    runtime += elapsed
    busy += elapsed - aside

    eval_loss = history[-1]["eval_loss"] if val_blocks else None
    metrics = {
        "eval_loss": eval_loss,
        "perplexity": _exp(eval_loss) if eval_loss is not None else None,
        "initial_eval_loss": next((h["eval_loss"] for h in history if "eval_loss" in h), None),
        "train_loss": loss_total / total_steps,
        "epochs": tp.epochs,
        "steps": total_steps,
        "tokens_seen": tokens_seen,
        "train_blocks": n,
        "validation_tokens": sum(len(b) for b in val_blocks),
        "block_size": block_size,
        "batch_size": tp.batch_size * tp.grad_accum,
        "learning_rate": peak_lr,
        "parameters": _count(model),
        "train_runtime_s": round(runtime, 3),
        "tokens_per_s": round(tokens_seen / busy, 1) if busy else None,  # evals excluded
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "precision": "bf16 autocast" if bf16 else "fp32",
        **base.describe(),
    }
    _save_model(model, tokenized / "tokenizer", model_dir)
    _save_plots(history, reports / LOSS_METRICS)
    write_json(reports / "train_metrics.json", metrics)
    ckpt.clear()
    return metrics


def _save_model(model, tokenizer_dir: Path, model_dir: Path) -> None:
    """Write exactly MODEL_FILES into `model_dir`, each replaced in one rename, leaving
    what other stages wrote there (generation_config.json, README.md) alone."""
    from transformers import AutoTokenizer

    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".train.", suffix=".tmp", dir=model_dir))
    try:
        model.save_pretrained(staging)  # config.json, model.safetensors (+ generation_config)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if not (tokenizer_dir / f).is_file():
                raise TweetlmError(f"{tokenizer_dir}: no {f}: this base has no fast tokenizer; "
                                   "rerun `dvc repro` (tokenize) with another model.base")
            shutil.copyfile(tokenizer_dir / f, staging / f)
        missing = [f for f in MODEL_FILES if not (staging / f).is_file()]
        if missing:
            raise TweetlmError(f"{model_dir}: save_pretrained wrote no {missing[0]} (a sharded "
                               "model?): use a base under 50 GB")
        # The two tokenizer files alone must load to the same tokenizer tokenize used.
        probe = "Hello @world, #tweets are fun 🙂 https://t.co/x\n"
        want = AutoTokenizer.from_pretrained(tokenizer_dir)(probe)["input_ids"]
        got = AutoTokenizer.from_pretrained(staging)(probe)["input_ids"]
        if got != want:
            raise TweetlmError(f"{tokenizer_dir}: the tokenizer needs files beyond "
                               "tokenizer.json and tokenizer_config.json: pick another model.base")
        for f in MODEL_FILES:
            os.replace(staging / f, model_dir / f)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _save_plots(history: list[dict], dest: Path) -> None:
    """Replay the loss history through dvclive into `dest` (TSVs: step, value).

    dvclive writes into a scratch folder outside the repository (so it never touches
    dvc.yaml, git or experiments) and the result replaces `dest` in one rename.
    """
    from dvclive import Live

    with tempfile.TemporaryDirectory(prefix="tweetlm-dvclive-") as scratch:
        live = Live(dir=scratch, save_dvc_exp=False, dvcyaml=None, report=None)
        for entry in history:
            live.step = entry["step"]
            if "loss" in entry:
                live.log_metric("train/loss", entry["loss"])
                live.log_metric("train/learning_rate", entry["learning_rate"])
            if "eval_loss" in entry:
                live.log_metric("eval/loss", entry["eval_loss"])
        live.end()
        with atomic_path(dest, directory=True) as tmp:
            shutil.copytree(Path(scratch) / "plots" / "metrics", tmp, dirs_exist_ok=True)


def _exp(loss: float | None) -> float | None:
    if loss is None or not math.isfinite(loss):
        return None
    return math.exp(loss) if loss < 700 else None


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def main(name: str, params: Params) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenized = Path("data/tokenized") / name
    model_dir = Path("models") / name
    config = {"train": asdict(params.train), "model": asdict(params.model)}
    with tracking.stage_run("train", name, params, config) as run:
        tracking.use_artifact(run, f"tokenized-{name}", "dataset", tokenized)
        metrics = train(name, params, tokenized, model_dir, Path("reports") / name, run=run)
        tracking.log_summary(run, metrics)
        tracking.log_artifact(run, f"model-{name}", "model",
                              *(model_dir / f for f in MODEL_FILES), metadata=metrics)
    ppl = metrics["perplexity"]
    print(f"train {name}: eval loss {metrics['eval_loss']}, perplexity "
          f"{ppl if ppl is None else round(ppl, 2)}, {metrics['tokens_per_s']} tokens/s, "
          f"{metrics['train_runtime_s']:.1f} s -> {model_dir}")
