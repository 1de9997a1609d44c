"""The training run, top to bottom as nanoGPT's train.py reads: data, model and optimizer,
resume, the loop (one optimizer step; log, eval, checkpoint when due), save.

`_train` is the whole story; the helpers under it each do one thing with what they are
passed (no shared state but the checkpointed `State`).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from functools import partial

import torch

from tweetlm.shared import tracking
from tweetlm.core.errors import TweetlmError, warn
from tweetlm.core.layout import BotPaths
from tweetlm.core.outputs import write_json
from tweetlm.core.params import Params, TrainParams
from tweetlm.core.progress import progress
from tweetlm.shared.pretrained import Base
from tweetlm.train import dist, gpt2, lora
from tweetlm.train.checkpoint import Checkpoints, GracefulStop, State, fingerprint
from tweetlm.train.data import Tweets, load, resolve_base
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
    recipe, name = params.train, paths.name
    base, block_size = resolve_base(paths.tokenized, params)
    device = pick_device(recipe.device, world.local_rank)
    tweets, val_blocks = load(paths.tokenized, block_size, recipe.seed)
    net = _build(params, paths, base, device)
    plan = _Plan.of(recipe, tweets.blocks, world.size)
    if world.main and plan.per_micro * recipe.grad_accum > tweets.blocks:
        warn(_too_big(name, recipe, world, tweets.blocks))
    # resume, if a checkpoint of this very run exists
    ckpt = Checkpoints(paths.checkpoints, fingerprint(paths.tokenized, params, device.type,
                                                      world.size), device, writes=world.main)
    state = ckpt.load(net.model, net.optimizer) or State()
    out = _Console(progress(plan.total_steps, f"train {name}", show=world.main, unit="step",
                            initial=state.step), world.main)
    _reseed(world, recipe.seed, state.step)
    evals = _Evals(net, val_blocks, recipe.batch_size, device, world, ckpt, run, out, name)
    if state.step:  # checkpoints are saved after a step: 0 is a fresh start
        out.say(f"train {name}: resuming at step {state.step}/{plan.total_steps} from {ckpt.path}")
    else:
        out.say(_header(name, recipe, net, plan, tweets.blocks, block_size, device, world))
        _evaluate(evals, state, 0)

    clock = _Clock()  # evals, logging and checkpoints stay out of tokens/s
    batches = _batches(tweets, plan, recipe.batch_size, world.rank, device, state.step)
    with GracefulStop() as stop, out.bar:
        while state.step < plan.total_steps:
            lr = plan.lr_at(state.step)
            micro, tokens, numel = next(batches)
            loss, stopping = _step(net, micro, tokens, lr, recipe.max_grad_norm, world, stop)
            state.tokens_seen += numel
            state.step = step = state.step + 1
            state.pending.append((step, lr, loss))
            out.bar.update()

            log_now, eval_now = plan.log_due(step), plan.eval_due(step)
            save_now = plan.save_due(step, stopping)
            if log_now or save_now:  # the only host sync in a logging window...
                losses = _pending_losses(state, name, ckpt)
            elif device.type == "cuda" and eval_now:  # ...else wait here, so the GPU's work
                torch.cuda.synchronize()              # counts as training, not as aside
            started = time.perf_counter()
            if log_now:
                _log_window(state, losses, plan, run, out, name)
            if eval_now:
                _evaluate(evals, state, step)
            if on_step is not None:
                on_step(step)
            if save_now:
                clock.fold_into(state)
                ckpt.save(state, net.model, net.optimizer)
                _reseed(world, recipe.seed, step)  # as a run resumed here will
            if stopping:
                out.say(_stopped(step, plan.total_steps, ckpt), file=sys.stderr)
                raise KeyboardInterrupt
            clock.aside += time.perf_counter() - started
    clock.fold_into(state)
    return _finish(state, net, plan, base, recipe, paths, tweets.blocks, val_blocks,
                   block_size, device, world, ckpt)


# -- the model and its optimizer

@dataclass
class _Net:
    """What trains and how: `model` is the transformers model, its LoRA wrapper or the lean
    GPT-2; `hf_model` the transformers model that is saved in the end."""

    model: torch.nn.Module
    hf_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: object  # x -> summed next-token loss, training
    eval_fn: object  # the same in eval mode
    lean: bool  # the lean GPT-2 of gpt2.py trains in place of hf_model
    lora_targets: list[str] | None  # the modules with LoRA adapters, None without LoRA
    bf16: bool


def _build(params: Params, paths: BotPaths, base: Base, device: torch.device) -> _Net:
    """The model to train (with LoRA: adapters on the frozen base; for a GPT-2 where
    train.fast_gpt2 says so -- auto: on CUDA -- the lean copy of gpt2.py, exported back at the
    end), its optimizer and loss functions."""
    recipe, cuda = params.train, device.type == "cuda"
    autocast, bf16 = precision(device)
    lean = not recipe.lora.enabled and (recipe.fast_gpt2 is True
                                        or (recipe.fast_gpt2 == "auto" and cuda))
    torch.manual_seed(recipe.seed)
    model = build_model(paths.tokenizer, params, base,
                        "cpu" if lean else device)  # lean: the copy alone goes to the device
    if lean and (reason := gpt2.unsupported(model.config)):
        if recipe.fast_gpt2 is True:
            raise TweetlmError(f"params.yaml: train.fast_gpt2: true, but {base.name} is not a "
                               f"plain GPT-2 ({reason}): set it to auto or false")
        lean, model = False, model.to(device)
    hf_model, targets = model, None
    if recipe.lora.enabled:
        torch.manual_seed(recipe.seed)  # the adapters' random init
        model, targets = lora.wrap(model, recipe.lora)
    if lean:
        model = gpt2.LeanGPT2.from_hf(hf_model).to(device)
    model.train()
    optimizer = make_optimizer(model, recipe.learning_rate, recipe.weight_decay, fused=cuda)
    if lean:  # compiled only where it pays: on a GPU, when train.compile says so
        loss_fn = gpt2.loss_function(model, bf16, compile=recipe.compile and cuda)
        eval_fn = gpt2.loss_function(model, bf16)  # eval mode, a short last block: no recompile
    else:
        loss_fn = eval_fn = hf_loss(torch.compile(model) if recipe.compile else model, autocast)
    return _Net(model, hf_model, optimizer, loss_fn, eval_fn, lean, targets, bf16)


def _finish(state: State, net: _Net, plan: _Plan, base: Base, recipe: TrainParams,
            paths: BotPaths, blocks: int, val_blocks: list, block_size: int,
            device: torch.device, world: dist.World, ckpt: Checkpoints) -> dict:
    """The trained model, its metrics and loss plots saved (rank 0), the checkpoints gone;
    returns the metrics."""
    trained = lora.trainable(net.hf_model if net.lean else net.model)  # before LoRA's merge
    model = _trained_model(net, paths, base, recipe, world)
    metrics = _metrics(state, net, model, trained, plan, base, recipe, blocks, val_blocks,
                       block_size, device, world)
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        raise TweetlmError(f"train {paths.name}: the trained weights hold NaN or infinity: "
                           f"nothing saved; {_LOWER}")
    if world.main:
        save_model(model, paths.tokenizer, paths.model)
        save_plots(state.history, paths.train_plots)
        write_json(paths.train_metrics, metrics)
        ckpt.clear()
    return metrics


def _trained_model(net: _Net, paths: BotPaths, base: Base, recipe: TrainParams,
                   world: dist.World):
    """The transformers model to save: with LoRA the adapter is saved alone first, then
    merged into plain weights; the lean GPT-2's weights go back into the transformers model."""
    model = net.model
    if world.main:
        save_adapter(model if net.lora_targets else None, paths.adapter,
                     lora.readme(paths.adapter, net.lora_targets, base.name, recipe.lora.r,
                                 recipe.lora.alpha, from_scratch=base.is_tiny),
                     base.name, base.revision)
    if net.lora_targets:
        model = model.merge_and_unload()
    if net.lean:
        model.export_to(net.hf_model)
        model = net.hf_model
    return model


