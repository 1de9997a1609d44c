"""The training run, top to bottom: data, model, optimizer, resume, loop, save."""

from __future__ import annotations

import math
import sys
import time

import torch

from tweetlm.shared import tracking
from tweetlm.core.errors import TweetlmError, warn
from tweetlm.core.layout import BotPaths
from tweetlm.core.outputs import write_json
from tweetlm.core.params import Params
from tweetlm.core.progress import progress
from tweetlm.train import dist, gpt2, lora
from tweetlm.train.checkpoint import Checkpoints, GracefulStop, State, fingerprint
from tweetlm.train.data import load, resolve_base
from tweetlm.train.model import (build_model, evaluate, hf_loss, lr_at, make_optimizer,
                                 pick_device, precision, train_step)
from tweetlm.train.save import save_adapter, save_model, save_plots


def train(params: Params, paths: BotPaths, on_step=None, run=None) -> dict:
    """Train on paths.tokenized; write the model, train_metrics.json and the loss plots.

    `on_step(step)` is called after every optimizer step (tests use it to crash a run);
    `run` is the W&B run or None. Returns the metrics written to train_metrics.json.
    Under `torchrun --nproc_per_node N` (dist.py) every rank trains on its share of each
    micro-batch and only rank 0 writes or prints anything.
    """
    world = dist.join(pick_device(params.train.device).type == "cuda")
    try:
        return _train(params, paths, world, on_step, run)
    finally:
        world.close()


