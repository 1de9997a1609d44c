"""Run one `tweetlm` command and say where its wall time went; bench_train.py's breakdown.

    python benchmarks/stage_timer.py STAGE NAME [--params FILE]   (as `tweetlm STAGE NAME`)

Appends one JSON line to $TWEETLM_STAGE_TIMES (else prints it): seconds of

  startup     process start -> this script's first line (interpreter, site-packages) plus
              CLI parsing, imports aside
  imports     every import that ran, wherever (module bodies: torch, transformers, ...),
              also split by the third-party package that was imported (`imports_by_package`)
  load        reading models and tokenizers (pretrained.load_*, train's build_model)
  saving      writing outputs (atomic_path blocks, write_json, save_model, save_plots)
  tracking    W&B: init and finish, artifacts, logging
  work        everything else
  cpu_s       CPU seconds of the whole process (all threads), beside the wall-clock split

Each second is counted once, in the innermost of these that was running (an import during a
model load counts as an import). The wrappers cost microseconds a call; W&B's own background
process is not on this clock, only the time the stage waits for it.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]


def _process_age() -> float:
    """Seconds since this process started (Linux /proc; 0 elsewhere), at 10 ms resolution."""
    try:
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


AGE = _process_age()


class Clock:
    """Exclusive seconds per category: a category's time excludes the categories it encloses."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.stack: list[list] = []  # [category, start, enclosed seconds]

    def enter(self, category: str) -> None:
        self.stack.append([category, time.perf_counter(), 0.0])

    def exit(self) -> float:
        category, start, enclosed = self.stack.pop()
        elapsed = time.perf_counter() - start
        self.totals[category] = self.totals.get(category, 0.0) + elapsed - enclosed
        if self.stack:
            self.stack[-1][2] += elapsed
        return elapsed

    @contextmanager
    def timing(self, category: str):
        self.enter(category)
        try:
            yield
        finally:
            self.exit()


CLOCK = Clock()
BY_PACKAGE: dict[str, float] = {}
_depth = [0]
_package = [None]  # the third-party package whose import is running, outermost


def _timed_import(importer, root_of):
    def wrapper(name, *args, **kwargs):
        if name in sys.modules and not kwargs.get("level") and not (len(args) > 3 and args[3]):
            return importer(name, *args, **kwargs)  # the common case: nothing to load
        root = root_of(name, args, kwargs)
        outer, own = _depth[0] == 0, False
        if outer:
            CLOCK.enter("imports")
        if root and root != "tweetlm" and _package[0] is None:
            _package[0], own, start = root, True, time.perf_counter()
        _depth[0] += 1
        try:
            return importer(name, *args, **kwargs)
        finally:
            _depth[0] -= 1
            if own:
                BY_PACKAGE[root] = BY_PACKAGE.get(root, 0.0) + time.perf_counter() - start
                _package[0] = None
            if outer:
                CLOCK.exit()
                _patch_loaded()
    return wrapper


def _root_of_statement(name, args, kwargs):  # __import__(name, globals, locals, fromlist, level)
    level = kwargs.get("level", args[3] if len(args) > 3 else 0)
    return name.split(".")[0] if name and not level else None


def _root_of_call(name, args, kwargs):  # import_module(name, package=None)
    package = kwargs.get("package", args[0] if args else None)
    return (package or "").split(".")[0] if name.startswith(".") else name.split(".")[0]


builtins.__import__ = _timed_import(builtins.__import__, _root_of_statement)
importlib.import_module = _timed_import(importlib.import_module, _root_of_call)


def _timed(fn, category):
    def wrapper(*args, **kwargs):
        with CLOCK.timing(category):
            return fn(*args, **kwargs)
    wrapper.__wrapped__ = fn
    return wrapper


def _timed_block(fn, category):
    """A context-manager function whose whole `with` block is `category` (atomic_path)."""
    @contextmanager
    def wrapper(*args, **kwargs):
        with CLOCK.timing(category), fn(*args, **kwargs) as value:
            yield value
    wrapper.__wrapped__ = fn
    return wrapper


