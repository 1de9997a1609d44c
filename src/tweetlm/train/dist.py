"""Data-parallel training under `torchrun --nproc_per_node N` (torch.distributed).

torchrun starts N copies of `tweetlm train NAME` with RANK, WORLD_SIZE and LOCAL_RANK set; each
joins the group (NCCL on CUDA, gloo on a CPU), trains on its share of every micro-batch and
adds its gradients to the others' before the optimizer step, which every rank then takes
alike: the weights stay identical without ever being sent. Rank 0 alone writes outputs,
metrics, checkpoints and W&B. Without torchrun (WORLD_SIZE unset or 1) none of this runs.

Manual all-reduce rather than DistributedDataParallel: the loss is token-weighted over the
global batch (each rank divides its summed loss by the step's tokens on all ranks), so the
sum of the ranks' gradients is exactly the single-process gradient; the same code serves the
compiled lean GPT-2, the transformers model and LoRA's adapters; and one flat all-reduce a step
also carries the step's loss and the Ctrl-C flag, so every rank stops at the same step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1

    def reduce(self, params, *scalars: torch.Tensor) -> list[torch.Tensor]:
        """Sum the gradients of `params` and the 0-d `scalars` over all ranks, in place for
        the gradients (a rank without a gradient adds zeros); returns the summed scalars."""
        params = [p for p in params if p.requires_grad]
        ref = params[0]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads]
                         + [s.reshape(1).to(ref.device, grads[0].dtype) for s in scalars])
        torch.distributed.all_reduce(flat)
        at = 0
        for p, g in zip(params, grads):
            p.grad = flat[at:at + g.numel()].view_as(g)
            at += g.numel()
        return list(flat[at:].unbind())

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if self.parallel:
            torch.distributed.all_reduce(tensor)
        return tensor

    def close(self) -> None:
        if self.parallel and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def join(cuda: bool) -> World:
    """This process's place in a torchrun launch, the process group joined (a world of one
    without torchrun)."""
    world = launched()
    if not world.parallel:
        return world
    if cuda:
        torch.cuda.set_device(world.local_rank)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo",
                                             device_id=torch.device("cuda", world.local_rank)
                                             if cuda else None)
    return world


def launched() -> World:
    """Rank and size from torchrun's environment, without joining (for code that runs before
    or after training: W&B, printing)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size,
                 int(os.environ.get("LOCAL_RANK", "0"))) if size > 1 else World()