def _train(params: Params, paths: BotPaths, world: dist.World, on_step, run) -> dict:
    tp, name = params.train, paths.name

    # -- data, device
    base, block_size = resolve_base(paths.tokenized, params)
    device = pick_device(tp.device, world.local_rank)
    cuda = device.type == "cuda"
    autocast, bf16 = precision(device)
    tweets, val_blocks = load(paths.tokenized, block_size, tp.seed)
    n = tweets.blocks  # per epoch

    # -- model (with LoRA: adapters on the frozen base; else, for a GPT-2 on CUDA or when
    # train.fast_gpt2 says so, the lean copy of gpt2.py, exported back at the end) and optimizer
    lean = not tp.lora.enabled and (tp.fast_gpt2 is True or (tp.fast_gpt2 == "auto" and cuda))
    torch.manual_seed(tp.seed)
    model = build_model(paths.tokenizer, params, base,
                        "cpu" if lean else device)  # lean: the copy alone goes to the device
    if lean and (reason := gpt2.unsupported(model.config)):
        if tp.fast_gpt2 is True:
            raise TweetlmError(f"params.yaml: train.fast_gpt2: true, but {base.name} is not a "
                               f"plain GPT-2 ({reason}): set it to auto or false")
        lean, model = False, model.to(device)
    hf_model, targets = model, None
    if tp.lora.enabled:
        torch.manual_seed(tp.seed)  # the adapters' random init
        model, targets = lora.wrap(model, tp.lora)
    if lean:
        model = gpt2.LeanGPT2.from_hf(hf_model).to(device)
    model.train()
    optimizer = make_optimizer(model, tp.learning_rate, tp.weight_decay, fused=cuda)

    # -- schedule: micro-batches of batch_size blocks per rank, grad_accum of them per step
    per_micro = tp.batch_size * world.size  # blocks in a micro-batch, all ranks together
    micro_per_epoch = math.ceil(n / per_micro)
    total_micro = max(1, math.ceil(tp.epochs * micro_per_epoch))
    total_steps = math.ceil(total_micro / tp.grad_accum)
    steps_per_epoch = micro_per_epoch / tp.grad_accum
    if world.main and per_micro * tp.grad_accum > n:  # one step an epoch, memory for nothing
        warn(f"train {name}: train.batch_size {tp.batch_size} x grad_accum {tp.grad_accum}"
             f"{f' x {world.size} processes' if world.parallel else ''} is more than the {n} "
             f"training blocks: each epoch is one step of {n} blocks; lower train.batch_size")

    # -- resume, if a checkpoint of this very run exists
    ckpt = Checkpoints(paths.checkpoints,
                       fingerprint(paths.tokenized, params, device.type, world.size), device,
                       writes=world.main)
    state = ckpt.load(model, optimizer)
    resumed = state is not None
    state = state or State()
    # steps done, on a terminal only (rank 0); our lines are written above it
    bar = progress(total_steps, f"train {name}", show=world.main, unit="step", initial=state.step)

    def say(line: str, file=sys.stdout) -> None:  # rank 0 alone speaks
        if world.main:
            bar.write(line, file=file)
            file.flush()

    if resumed:
        say(f"train {name}: resuming at step {state.step}/{total_steps} from {ckpt.path}")
    _reseed(world, tp.seed, state.step)
    if lean:  # compiled only where it pays: on a GPU, when train.compile says so
        loss_fn = gpt2.loss_function(model, bf16, compile=tp.compile and cuda)
        eval_fn = gpt2.loss_function(model, bf16)  # eval mode, a short last block: no recompile
    else:
        loss_fn = eval_fn = hf_loss(torch.compile(model) if tp.compile else model, autocast)

    def evaluate_now(step: int) -> None:
        if not val_blocks:
            return
        loss = evaluate(eval_fn, model, val_blocks, tp.batch_size, device,
                        world if world.parallel else None)
        _finite(name, "eval loss", [(step, loss)], ckpt)
        state.history.append({"step": step, "eval_loss": loss})
        tracking.log(run, {"eval/loss": loss, "eval/perplexity": _exp(loss)}, step=step)
        say(f"train {name}: step {step} eval loss {loss:.4f} "
            f"perplexity {_exp(loss) or float('inf'):.2f}")

    if state.step == 0:
        adapters = lora.trainable(model) if targets else 0  # the card says the same numbers
        how = (f"LoRA r={tp.lora.r} on {', '.join(targets)}: {adapters:,} adapter parameters "
               f"trained on a frozen base of {_count(model) - adapters:,}" if targets
               else f"{_count(hf_model):,} parameters")
        say(f"train {name}: {n} blocks x {block_size} tokens (packed afresh every epoch), "
            f"{tp.epochs:g} epochs = {total_steps} steps on {device.type}"
            f"{f' x {world.size} processes' if world.parallel else ''}"
            f"{' (bf16)' if bf16 else ''}{' (lean GPT-2)' if lean else ''}, {how}")
        evaluate_now(0)

    # -- time: `aside` is what evals, logging and checkpoints took, kept out of tokens/s
    mark, aside = time.perf_counter(), 0.0

    def tick() -> None:  # fold the time since the last tick into the state
        nonlocal mark, aside
        now = time.perf_counter()
        state.runtime_s += now - mark
        state.busy_s += now - mark - aside
        mark, aside = now, 0.0

    # -- the loop
    blocks_epoch, blocks, flag = -1, None, None
    first = world.rank * tp.batch_size  # this rank's share of a micro-batch

    def sync(loss):  # data-parallel: every rank's gradients, loss and Ctrl-C flag, added up
        nonlocal flag
        loss, flag = world.reduce(model.parameters(), loss,
                                  torch.tensor(float(stop.signum is not None)))
        return loss

    with GracefulStop() as stop, bar:
        while state.step < total_steps:
            step = state.step
            batches, tokens, numel = [], 0, 0
            for g in range(step * tp.grad_accum, min((step + 1) * tp.grad_accum, total_micro)):
                epoch, j = divmod(g, micro_per_epoch)
                if epoch != blocks_epoch:  # a new order of the tweets, a function of (seed, epoch)
                    blocks, blocks_epoch = tweets.epoch(epoch).to(device), epoch
                micro = blocks[j * per_micro:(j + 1) * per_micro]
                tokens += micro.shape[0] * (micro.shape[1] - 1)  # what the step's loss weighs
                numel += micro.numel()
                batches.append(micro[first:first + tp.batch_size])
            lr = lr_at(step, total_steps, tp.learning_rate, tp.warmup_steps, tp.lr_scheduler)
            loss = train_step(loss_fn, model, optimizer, batches, lr, tp.max_grad_norm,
                              tokens=tokens, sync=sync if world.parallel else None)
            state.tokens_seen += numel
            state.step = step = step + 1
            state.pending.append((step, lr, loss))
            bar.update()

            log_now = step % tp.logging_steps == 0 or step == total_steps
            eval_now = step == total_steps or (step * tp.grad_accum) // micro_per_epoch > (
                (step - 1) * tp.grad_accum) // micro_per_epoch  # an epoch ended
            # every rank stops at the same step: the flag went through the all-reduce
            stopping = bool(flag.item()) if world.parallel else stop.signum is not None
            save_now = step < total_steps and (step % tp.checkpoint_steps == 0 or stopping)
            if log_now or save_now:  # the only host sync in a logging window...
                losses = torch.stack([v for _, _, v in state.pending]).tolist()
                _finite(name, "loss", [(at, v) for (at, _, _), v in zip(state.pending, losses)],
                        ckpt)  # a diverged run saves nothing, not even a checkpoint
            elif cuda and eval_now:  # ...else wait here, so the GPU's work
                torch.cuda.synchronize()           # counts as training time, not `aside`
            t0 = time.perf_counter()
            if log_now:
                for (at, at_lr, _), value in zip(state.pending, losses):  # every step's loss
                    state.history.append({"step": at, "loss": value, "learning_rate": at_lr,
                                          "epoch": round(at / steps_per_epoch, 4)})
                    tracking.log(run, {"train/loss": value, "train/learning_rate": at_lr,
                                       "train/epoch": at / steps_per_epoch}, step=at)
                    state.loss_total += value
                say(f"train {name}: step {step}/{total_steps} epoch {step / steps_per_epoch:.2f}"
                    f" loss {sum(losses) / len(losses):.4f} lr {lr:.3g}")
                state.pending = []
            if eval_now:
                evaluate_now(step)
            if on_step is not None:
                on_step(step)
            if save_now:
                tick()
                ckpt.save(state, model, optimizer)
                _reseed(world, tp.seed, step)  # as a run resumed here will
            if stopping:
                say(f"tweetlm: train: stopped at step {step}/{total_steps}; run it again "
                    f"to resume from {ckpt.path}", file=sys.stderr)
                raise KeyboardInterrupt
            aside += time.perf_counter() - t0
    tick()

    # -- results: with LoRA, the adapter alone, then merged into plain weights; the lean
    # GPT-2's weights go back into the transformers model
    eval_loss = state.history[-1]["eval_loss"] if val_blocks else None
    trained = lora.trainable(hf_model if lean else model)
    if world.main:
        save_adapter(model if targets else None, paths.adapter,
                     lora.readme(paths.adapter, targets, base.name, tp.lora.r, tp.lora.alpha,
                                 from_scratch=base.is_tiny),
                     base.name, base.revision)
    if targets:
        model = model.merge_and_unload()
    if lean:
        model.export_to(hf_model)
        model = hf_model
    metrics = {
        "eval_loss": eval_loss,
        "perplexity": _exp(eval_loss),
        "initial_eval_loss": next((h["eval_loss"] for h in state.history if "eval_loss" in h),
                                  None),
        "train_loss": state.loss_total / total_steps,
        "epochs": tp.epochs,
        "steps": total_steps,
        "tokens_seen": state.tokens_seen,
        "train_blocks": n,  # per epoch
        "validation_tokens": sum(len(b) for b in val_blocks),
        "block_size": block_size,  # resolved (train.block_size may say auto)
        "batch_size": tp.batch_size * tp.grad_accum * world.size,  # blocks per step, all ranks
        "processes": world.size,
        "learning_rate": tp.learning_rate,  # the peak this run used, whatever the base
        "parameters": _count(model),
        "trained_parameters": trained,
        "finetuning": "lora" if targets else ("from scratch" if base.is_tiny else "full"),
        "lora_r": tp.lora.r if targets else None,
        "lora_alpha": tp.lora.alpha if targets else None,
        "lora_dropout": tp.lora.dropout if targets else None,
        "lora_target_modules": ",".join(targets) if targets else None,
        "train_runtime_s": round(state.runtime_s, 3),
        "tokens_per_s": round(state.tokens_seen / state.busy_s, 1) if state.busy_s else None,
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "precision": "bf16 autocast" if bf16 else "fp32",
        "training_path": "lean GPT-2" if lean else "transformers",
        **base.describe(),
    }
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise TweetlmError(f"train {name}: the trained weights hold NaN or infinity: "
                           f"nothing saved; {_LOWER}")
    if world.main:
        save_model(model, paths.tokenizer, paths.model)
        save_plots(state.history, paths.train_plots)
        write_json(paths.train_metrics, metrics)
        ckpt.clear()
    return metrics