# -- the schedule and each step's blocks

@dataclass(frozen=True)
class _Plan:
    """Micro-batches of train.batch_size blocks per rank, train.grad_accum of them a step;
    what is due after each optimizer step, a function of the step alone (so a resumed run
    does what the uninterrupted one did)."""

    recipe: TrainParams
    per_micro: int  # blocks in a micro-batch, all ranks together
    micro_per_epoch: int
    total_micro: int
    total_steps: int
    steps_per_epoch: float

    @classmethod
    def of(cls, recipe: TrainParams, blocks: int, world_size: int) -> _Plan:
        per_micro = recipe.batch_size * world_size
        micro_per_epoch = math.ceil(blocks / per_micro)
        total_micro = max(1, math.ceil(recipe.epochs * micro_per_epoch))
        return cls(recipe, per_micro, micro_per_epoch, total_micro,
                   math.ceil(total_micro / recipe.grad_accum),
                   micro_per_epoch / recipe.grad_accum)

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step `step` (0-based)."""
        recipe = self.recipe
        return lr_at(step, self.total_steps, recipe.learning_rate, recipe.warmup_steps,
                     recipe.lr_scheduler)

    def log_due(self, step: int) -> bool:
        return step % self.recipe.logging_steps == 0 or step == self.total_steps

    def eval_due(self, step: int) -> bool:
        """After an epoch's last micro-batch, and at the end."""
        accum = self.recipe.grad_accum
        return step == self.total_steps or (step * accum) // self.micro_per_epoch > (
            (step - 1) * accum) // self.micro_per_epoch

    def save_due(self, step: int, stopping: bool) -> bool:
        """A checkpoint every train.checkpoint_steps, and before a graceful stop; none at
        the end, which saves the model instead."""
        return step < self.total_steps and (step % self.recipe.checkpoint_steps == 0
                                            or stopping)