def _timed_edges(fn, category):
    """A context manager whose enter and exit are `category`, its block not (stage_run)."""
    @contextmanager
    def wrapper(*args, **kwargs):
        manager = fn(*args, **kwargs)
        with CLOCK.timing(category):
            value = manager.__enter__()
        try:
            yield value
        except BaseException:
            with CLOCK.timing(category):
                if not manager.__exit__(*sys.exc_info()):
                    raise
        else:
            with CLOCK.timing(category):
                manager.__exit__(None, None, None)
    wrapper.__wrapped__ = fn
    return wrapper


# (module, function, category, wrapper); replaced wherever a tweetlm module holds it
TARGETS = [
    ("tweetlm.shared.pretrained", "load_model", "load", _timed),
    ("tweetlm.shared.pretrained", "load_tokenizer", "load", _timed),
    ("tweetlm.train.model", "build_model", "load", _timed),
    ("tweetlm.predict", "load_model", "load", _timed),
    ("tweetlm.core.outputs", "atomic_path", "saving", _timed_block),
    ("tweetlm.core.outputs", "write_json", "saving", _timed),
    ("tweetlm.train.save", "save_model", "saving", _timed),
    ("tweetlm.train.save", "save_plots", "saving", _timed),
    ("tweetlm.train.save", "save_adapter", "saving", _timed),
    ("tweetlm.shared.tracking", "stage_run", "tracking", _timed_edges),
    ("tweetlm.shared.tracking", "log_artifact", "tracking", _timed),
    ("tweetlm.shared.tracking", "use_artifact", "tracking", _timed),
    ("tweetlm.shared.tracking", "log", "tracking", _timed),
    ("tweetlm.shared.tracking", "log_summary", "tracking", _timed),
]
_wrapped: dict[int, object] = {}  # id(original) -> wrapper
_seen: set[str] = set()


def _patch_loaded() -> None:
    """Wrap TARGETS in every tweetlm module loaded since the last call."""
    fresh = [m for name, m in list(sys.modules.items())
             if name.startswith("tweetlm") and name not in _seen and m is not None]
    if not fresh:
        return
    for module_name, attr, category, how in TARGETS:
        module = sys.modules.get(module_name)
        original = getattr(module, attr, None) if module else None
        if original is None or hasattr(original, "__wrapped__"):
            continue
        _wrapped[id(original)] = how(original, category)
    for module in fresh:
        _seen.add(module.__name__)
    for module in [m for n, m in list(sys.modules.items()) if n.startswith("tweetlm") and m]:
        for key, value in list(vars(module).items()):
            if id(value) in _wrapped and callable(value):
                setattr(module, key, _wrapped[id(value)])


def main(argv: list[str]) -> int:
    if not os.environ.get("PYTHONPATH"):
        sys.path.insert(0, str(ROOT / "src"))
    from tweetlm.core import cli

    args = cli.build_parser().parse_args(argv)
    startup_end = time.perf_counter()
    imports_before = CLOCK.totals.get("imports", 0.0)
    code = cli.main(argv)
    end = time.perf_counter()
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    totals = dict(CLOCK.totals)
    accounted = sum(v for k, v in totals.items())
    record = {
        "stage": args.command, "name": getattr(args, "name", ""), "exit": code,
        "wall_s": round(AGE + end - T0, 3),  # process start -> done
        # CPU seconds, all threads, with the children waited for (W&B's service is not):
        # less sensitive than wall time to other jobs on a shared machine
        "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 3),
        "startup_s": round(AGE + startup_end - T0 - imports_before, 3),
        "imports_s": round(totals.get("imports", 0.0), 3),
        "load_s": round(totals.get("load", 0.0), 3),
        "saving_s": round(totals.get("saving", 0.0), 3),
        "tracking_s": round(totals.get("tracking", 0.0), 3),
        "work_s": round(end - startup_end - (accounted - imports_before), 3),
        "imports_by_package": {k: round(v, 3) for k, v in
                               sorted(BY_PACKAGE.items(), key=lambda kv: -kv[1]) if v >= 0.01},
        "wandb_mode": os.environ.get("WANDB_MODE", ""),
    }
    line = json.dumps(record)
    out = os.environ.get("TWEETLM_STAGE_TIMES")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    else:
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