_LOWER = "lower train.learning_rate (or set train.max_grad_norm) and run it again"


def _finite(name: str, what: str, values: list[tuple[int, float]], ckpt: Checkpoints) -> None:
    """A loss that is NaN or infinite stops the run before anything is saved: the model
    diverged, and DVC must not record it as a build. The last good checkpoint stays."""
    bad = next(((step, v) for step, v in values if not math.isfinite(v)), None)
    if bad is None:
        return
    kept = f"the last checkpoint stays in {ckpt.path.parent}" if ckpt.path.is_file() \
        else "no checkpoint was written"
    raise TweetlmError(f"train {name}: the {what} is {bad[1]} at step {bad[0]}: the model "
                       f"diverged; nothing saved ({kept}): {_LOWER}")


def _reseed(world: dist.World, seed: int, step: int) -> None:
    """Data-parallel: each rank its own dropout masks, a function of (seed, rank, step) so
    a run resumed at `step` draws what the uninterrupted one did. One process: untouched."""
    if world.parallel:
        torch.manual_seed(hash((seed, world.rank, step)) % 2**63)


def _exp(loss: float | None) -> float | None:
    """Perplexity, or None where it is not a finite number."""
    if loss is None or not math.isfinite(loss):
        return None
    return math.exp(loss) if loss < 700 else None


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())