def _batches(tweets: Tweets, plan: _Plan, batch_size: int, rank: int, device, start: int):
    """Each optimizer step's (this rank's micro-batches, tokens the step's loss weighs on all
    ranks, token ids on all ranks), from step `start` on. An epoch's blocks are a function
    of (seed, epoch), so a resumed run gets the uninterrupted run's batches."""
    epoch_blocks, blocks = -1, None
    first = rank * batch_size  # this rank's share of a micro-batch
    accum = plan.recipe.grad_accum
    for step in range(start, plan.total_steps):
        micro_batches, tokens, numel = [], 0, 0
        for g in range(step * accum, min((step + 1) * accum, plan.total_micro)):
            epoch, j = divmod(g, plan.micro_per_epoch)
            if epoch != epoch_blocks:  # a new order of the tweets
                blocks, epoch_blocks = tweets.epoch(epoch).to(device), epoch
            micro = blocks[j * plan.per_micro:(j + 1) * plan.per_micro]
            tokens += micro.shape[0] * (micro.shape[1] - 1)  # what the step's loss weighs
            numel += micro.numel()
            micro_batches.append(micro[first:first + batch_size])
        yield micro_batches, tokens, numel


def _step(net: _Net, micro_batches: list, tokens: int, lr: float, max_grad_norm: float,
          world: dist.World, stop: GracefulStop):
    """One optimizer step: (its loss as a device tensor, whether to stop after it)."""
    if not world.parallel:
        return (train_step(net.loss_fn, net.model, net.optimizer, micro_batches, lr,
                           max_grad_norm, tokens=tokens), stop.signum is not None)
    loss, stopping = train_step(net.loss_fn, net.model, net.optimizer, micro_batches, lr,
                                max_grad_norm, tokens=tokens,
                                sync=partial(_all_reduce, world, net.model, stop))
    return loss, bool(stopping.item())  # every rank stops at the same step


def _all_reduce(world: dist.World, model, stop: GracefulStop, loss):
    """Data-parallel: one all-reduce adds up every rank's gradients, loss and Ctrl-C flag."""
    return world.reduce(model.parameters(), loss, torch.tensor(float(stop.signum is not None)))


# -- what is said, logged and evaluated

class _Console:
    """The progress bar (steps done, on a terminal) and lines written above it; rank 0
    alone speaks."""

    def __init__(self, bar, speaks: bool):
        self.bar, self.speaks = bar, speaks

    def say(self, line: str, file=None) -> None:
        file = file or sys.stdout  # looked up now: a caller may have redirected it
        if self.speaks:
            self.bar.write(line, file=file)
            file.flush()


class _Clock:
    """The run's wall time, and `aside`: what evals, logging and checkpoints took since the
    last fold, kept out of busy_s (what tokens/s divides)."""

    def __init__(self):
        self.mark, self.aside = time.perf_counter(), 0.0

    def fold_into(self, state: State) -> None:
        now = time.perf_counter()
        state.runtime_s += now - self.mark
        state.busy_s += now - self.mark - self.aside
        self.mark, self.aside = now, 0.0


def _header(name: str, recipe: TrainParams, net: _Net, plan: _Plan, blocks: int,
            block_size: int, device: torch.device, world: dist.World) -> str:
    targets = net.lora_targets
    adapters = lora.trainable(net.model) if targets else 0  # the card says the same numbers
    how = (f"LoRA r={recipe.lora.r} on {', '.join(targets)}: {adapters:,} adapter parameters "
           f"trained on a frozen base of {_count(net.model) - adapters:,}" if targets
           else f"{_count(net.hf_model):,} parameters")
    return (f"train {name}: {blocks} blocks x {block_size} tokens (packed afresh every epoch), "
            f"{recipe.epochs:g} epochs = {plan.total_steps} steps on {device.type}"
            f"{f' x {world.size} processes' if world.parallel else ''}"
            f"{' (bf16)' if net.bf16 else ''}{' (lean GPT-2)' if net.lean else ''}, {how}")


def _too_big(name: str, recipe: TrainParams, world: dist.World, blocks: int) -> str:
    """One step an epoch, memory for nothing."""
    return (f"train {name}: train.batch_size {recipe.batch_size} x grad_accum "
            f"{recipe.grad_accum}{f' x {world.size} processes' if world.parallel else ''} "
            f"is more than the {blocks} training blocks: each epoch is one step of {blocks} "
            "blocks; lower train.batch_size")


