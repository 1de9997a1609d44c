"""DVC at many handles: no-op `dvc repro` growth, and building handles concurrently.

    .venv/bin/python benchmarks/bench_repro.py                    # both parts (20-30 min on 2 cores)
    .venv/bin/python benchmarks/bench_repro.py noop               # 10, 100, 300 handles
    .venv/bin/python benchmarks/bench_repro.py noop --instructions   # + valgrind counts
    .venv/bin/python benchmarks/bench_repro.py concurrency --handles 4 --jobs 2
    .venv/bin/python benchmarks/bench_repro.py --quick            # 3 and 10 handles, 2 built

Everything runs in temporary git+DVC copies of the project (the checkout as git knows it,
like tests/helpers/project.py; a benchmark imports nothing from tests/), never in it.

noop: builds a few handles for real (synthetic tweets, tiny model, a few training steps),
then, for each size N, a project whose `handles` lists N names: `sample`, the built ones and
copies of them (raw data, outputs and their dvc.lock entries copied under the new name:
the same bytes, so the same hashes, which is all DVC checks). A warm-up `dvc repro` runs
only `validate` (the handles changed); then each round times, alternating the sizes, a
no-op `dvc repro` (no stage may run), a no-op `dvc repro card@<one handle>`, and prints
wall and CPU seconds (user + system of the dvc process) with the load average. Also per
size: what DVC spends rewriting dvc.lock after each stage it runs (its own modify_yaml on
that size's lock), and, with --instructions, the instructions the no-op executes
(valgrind; the same on a busy or an idle machine).

concurrency: N small handles (200 synthetic tweets, the tiny model, a few steps) built
three ways from the same validated copy, the modes alternating between rounds:
  serial    one `dvc repro card@h1 card@h2 ...`
  parallel  the README's way: up to --jobs processes, each
            `dvc --wait-for-lock repro --single-item ingest@h filter@h ... card@h`
            in the one workspace (DVC's repo lock and per-path read/write locks)
  queue     `dvc exp run --queue card@h` per handle, `dvc queue start -j JOBS` (workers in
            temporary copies sharing the cache), then `dvc repro` restores every stage from
            the run-cache into the workspace
Each mode must end with the same dvc.lock entries as the serial build (the training's wall
time aside: train_metrics.json and the card quote it) and `dvc status` clean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(PY).parent
DVC = str(BIN / "dvc")
RUN_OUTPUTS = ("data", "models", "reports", "checkpoints")
# Per-handle folders a run writes (and data/raw/<h>, the input), copied to make more handles.
HANDLE_DIRS = ("data/raw", "data/interim", "data/processed", "data/tokenized", "models", "reports")
CHAIN = ("ingest", "filter", "tokenize", "train", "predict", "card")  # one handle's stages
PER_HANDLE = (*CHAIN, "gallery")  # with its part of the static page, which `dvc repro` builds
ONCE = ("validate", "sample", "gallery-page")  # the stages that run once for all handles
# Enough to build a handle in seconds: the point is DVC's cost, not the model.
TINY = {
    "model.tiny.n_layer": 1, "model.tiny.n_embd": 32, "model.tiny.vocab_size": 512,
    "train.block_size": 32, "train.epochs": 0.05, "train.checkpoint_steps": 1000,
    "predict.prompts": ["Today"], "predict.num_sequences": 1, "predict.max_length": 16,
    "filter.min_kept_chars": 0,
}
TIMING_KEYS = {"train_runtime_s", "tokens_per_s"}  # in train_metrics.json: wall time


def load() -> float:
    return os.getloadavg()[0]


def env(root: Path) -> dict:
    e = dict(os.environ, DVC_NO_ANALYTICS="1", WANDB_MODE="disabled", HF_HUB_OFFLINE="1",
             TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(root / "src"))
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["GIT_AUTHOR_NAME"] = e["GIT_COMMITTER_NAME"] = "tweetlm bench"
    e["GIT_AUTHOR_EMAIL"] = e["GIT_COMMITTER_EMAIL"] = "bench@tweetlm.invalid"
    return e


def run(root: Path, *cmd: str, check: bool = True, timeout: float = 7200) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=root, env=env(root), capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed in {root} ({proc.returncode}):\n"
                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def timed(root: Path, *cmd: str) -> tuple[subprocess.CompletedProcess, float, float]:
    """(process, wall s, CPU s: user + system of the command and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = run(root, *cmd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ran(out: str) -> list[str]:
    return re.findall(r"Running stage '([^']+)'", out)


def copy_project(dest: Path) -> Path:
    """A git repo at `dest` holding the checkout as git knows it (tracked files, and new
    unignored ones under src/, tests/, benchmarks/), without dvc.lock or run outputs. DVC's
    state database goes inside it (core.site_cache_dir), not under /var/tmp."""
    def ls(*args: str) -> set[str]:
        out = subprocess.run(["git", "ls-files", "-z", *args], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
        return set(filter(None, out.split("\0")))

    names = ls("--cached") | ls("--others", "--exclude-standard", "--", "src", "tests", "benchmarks")
    for name in sorted(names):
        if name == "dvc.lock" or name.split("/")[0] in RUN_OUTPUTS or not (ROOT / name).is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    (dest / ".dvc/config.local").write_text(f"[core]\n    site_cache_dir = {dest / '.dvc/site'}\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench copy"]):
        run(dest, "git", *args)
    return dest


def clone(src: Path, dest: Path) -> Path:
    """A private copy (files, git repo, DVC cache and lock), its state database its own."""
    site = src / ".dvc/site"
    shutil.copytree(src, dest, symlinks=True,
                    ignore=lambda folder, names: ["site"] if Path(folder) == site.parent else [])
    (dest / ".dvc/config.local").write_text(f"[core]\n    site_cache_dir = {dest / '.dvc/site'}\n")
    for name in ("lock", "rwlock", "rwlock.lock"):
        (dest / ".dvc/tmp" / name).unlink(missing_ok=True)
    return dest


def set_params(root: Path, **updates) -> None:
    """Set dotted keys in params.yaml, keeping its comments (ruamel round trip)."""
    from ruamel.yaml import YAML

    rt = YAML()
    path = root / "params.yaml"
    data = rt.load(path)
    for key, value in updates.items():
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    rt.dump(data, path)


def write_raw(root: Path, names: list[str], tweets: int = 200) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from tweetlm.sample import write_sample

    for i, name in enumerate(names):
        (root / "data/raw" / name).mkdir(parents=True)
        write_sample(root / "data/raw" / name, tweets, seed=100 + i)


# ------------------------------------------------------------------ no-op growth


def build_base(scratch: Path, built: int) -> Path:
    root = copy_project(scratch / "built")
    users = [f"user{i}" for i in range(built)]
    write_raw(root, users)
    set_params(root, **TINY, handles=["sample", *users])
    t0 = time.perf_counter()
    out = run(root, DVC, "repro")
    print(f"built sample + {built} handle(s) for real in {time.perf_counter() - t0:.0f} s "
          f"({len(ran(out.stdout))} stages; load {load():.1f})", flush=True)
    return root


def replicate(base: Path, dest: Path, size: int) -> Path:
    """`base` with `size` handles: sample, the built users and copies of them (userK copies
    user(K mod built)): files and dvc.lock entries, name for name."""
    clone(base, dest)
    from ruamel.yaml import YAML

    params = YAML().load(dest / "params.yaml")
    built = [h for h in params["handles"] if h != "sample"]
    names = ["sample", *(f"user{i}" for i in range(size - 1))]
    lock = yaml.load((dest / "dvc.lock").read_text(), Loader=yaml.CSafeLoader)
    stages = lock["stages"]
    for i, name in enumerate(names[1:]):
        if name in built:
            continue
        template = built[i % len(built)]
        for folder in HANDLE_DIRS:
            if (dest / folder / template).exists():
                shutil.copytree(dest / folder / template, dest / folder / name, symlinks=True)
        entry_file = dest / "reports/gallery" / f"{template}.json"  # gallery's out: a file
        if entry_file.exists():
            shutil.copyfile(entry_file, entry_file.with_name(f"{name}.json"))
        same = re.compile(rf"\b{re.escape(template)}\b")
        for stage in PER_HANDLE:
            entry = yaml.dump(stages[f"{stage}@{template}"], Dumper=yaml.CSafeDumper)
            stages[f"{stage}@{name}"] = yaml.load(same.sub(name, entry), Loader=yaml.CSafeLoader)
    (dest / "data/tokenized/.gitignore").write_text("".join(f"/{h}\n" for h in names))
    (dest / "dvc.lock").write_text(yaml.dump(lock, Dumper=yaml.CSafeDumper, sort_keys=False))
    set_params(dest, handles=names)
    out = run(dest, DVC, "repro")  # validate reruns if the handles changed (its params: all)
    # gallery-page too: its folder of entries gained the copies'
    if set(ran(out.stdout)) - {"validate", "gallery-page"}:
        sys.exit(f"{size} handles: the warm-up ran {ran(out.stdout)}, not just validate")
    run(dest, "git", "add", "-A")
    run(dest, "git", "commit", "-q", "-m", f"{size} handles")
    return dest


def lock_update_s(root: Path) -> float:
    """CPU seconds of the dvc.lock rewrite DVC does after every stage it runs (modify_yaml:
    a comment-keeping round trip of the whole file), on a copy of `root`'s lock."""
    from dvc.fs import LocalFileSystem
    from dvc.utils.serialize import modify_yaml

    copy = root / ".dvc/tmp/bench-lock.yaml"
    shutil.copy(root / "dvc.lock", copy)
    t0 = time.process_time()
    with modify_yaml(str(copy), fs=LocalFileSystem()) as data:
        data["schema"] = "2.0"
    seconds = time.process_time() - t0
    copy.unlink()
    return seconds


def instructions(root: Path, *args: str) -> float | None:
    """Instructions (billions) `dvc repro ARGS` executes, counted by valgrind: unlike time,
    the same whatever else the machine runs."""
    if not shutil.which("valgrind"):
        return None
    e = dict(env(root), PYTHONHASHSEED="0")
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null", PY, DVC, "repro", *args],
                          cwd=root, env=e, capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    return int(found.group(1).replace(",", "")) / 1e9 if found and not proc.returncode else None


def bench_noop(scratch: Path, sizes: list[int], rounds: int, built: int, count: bool) -> dict:
    base = build_base(scratch, built)
    projects = {}
    for size in sizes:
        t0 = time.perf_counter()
        projects[size] = replicate(base, scratch / f"handles-{size}", size)
        lines = sum(1 for _ in open(projects[size] / "dvc.lock"))
        print(f"{size} handles: copied and warmed up in {time.perf_counter() - t0:.0f} s "
              f"(dvc.lock {lines:,} lines)", flush=True)
    results = {size: {"noop": [], "one": []} for size in sizes}
    for r in range(rounds):
        for size in sizes if r % 2 == 0 else sizes[::-1]:
            root = projects[size]
            for kind, args in (("noop", ()), ("one", ("card@user0",))):
                out, wall, cpu = timed(root, DVC, "repro", *args)
                if ran(out.stdout):
                    sys.exit(f"{size} handles: a no-op `dvc repro {' '.join(args)}` ran "
                             f"{ran(out.stdout)}")
                results[size][kind].append({"wall_s": wall, "cpu_s": cpu, "load": load()})
            print(f"  round {r + 1}, {size} handles: no-op {results[size]['noop'][-1]['wall_s']:.2f} s "
                  f"wall / {results[size]['noop'][-1]['cpu_s']:.2f} s CPU "
                  f"(load {results[size]['noop'][-1]['load']:.1f})", flush=True)
    print(f"\nno-op `dvc repro` (median of {rounds}; CPU = user + system of dvc; "
          "s/handle = the whole run's time over the handles)")
    print(f"{'handles':>7} {'stages':>6} {'wall s':>7} {'CPU s':>6} {'wall/h':>7} {'CPU/h':>6} "
          f"{'card@one CPU s':>14} {'lock update s':>13} {'load':>5}")
    summary = {}
    for size in sizes:
        root = projects[size]
        med = {k: statistics.median(x[k] for x in results[size]["noop"]) for k in ("wall_s", "cpu_s")}
        one = statistics.median(x["cpu_s"] for x in results[size]["one"])
        upd = lock_update_s(root)
        avg = statistics.mean(x["load"] for x in results[size]["noop"])
        stages = len(ONCE) + len(PER_HANDLE) * size
        summary[size] = {**med, "stages": stages, "wall_per_handle_s": med["wall_s"] / size,
                         "cpu_per_handle_s": med["cpu_s"] / size, "one_handle_cpu_s": one,
                         "lock_update_s": upd, "load": avg, "runs": results[size]}
        print(f"{size:>7} {stages:>6} {med['wall_s']:>7.2f} {med['cpu_s']:>6.2f} "
              f"{med['wall_s'] / size:>7.3f} {med['cpu_s'] / size:>6.3f} {one:>14.2f} "
              f"{upd:>13.2f} {avg:>5.1f}")
    print("lock update: the CPU seconds DVC spends rewriting dvc.lock after EACH stage it "
          "runs at that size (it grows with the file, so a build grows quadratically)")
    if count:
        size = sizes[0]
        billions = instructions(projects[size])
        summary[size]["instructions_g"] = billions
        print(f"{size} handles: a no-op `dvc repro` executes "
              + (f"{billions:.2f} billion instructions (valgrind)" if billions else
                 "? instructions (valgrind missing or failed)"))
    return summary


# ------------------------------------------------------------------ concurrency


def build_concurrency_base(scratch: Path, handles: int) -> tuple[Path, list[str]]:
    root = copy_project(scratch / "validated")
    names = [f"h{i}" for i in range(handles)]
    write_raw(root, names)
    set_params(root, **TINY, handles=names)
    run(root, DVC, "repro", "validate")  # the shared upstream, done once before any mode
    run(root, "git", "add", "-A")  # the raw data too: queued runs see what git holds
    run(root, "git", "commit", "-q", "-m", "validated")
    return root, names


def run_serial(root: Path, names: list[str], jobs: int) -> None:
    run(root, DVC, "repro", *(f"card@{h}" for h in names))


def run_parallel(root: Path, names: list[str], jobs: int) -> None:
    todo, running = list(names), []
    while todo or running:
        while todo and len(running) < jobs:
            h = todo.pop(0)
            chain = [f"{stage}@{h}" for stage in CHAIN]
            running.append((h, subprocess.Popen(
                [DVC, "--wait-for-lock", "repro", "--single-item", *chain], cwd=root, env=env(root),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        time.sleep(0.2)
        for h, proc in list(running):
            if proc.poll() is not None:
                running.remove((h, proc))
                if proc.returncode:
                    sys.exit(f"parallel build of {h} failed:\n{proc.stdout.read()[-3000:]}")


def run_queue(root: Path, names: list[str], jobs: int) -> None:
    for h in names:
        run(root, DVC, "exp", "run", "--queue", "-n", f"build-{h}", f"card@{h}")
    run(root, DVC, "queue", "start", "-j", str(jobs))
    while re.search(r"\b(Queued|Running)\b", run(root, DVC, "queue", "status").stdout):
        time.sleep(2)
    status = run(root, DVC, "queue", "status").stdout
    if "Failed" in status:
        sys.exit(f"queued builds failed:\n{status}\n{run(root, DVC, 'queue', 'logs', 'build-' + names[0], check=False).stdout[-3000:]}")
    out = run(root, DVC, "repro", *(f"card@{h}" for h in names))
    if ran(out.stdout):
        sys.exit(f"the workspace reran {ran(out.stdout)} instead of restoring them from the run-cache")


MODES = {"serial": run_serial, "parallel": run_parallel, "queue": run_queue}


def timeless(path: Path):
    """What a file that records a run's duration holds, the duration left out: train's
    metrics (train_runtime_s, tokens_per_s) and the card that quotes them."""
    if path.name == "train_metrics.json":
        return {k: v for k, v in json.loads(path.read_text()).items() if k not in TIMING_KEYS}
    return re.sub(r" in [\d.,]+ (s|min|h) on ", " in ? on ", path.read_text())


def lock_entries(root: Path, names: list[str]) -> dict:
    """The handles' dvc.lock entries, each timed file's hash (train_metrics.json, the
    card) replaced by its content without the times."""
    stages = yaml.load((root / "dvc.lock").read_text(), Loader=yaml.CSafeLoader)["stages"]
    found = {}
    for h in names:
        for stage in CHAIN:
            entry = stages.get(f"{stage}@{h}")
            for item in (entry or {}).get("deps", []) + (entry or {}).get("outs", []):
                if item["path"].endswith(("train_metrics.json", "README.md")):
                    item.update(md5=timeless(root / item["path"]), size=None)
            found[f"{stage}@{h}"] = entry
    return found


def bench_concurrency(scratch: Path, handles: int, jobs: int, rounds: int) -> dict:
    base, names = build_concurrency_base(scratch, handles)
    results, reference = {m: [] for m in MODES}, None
    for r in range(rounds):
        order = list(MODES)[r % len(MODES):] + list(MODES)[:r % len(MODES)]
        for mode in order:
            root = clone(base, scratch / f"{mode}-{r}")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start_load, t0 = load(), time.perf_counter()
            MODES[mode](root, names, jobs)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            status = json.loads(run(root, DVC, "status", "--json",
                                    *(f"card@{h}" for h in names), "--with-deps").stdout or "{}")
            entries = lock_entries(root, names)
            if mode == "serial" and reference is None:
                reference = entries
            same = reference is None or entries == reference
            if not same:
                for name in sorted(k for k in entries if entries[k] != reference.get(k)):
                    print(f"    {name} differs:\n      {mode}: {json.dumps(entries[name])}\n"
                          f"      serial: {json.dumps(reference.get(name))}")
            results[mode].append({"wall_s": wall, "load_start": start_load, "load_end": load(),
                                  "cpu_children_s": (after.ru_utime - before.ru_utime)
                                  + (after.ru_stime - before.ru_stime),
                                  "status_clean": not status, "same_lock_as_serial": same})
            print(f"  round {r + 1}: {mode:8s} {wall:6.1f} s for {handles} handles "
                  f"(load {start_load:.1f} -> {load():.1f}); dvc status "
                  f"{'clean' if not status else status}; dvc.lock "
                  f"{'= serial' if same else 'DIFFERS from serial'}", flush=True)
            shutil.rmtree(root, ignore_errors=True)
    serial = statistics.median(x["wall_s"] for x in results["serial"])
    print(f"\nbuilding {handles} handles (tiny model), {jobs} at a time where concurrent; "
          f"median of {rounds}:")
    summary = {}
    for mode, runs in results.items():
        wall = statistics.median(x["wall_s"] for x in runs)
        summary[mode] = {"wall_s": wall, "handles_per_min": handles * 60 / wall,
                         "speedup_vs_serial": serial / wall, "runs": runs}
        print(f"  {mode:8s} {wall:6.1f} s  {handles * 60 / wall:5.2f} handles/min  "
              f"{serial / wall:4.2f}x serial  (load {statistics.mean(x['load_start'] for x in runs):.1f})")
    if not all(x["status_clean"] and x["same_lock_as_serial"] for runs in results.values() for x in runs):
        sys.exit("a concurrent build did not end like the serial one (see above)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=("noop", "concurrency", "all"), default="all")
    parser.add_argument("--sizes", default="10,100,300", help="handles per no-op project")
    parser.add_argument("--built", type=int, default=2, help="handles built for real (noop)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instructions", action="store_true",
                        help="count the smallest no-op's instructions with valgrind")
    parser.add_argument("--handles", type=int, default=4, help="handles built (concurrency)")
    parser.add_argument("--jobs", type=int, default=2, help="concurrent builds")
    parser.add_argument("--quick", action="store_true", help="sizes 3,10; 2 handles; 1 round")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.handles, args.rounds = "3,10", 2, 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load():.1f} at start", flush=True)
    results = {}
    scratch = Path(tempfile.mkdtemp(prefix="tweetlm-bench-repro-"))
    try:
        if args.part in ("noop", "all"):
            results["noop"] = bench_noop(scratch, sizes, args.rounds, args.built, args.instructions)
        if args.part in ("concurrency", "all"):
            results["concurrency"] = bench_concurrency(scratch, args.handles, args.jobs,
                                                       args.rounds)
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average {load():.1f} at the end (2 cores shared with other work make wall "
          "times noisy; CPU seconds and instruction counts move less)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
