"""The model, its optimizer and schedule, one optimizer step, and the eval loss.

The defaults are those of transformers' Trainer, which the original used: AdamW (0.9, 0.999,
eps 1e-8) without decay on biases and norms, gradient clipping, warmup then cosine/linear/
constant. On a CUDA GPU: bf16 autocast, TF32 matmuls, SDPA attention, fused AdamW.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from tweetlm.shared import pretrained
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params


def pick_device(wanted: str, local_rank: int = 0) -> torch.device:
    if wanted == "cuda" and not torch.cuda.is_available():
        raise TweetlmError(f"params.yaml: train.device: cuda, but torch {torch.__version__} sees "
                           "no CUDA GPU: set train.device to auto or cpu")
    if wanted != "cpu" and torch.cuda.is_available():  # under torchrun: this rank's GPU
        return torch.device("cuda", local_rank) if local_rank else torch.device("cuda")
    return torch.device("cpu")


def precision(device: torch.device):
    """(autocast context, bf16?) for `device`; on CUDA also turns TF32 on for the fp32
    matmuls left outside autocast. CPU: plain fp32."""
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


def build_model(tokenizer_dir: Path, params: Params, base: pretrained.Base, device):
    """The model to train: the base's weights, or for 'tiny' a seeded random GPT-2."""
    attn = "sdpa"  # PyTorch's fused attention (flash/memory-efficient kernels on a GPU)
    if base.is_tiny:
        from transformers import GPT2Config, GPT2LMHeadModel

        tokenizer = pretrained.load_tokenizer(tokenizer_dir)
        tiny = params.model.tiny
        config = GPT2Config(
            vocab_size=len(tokenizer), n_positions=tiny.n_positions, n_embd=tiny.n_embd,
            n_layer=tiny.n_layer, n_head=tiny.n_head, resid_pdrop=tiny.dropout,
            embd_pdrop=tiny.dropout, attn_pdrop=tiny.dropout,
            bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
            attn_implementation=attn,
        )
        torch.manual_seed(params.train.seed)
        model = GPT2LMHeadModel(config)
    else:  # tokenize checked that the blocks fit its context
        model = pretrained.load_model(base.path, attn_implementation=attn, dtype=torch.float32)
    return model.to(device)


def make_optimizer(model, lr: float, weight_decay: float, fused: bool):
    """AdamW as Trainer sets it up: no decay on biases and norms; fused kernel on a GPU."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=lr, betas=(0.9, 0.999), eps=1e-8, fused=fused,
    )


def lr_at(step: int, total: int, peak: float, warmup: int, schedule: str) -> float:
    """The learning rate of optimizer step `step` (0-based), as transformers' schedulers:
    linear warmup, then cosine to 0 (half a cycle), linear to 0, or constant. Computed from
    the step number alone, so a resumed run needs no scheduler state."""
    if step < warmup:
        return peak * step / max(1, warmup)
    if schedule == "constant":
        return peak
    progress = (step - warmup) / max(1, total - warmup)
    if schedule == "linear":
        return peak * max(0.0, 1.0 - progress)
    return peak * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def loss_sum(logits, x):
    # Labels are the inputs shifted by one; fp32 cross-entropy whatever the autocast.
    return F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), x[:, 1:].flatten(),
                           reduction="sum")


def hf_loss(forward, autocast):
    """x -> summed next-token loss of a transformers causal LM (`forward`: the model, or it
    compiled) under `autocast`; the lean GPT-2's counterpart is gpt2.loss_function."""
    def loss(x):
        with autocast:
            logits = forward(input_ids=x).logits
        return loss_sum(logits, x)
    return loss


def train_step(loss_fn, model, optimizer, batches: list, lr: float, max_grad_norm: float,
               tokens: int | None = None, sync=None):
    """One optimizer step over the micro-batches `batches` (token-weighted, so gradient
    accumulation equals one big batch); returns the step's mean loss as a device tensor,
    so the caller decides when to pay for a host sync. `loss_fn(x)` is the summed loss of
    blocks `x`. Data-parallel: `tokens` counts the step's tokens on every rank and
    `sync(loss)` adds up the ranks' gradients and losses (dist.World.reduce, before clipping);
    the step then returns what `sync` returned (the summed loss and any scalars reduced with
    it)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    step_tokens = tokens or sum(x.shape[0] * (x.shape[1] - 1) for x in batches)
    step_loss = torch.zeros((), device=next(model.parameters()).device)
    for x in batches:
        if not len(x):  # a rank whose share of the epoch's last micro-batch is empty
            continue
        loss = loss_fn(x) / step_tokens
        loss.backward()
        step_loss += loss.detach()
    if sync is not None:
        step_loss = sync(step_loss)  # data-parallel: the summed loss, and what rode along
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return step_loss


@torch.no_grad()
def evaluate(loss_fn, model, blocks: list, batch_size: int, device, world=None) -> float:
    """Token-weighted mean next-token loss over `blocks` (nan if there are none); with a
    data-parallel `world`, each rank takes every world.size-th block and the sums are added."""
    if not blocks:
        return float("nan")
    was_training = model.training
    model.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)  # loss, tokens
    mine = blocks[world.rank::world.size] if world is not None else blocks
    i = 0
    while i < len(mine):  # batch neighbours of equal length (only the last differs)
        j = i + 1
        while j < len(mine) and j - i < batch_size and len(mine[j]) == len(mine[i]):
            j += 1
        x = torch.stack(mine[i:j]).to(device, non_blocking=True)
        total[0] += loss_fn(x).double()
        total[1] += x.shape[0] * (x.shape[1] - 1)
        i = j
    model.train(was_training)
    if world is not None:
        world.sum(total)
    loss, tokens = total.tolist()
    return loss / tokens