def _stopped(step: int, total_steps: int, ckpt: Checkpoints) -> str:
    return (f"tweetlm: train: stopped at step {step}/{total_steps}; run it again to resume "
            f"from {ckpt.path}")


def _pending_losses(state: State, name: str, ckpt: Checkpoints) -> list[float]:
    """The losses of the steps not logged yet, on the host (one sync); a diverged run stops
    here and saves nothing, not even a checkpoint."""
    losses = torch.stack([loss for _, _, loss in state.pending]).tolist()
    _finite(name, "loss", [(step, v) for (step, _, _), v in zip(state.pending, losses)], ckpt)
    return losses


def _log_window(state: State, losses: list[float], plan: _Plan, run, out: _Console,
                name: str) -> None:
    """Every pending step's loss to the history and W&B; one line for the window."""
    for (step, lr, _), value in zip(state.pending, losses):
        state.history.append({"step": step, "loss": value, "learning_rate": lr,
                              "epoch": round(step / plan.steps_per_epoch, 4)})
        tracking.log(run, {"train/loss": value, "train/learning_rate": lr,
                           "train/epoch": step / plan.steps_per_epoch}, step=step)
        state.loss_total += value
    step, lr, _ = state.pending[-1]
    out.say(f"train {name}: step {step}/{plan.total_steps} epoch {step / plan.steps_per_epoch:.2f}"
            f" loss {sum(losses) / len(losses):.4f} lr {lr:.3g}")
    state.pending = []


@dataclass(frozen=True)
class _Evals:
    """What an evaluation needs: the model's eval loss, the validation blocks, and where the
    result goes."""

    net: _Net
    val_blocks: list
    batch_size: int
    device: torch.device
    world: dist.World
    ckpt: Checkpoints
    run: object  # the W&B run or None
    out: _Console
    name: str


def _evaluate(evals: _Evals, state: State, step: int) -> None:
    """The eval loss at `step` (none without validation blocks) into the history, W&B and
    a line."""
    if not evals.val_blocks:
        return
    world = evals.world
    loss = evaluate(evals.net.eval_fn, evals.net.model, evals.val_blocks, evals.batch_size,
                    evals.device, world if world.parallel else None)
    _finite(evals.name, "eval loss", [(step, loss)], evals.ckpt)
    state.history.append({"step": step, "eval_loss": loss})
    tracking.log(evals.run, {"eval/loss": loss, "eval/perplexity": _exp(loss)}, step=step)
    evals.out.say(f"train {evals.name}: step {step} eval loss {loss:.4f} "
                  f"perplexity {_exp(loss) or float('inf'):.2f}")


# -- the results

def _metrics(state: State, net: _Net, model, trained: int, plan: _Plan, base: Base,
             recipe: TrainParams, blocks: int, val_blocks: list, block_size: int,
             device: torch.device, world: dist.World) -> dict:
    """train_metrics.json: the run's results and what it was."""
    targets, lora_params = net.lora_targets, recipe.lora
    eval_loss = state.history[-1]["eval_loss"] if val_blocks else None
    return {
        "eval_loss": eval_loss,
        "perplexity": _exp(eval_loss),
        "initial_eval_loss": next((h["eval_loss"] for h in state.history if "eval_loss" in h),
                                  None),
        "train_loss": state.loss_total / plan.total_steps,
        "epochs": recipe.epochs,
        "steps": plan.total_steps,
        "tokens_seen": state.tokens_seen,
        "train_blocks": blocks,  # per epoch
        "validation_tokens": sum(len(b) for b in val_blocks),
        "block_size": block_size,  # resolved (train.block_size may say auto)
        "batch_size": recipe.batch_size * recipe.grad_accum * world.size,  # a step, all ranks
        "processes": world.size,
        "learning_rate": recipe.learning_rate,  # the peak this run used, whatever the base
        "parameters": _count(model),
        "trained_parameters": trained,
        "finetuning": "lora" if targets else ("from scratch" if base.is_tiny else "full"),
        "lora_r": lora_params.r if targets else None,
        "lora_alpha": lora_params.alpha if targets else None,
        "lora_dropout": lora_params.dropout if targets else None,
        "lora_target_modules": ",".join(targets) if targets else None,
        "train_runtime_s": round(state.runtime_s, 3),
        "tokens_per_s": round(state.tokens_seen / state.busy_s, 1) if state.busy_s else None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "precision": "bf16 autocast" if net.bf16 else "fp32",
        "training_path": "lean GPT-2" if net.lean else "transformers",
        **base.describe(),
    }


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
