"""Resumable training: the run's state, its checkpoint file, and a graceful Ctrl-C.

checkpoints/<bot>/<fingerprint>/last.pt holds the weights (with LoRA only the adapter's: the
frozen base comes back from model.base), the optimizer, the RNG and a `State`; the
fingerprint hashes the tokenized data and the train/model params (train.lora included), so a
changed run never resumes a stale one. checkpoints/ is outside DVC's outputs on purpose: persistent
outputs would disable DVC's run-cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch

from tweetlm.core.errors import TweetlmError, first_line, warn
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params


@dataclass
class State:
    """Where a run is, besides weights, optimizer and RNG: enough to finish it as if it had
    never stopped (same history, same metrics)."""

    step: int = 0  # optimizer steps done
    history: list = field(default_factory=list)  # every step's loss and lr, every eval loss
    pending: list = field(default_factory=list)  # (step, lr, loss tensor) not yet logged
    loss_total: float = 0.0  # sum of logged step losses: train_loss is their mean
    tokens_seen: int = 0
    runtime_s: float = 0.0
    busy_s: float = 0.0  # runtime less evals, logging and checkpoints: what tokens/s divides


def fingerprint(tokenized: Path, params: Params, device: str, world_size: int = 1) -> str:
    """What a checkpoint is valid for: the tokenized data, the train/model params (but how
    often to checkpoint), the device, the torch version and, under torchrun, the number of
    processes (the global batch, hence the steps, depend on it)."""
    h = hashlib.sha256()
    for path in sorted(p for p in tokenized.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(tokenized)).encode() + b"\0")
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    train = {k: v for k, v in asdict(params.train).items() if k != "checkpoint_steps"}
    h.update(json.dumps([train, asdict(params.model), device, torch.__version__]
                        + ([world_size] if world_size > 1 else []), sort_keys=True).encode())
    return h.hexdigest()[:16]


def weights(model) -> dict:
    """What a checkpoint keeps of the model: every weight, or only the trainable ones when
    most are frozen (LoRA)."""
    state = model.state_dict()
    named = dict(model.named_parameters())
    trainable = {n for n, p in named.items() if p.requires_grad}
    if len(trainable) == len(named):
        return state
    return {k: v for k, v in state.items() if k in trainable}


def restore(model, saved: dict) -> None:
    """Load `weights(model)` back; a checkpoint that misses a trainable weight is refused."""
    result = model.load_state_dict(saved, strict=False)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if result.unexpected_keys or trainable & set(result.missing_keys):
        raise ValueError("the checkpoint's weights are another model's")


class Checkpoints:
    """`folder`/<fp>/last.pt (folder: checkpoints/<bot>), written atomically; checkpoints of
    other fingerprints are removed on load, all of them by clear(). Under torchrun every rank
    loads, and only the rank that `writes` (rank 0) removes or saves anything."""

    def __init__(self, folder: Path, fp: str, device=torch.device("cpu"), writes: bool = True):
        self.folder, self.dir, self.device = folder, folder / fp, torch.device(device)
        self.path, self.writes = self.dir / "last.pt", writes

    def load(self, model, optimizer) -> State | None:
        """Restore model, optimizer and RNG in place and return the State, or None to start
        afresh (no checkpoint, or an unreadable one: that only costs the progress)."""
        for stale in self.folder.glob("*") if self.folder.is_dir() and self.writes else []:
            if stale != self.dir:
                shutil.rmtree(stale, ignore_errors=True)
        if not self.path.is_file():
            return None
        try:  # tensors and plain containers only: nothing in it can run code
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            warn(f"ignoring unreadable checkpoint {self.path} ({e})")
            return None
        try:  # the fingerprint makes a mismatch unlikely; the model is half-loaded if it happens
            restore(model, saved.pop("model"))
            optimizer.load_state_dict(saved.pop("optimizer"))
        except (ValueError, RuntimeError, KeyError) as e:
            raise TweetlmError(f"{self.path}: does not fit this model ({first_line(e)}): "
                               f"delete {self.folder} and train again") from None
        torch.set_rng_state(saved.pop("rng_cpu"))
        rng_cuda = saved.pop("rng_cuda")
        if self.device.type == "cuda" and rng_cuda:
            torch.cuda.set_rng_state_all(rng_cuda)
        state = State(**saved)
        state.pending = [(s, lr, torch.tensor(v, device=self.device)) for s, lr, v in state.pending]
        return state

    def save(self, state: State, model, optimizer) -> None:
        if not self.writes:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        ignore = self.folder.parent / ".gitignore"  # the folder ignores itself: never committed
        if not ignore.exists():
            ignore.write_text("# resumable training state, see tweetlm/train/checkpoint.py\n*\n")
        saved = {f.name: getattr(state, f.name) for f in fields(State)}
        saved["pending"] = [(s, lr, v.item()) for s, lr, v in state.pending]
        saved.update(model=weights(model), optimizer=optimizer.state_dict(),
                     rng_cpu=torch.get_rng_state(),
                     rng_cuda=torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [])
        with atomic_path(self.path) as tmp:
            torch.save(saved, tmp)

    def clear(self) -> None:
        """Remove this bot's checkpoints, and checkpoints/ once nothing else is in it. The
        shared folder is never removed whole: another handle's training may be starting a
        folder of its own in it this very moment (rmdir fails then, harmlessly)."""
        if not self.writes:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        root = self.folder.parent
        try:
            if {p.name for p in root.iterdir()} <= {".gitignore"}:
                (root / ".gitignore").unlink(missing_ok=True)
                root.rmdir()
        except OSError:
            pass


class GracefulStop:
    """SIGINT/SIGTERM set `signum`: the loop finishes its step, saves, then stops. A second
    signal stops at once -- but under torchrun not one within a second of the first: Ctrl-C
    reaches every worker from the terminal and again from torchrun, which forwards it."""

    def __init__(self):
        self.signum, self._at = None, 0.0
        self._echo = float(os.environ.get("WORLD_SIZE", "1") or 1) > 1
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # signal() works only there
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None:
            if self._echo and time.monotonic() - self._at < 1.0:
                return
            raise KeyboardInterrupt
        self.signum, self._at = signum, time.monotonic()
        print("tweetlm: train: stopping after this step to save a checkpoint "
              "(signal again to abort now)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
