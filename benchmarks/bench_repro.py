"""DVC at many handles: what one handle costs as the project grows, and handles built side by side.

    .venv/bin/python benchmarks/bench_repro.py                     # both parts (about an hour on 2 cores)
    .venv/bin/python benchmarks/bench_repro.py scale               # 10, 100, 300, 1,000 handles
    .venv/bin/python benchmarks/bench_repro.py scale --sizes 10,100 --json out.json
    .venv/bin/python benchmarks/bench_repro.py concurrency --handles 8 --jobs 2
    .venv/bin/python benchmarks/bench_repro.py --quick             # scale: 10, 30; concurrency: 2

Everything runs in temporary git+DVC copies of the project (the checkout as git knows it,
like tests/helpers/project.py; a benchmark imports nothing from tests/), never in it.

scale: for each size N, a project of N handles (u0000 ...) whose pipeline files,
handles/<h>/dvc.yaml, are what the real generator writes (src/tweetlm/shared/pipelines.py:
handle_stages, render: the same stages, deps, outs and `wdir: ../..`) with each stage's
command STUBBED: a shell line that hashes the stage's data deps (files, and folders' files)
and writes that hash into each of its outs (a file per file out; a folder out gets one file),
so a changed input reruns every stage downstream, as real outputs would. The root stages are
stubbed too: `validate` writes the params stamps with tweetlm.validate itself (stamps(), by
its main()) but skips the pipeline-file check (the commands differ from what `tweetlm sync`
writes), `sample` and `gallery-page` write their outs. The raw folders are made by hand (one
small file each). Measured at each size:
  build all      from nothing: `dvc repro validate sample`, then every handle with
                 `xargs -P JOBS -I{} dvc --wait-for-lock repro -s handles/{}/dvc.yaml`, then a
                 `dvc repro` that must run gallery-page only (--build repro: one plain
                 `dvc repro` instead); its time over N is the per-handle figure
                 Sizes above --build-max (default 100) are not built from nothing (1,000
                 handles would take about an hour on 2 busy cores): they copy the largest
                 built project's handles, outputs and lock files name for name (the same
                 bytes, so the same hashes), `dvc repro validate sample` stamps the new
                 names and a `dvc repro` must then run gallery-page only; the figures
                 below are measured on them as on the others
  full no-op     `dvc repro` with nothing to do (once)
  no-op one      `dvc repro -s handles/<h>/dvc.yaml` with nothing to do (median of --rounds)
  rebuild one    <h>'s raw file changed, `dvc repro -s handles/<h>/dvc.yaml`: its 7 stages
                 run (median of --rounds; a new change each round)
Same run, the old layout (one dvc.yaml, `foreach: ${handles}`, the same stub commands) at
--old-sizes (default the sizes up to 100): built from nothing with one plain `dvc repro` up
to --old-build-max handles (default 10); above, its dvc.lock is assembled from the new
layout's lock files (the same stages, commands, paths and hashes) and a `dvc repro` must then
run nothing, because building it costs O(N^2) (DVC rewrites the whole dvc.lock after each
stage it runs: about 25 min at 100 handles on 2 busy cores, 3.8 h at 300, days at 1,000).
Then the same no-op and rebuild of one handle, as `dvc repro -s ingest@<h> ... gallery@<h>`,
and the ratio new/old.

concurrency: N small real handles (200 synthetic tweets, the tiny model, a few steps),
pipeline files written by `tweetlm sync` (the real commands), `dvc repro validate` done
once, then built two ways from the same copy, the order alternating between rounds:
  serial    one `dvc repro -s handles/h0/dvc.yaml handles/h1/dvc.yaml ...` (one process,
            the handles one after another)
  parallel  `xargs -P JOBS -I{} dvc --wait-for-lock repro -s handles/{}/dvc.yaml` in the one
            workspace (DVC's repo lock and per-path read/write locks)
Each must end with the same lock entries as the serial build (the training's wall time
aside: train_metrics.json, the card and the gallery entry quote it) and `dvc status` of the
handles' files clean. The earlier `dvc queue` mode is gone: it measured 0.79x serial (every
job's pipeline serially in a temporary copy, then a `dvc repro` to restore them) and cost as
long as the other two together.
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
sys.path.insert(0, str(ROOT / "src"))  # the generator and validate of this checkout
from tweetlm.core import layout  # noqa: E402
from tweetlm.shared import pipelines  # noqa: E402

STAGES = layout.HANDLE_STAGES  # one handle's stages: ingest ... gallery, in their file
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
    from tweetlm.sample import write_sample

    for i, name in enumerate(names):
        (root / "data/raw" / name).mkdir(parents=True)
        write_sample(root / "data/raw" / name, tweets, seed=100 + i)




def timed_shell(root: Path, command: str) -> tuple[str, float, float]:
    """A shell pipeline (xargs): (its output, wall s, CPU s of it and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(command, shell=True, cwd=root, env=env(root), capture_output=True,
                          text=True, timeout=7200)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit(f"{command} failed in {root} ({proc.returncode}):\n"
                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr, wall, (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime)


def xargs(names: list[str], jobs: int) -> str:
    """The farm's way: every handle's file built by its own dvc process, JOBS at a time."""
    return (f"printf '%s\\n' {' '.join(names)} | xargs -P {jobs} -I{{}} "
            f"{DVC} --wait-for-lock repro -s handles/{{}}/dvc.yaml")


# ------------------------------------------------------------------ scale (stub commands)


def is_folder(path: str) -> bool:
    """Every file the stages read or write has a suffix; their folders (data/raw/<h>,
    data/tokenized/<h>, models/<h>/adapter, the plots, reports/gallery) have none."""
    return "." not in Path(path).name


def stub_cmd(stage: str, deps: list[str], outs: list[str], read: set[str] = frozenset()) -> str:
    """A shell line that writes `outs` from the hash of the data `deps` (code deps aside):
    a file per file out; in a folder out, the files of it other stages read (`read`), else
    one file. No `${`: dvc.yaml would interpolate it."""
    data = [d for d in deps if not d.startswith("src/")]
    files = " ".join(d for d in data if not is_folder(d))
    folders = " ".join(d for d in data if is_folder(d))
    parts = []
    if files:
        parts.append(f"cat {files}")
    if folders:
        parts.append(f"find {folders} -type f | LC_ALL=C sort | xargs -r cat")
    sig = f"sig=$({{ {'; '.join(parts) or 'true'}; }} | md5sum | cut -c1-32)"
    written = []
    for out in outs:
        if is_folder(out):
            written += sorted(r for r in read if r.startswith(out + "/")) or [f"{out}/part.json"]
        else:
            written.append(out)
    made = dict.fromkeys(str(Path(w).parent) for w in written)
    writes = [f"printf '{{\"stage\": \"{stage}\", \"sig\": \"%s\"}}\\n' \"$sig\" > {w}"
              for w in written]
    return " && ".join([sig, f"mkdir -p {' '.join(made)}", *writes])


def outs_of(spec: dict) -> list[str]:
    plots = [next(iter(p)) if isinstance(p, dict) else p for p in spec.get("plots", [])]
    return [*spec.get("outs", []), *spec.get("metrics", []), *plots]


def stubbed(stages: dict) -> dict:
    """The generator's stages, each command replaced by its stub (all else as generated)."""
    read = {d for spec in stages.values() for d in spec.get("deps", [])}
    return {name: {**spec, "cmd": stub_cmd(name, spec.get("deps", []), outs_of(spec), read)}
            for name, spec in stages.items()}


STUB_VALIDATE = '''"""The benchmark's `validate`: tweetlm.validate's stamps, without the pipeline-file check
(the handles' files run stub commands, so they differ from what `tweetlm sync` writes)."""
from tweetlm import validate
from tweetlm.core.params import load_params

validate.check_pipelines = lambda params, params_file: None
validate.main(load_params("params.yaml"), "params.yaml")
'''


def root_stages(root: Path) -> dict:
    """The checkout's root dvc.yaml (validate, sample, gallery-page), commands stubbed."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text())
    stages = spec["stages"]
    for name in ("sample", "gallery-page"):
        stages[name]["cmd"] = stub_cmd(name, stages[name].get("deps", []), outs_of(stages[name]))
    stages["validate"]["cmd"] = "python bench_stub/validate.py"
    stages["validate"]["deps"].append("bench_stub/validate.py")
    return spec


def handle_names(size: int) -> list[str]:
    return [f"u{i:04d}" for i in range(size)]


def raw_text(name: str, round_: int = 0) -> str:
    return json.dumps({"handle": name, "round": round_}) + "\n"


def scale_project(dest: Path, size: int) -> Path:
    """A fresh copy with `size` handles, each its generated file of stub commands, raw
    folders made by hand, nothing built."""
    root = copy_project(dest)
    names = handle_names(size)
    shutil.rmtree(root / "handles", ignore_errors=True)
    for name in names:
        path = root / layout.pipeline_file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pipelines.render(stubbed(pipelines.handle_stages(name)),
                                         f"handles: {name}; bench_repro.py: stub commands"))
        (root / layout.raw_dir(name)).mkdir(parents=True)
        (root / layout.raw_dir(name) / "tweets.json").write_text(raw_text(name))
    (root / "bench_stub").mkdir()
    (root / "bench_stub/validate.py").write_text(STUB_VALIDATE)
    (root / "dvc.yaml").write_text(yaml.safe_dump(root_stages(root), sort_keys=False, width=100))
    set_params(root, handles=names)
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", f"{size} handles, stub commands")
    return root


def old_layout_yaml(root: Path) -> str:
    """One dvc.yaml: the root stages and one `foreach: ${handles}` entry per handle stage,
    the same stub commands and paths (no wdir: the file is at the root)."""
    mark = "zzhandlezz"
    spec = root_stages(root)
    stages = spec["stages"]
    template = yaml.safe_dump(stubbed(pipelines.handle_stages(mark)), sort_keys=False, width=100)
    for name, body in yaml.safe_load(template.replace(mark, "${item}")).items():
        stages[name] = {"foreach": "${handles}", "do": body}
    return yaml.safe_dump(spec, sort_keys=False, width=100)


def old_chain(name: str) -> list[str]:
    return [f"{stage}@{name}" for stage in STAGES]


def new_chain(name: str) -> list[str]:
    return [layout.stage_id(stage, name) for stage in STAGES]


def to_old_layout(root: Path, names: list[str], assemble: bool) -> None:
    """Rewrite a (copied) project to the old layout. assemble: its dvc.lock from the
    handles' lock files, entry for entry (the project must have been built); else nothing
    of the old build is kept (the caller builds it)."""
    if assemble:
        lock = yaml.load((root / "dvc.lock").read_text(), Loader=yaml.CSafeLoader)
        for name in names:
            own = yaml.load((root / layout.pipeline_file(name).with_suffix(".lock")).read_text(),
                            Loader=yaml.CSafeLoader)["stages"]
            for stage in STAGES:
                lock["stages"][f"{stage}@{name}"] = own[stage]
        (root / "dvc.lock").write_text(yaml.dump(lock, Dumper=yaml.CSafeDumper, sort_keys=False))
    shutil.rmtree(root / "handles")
    (root / "dvc.yaml").write_text(old_layout_yaml(root))


def measure(root: Path, label: str, name: str, targets: list[str], chain: list[str],
            rounds: int, salt: int = 0) -> dict:
    """Full no-op (once), no-op of one handle and its rebuild (median of `rounds`). Each
    rebuild writes raw contents new to the project's run-cache (`salt` keeps a copy's apart
    from the project it was copied from), so its stages run rather than restore."""
    figures = {}
    out, wall, cpu = timed(root, DVC, "repro")
    if ran(out.stdout):
        sys.exit(f"{label}: a no-op `dvc repro` ran {ran(out.stdout)}")
    figures["full_noop"] = {"wall_s": wall, "cpu_s": cpu, "load": load()}
    print(f"  {label}: full no-op dvc repro {wall:.1f} s wall, {cpu:.1f} s CPU "
          f"(load {load():.1f})", flush=True)
    for kind in ("noop_one", "rebuild_one"):
        runs = []
        for r in range(rounds):
            if kind == "rebuild_one":
                (root / layout.raw_dir(name) / "tweets.json").write_text(raw_text(name, salt + r + 1))
            out, wall, cpu = timed(root, DVC, "repro", "-s", *targets)
            want = [] if kind == "noop_one" else chain
            if ran(out.stdout) != want:
                sys.exit(f"{label}: `dvc repro -s {' '.join(targets)}` ran {ran(out.stdout)}, "
                         f"not {want}")
            runs.append({"wall_s": wall, "cpu_s": cpu, "load": load()})
        figures[kind] = {"wall_s": statistics.median(x["wall_s"] for x in runs),
                         "cpu_s": statistics.median(x["cpu_s"] for x in runs), "runs": runs}
        print(f"  {label}: {kind.replace('_', ' ')} (median of {rounds}) "
              f"{figures[kind]['wall_s']:.2f} s wall, {figures[kind]['cpu_s']:.2f} s CPU "
              f"(load {load():.1f})", flush=True)
    return figures


def build_new(root: Path, names: list[str], how: str, jobs: int) -> dict:
    before, t0 = load(), time.perf_counter()
    cpu = 0.0
    if how == "repro":
        out, _, cpu = timed(root, DVC, "repro")
        count = len(ran(out.stdout))
    else:
        out, _, c1 = timed(root, DVC, "repro", "validate", "sample")
        text, _, c2 = timed_shell(root, xargs(names, jobs))
        last, _, c3 = timed(root, DVC, "repro")
        if ran(last.stdout) != ["gallery-page"]:
            sys.exit(f"after the handles, `dvc repro` ran {ran(last.stdout)}, not gallery-page")
        count = len(ran(out.stdout)) + len(ran(text)) + 1
        cpu = c1 + c2 + c3
    wall = time.perf_counter() - t0
    if count != 3 + len(STAGES) * len(names):
        sys.exit(f"the build ran {count} stages, not {3 + len(STAGES) * len(names)}")
    return {"wall_s": wall, "cpu_s": cpu, "per_handle_s": wall / len(names), "stages": count,
            "load_start": before, "load_end": load()}


def build_old(root: Path) -> dict:
    before = load()
    out, wall, cpu = timed(root, DVC, "repro")
    return {"wall_s": wall, "cpu_s": cpu, "stages": len(ran(out.stdout)), "load_start": before,
            "load_end": load()}


def replicate(built: Path, dest: Path, size: int) -> Path:
    """A project of `size` handles from a built one of fewer: handle uK beyond them is a copy
    of u(K mod built)'s raw folder, outputs and lock file, name for name (the same bytes, so
    the same hashes, which is all DVC checks); then `dvc repro validate sample` stamps the
    new names, and a `dvc repro` must run gallery-page only (its folder gained entries)."""
    clone(built, dest)
    have = [p.parent.name for p in sorted((dest / "handles").glob("*/dvc.yaml"))]
    names = handle_names(size)
    for k, name in enumerate(names[len(have):], start=len(have)):
        template = have[k % len(have)]
        same = re.compile(rf"\b{re.escape(template)}\b")
        pipeline = dest / layout.pipeline_file(name)
        pipeline.parent.mkdir(parents=True)
        pipeline.write_text(pipelines.render(stubbed(pipelines.handle_stages(name)),
                                             f"handles: {name}; bench_repro.py: stub commands"))
        lock = (dest / layout.pipeline_file(template).with_suffix(".lock")).read_text()
        pipeline.with_suffix(".lock").write_text(same.sub(name, lock))
        for folder in ("data/raw", "data/interim", "data/processed", "data/tokenized", "models",
                       "reports"):
            shutil.copytree(dest / folder / template, dest / folder / name, symlinks=True)
        for path in (layout.account(template), layout.bot(template).gallery_entry):
            shutil.copyfile(dest / path, dest / str(path).replace(template, name))
    set_params(dest, handles=names)
    run(dest, DVC, "repro", "validate", "sample")
    out = run(dest, DVC, "repro")
    if ran(out.stdout) != ["gallery-page"]:
        sys.exit(f"{size} handles, replicated: `dvc repro` ran {ran(out.stdout)}, not gallery-page")
    return dest


def bench_scale(scratch: Path, sizes: list[int], old_sizes: list[int], old_build_max: int,
                rounds: int, how: str, jobs: int, build_max: int) -> dict:
    results = {"new": {}, "old": {}}
    source = None  # the largest project built from nothing so far: what larger ones copy
    for size in sizes:
        names = handle_names(size)
        name = names[size // 2]
        t0 = time.perf_counter()
        if size > build_max and source is not None:
            root = replicate(source, scratch / f"new-{size}", size)
            build = {"replicated_from": int(source.name.split("-")[1])}
            print(f"{size} handles: replicated from {build['replicated_from']} built ones in "
                  f"{time.perf_counter() - t0:.0f} s (load {load():.1f})", flush=True)
        else:
            root = scale_project(scratch / f"new-{size}", size)
            print(f"{size} handles: project written in {time.perf_counter() - t0:.0f} s; "
                  f"building ({how}, load {load():.1f})", flush=True)
            build = build_new(root, names, how, jobs)
            print(f"  new layout: built {build['stages']} stages in {build['wall_s']:.0f} s "
                  f"({build['per_handle_s']:.2f} s a handle, {build['cpu_s']:.0f} s CPU; load "
                  f"{build['load_start']:.1f} -> {build['load_end']:.1f})", flush=True)
            if source is not None:
                shutil.rmtree(source, ignore_errors=True)
            source = clone(root, scratch / f"source-{size}")  # before the rebuilds below
        figures = measure(root, "new layout", name, [str(layout.pipeline_file(name))],
                          new_chain(name), rounds)
        results["new"][size] = {"build": build, **figures}
        if size in old_sizes:
            old = scratch / f"old-{size}"
            built = size > old_build_max
            if built:
                clone(root, old)  # the rebuilds above left the page stale: build it first
                run(old, DVC, "repro", "gallery-page")
            else:
                scale_project(old, size)
            to_old_layout(old, names, assemble=built)
            if built:
                out = run(old, DVC, "repro")
                if ran(out.stdout):
                    sys.exit(f"old layout, {size} handles: the assembled dvc.lock reran "
                             f"{ran(out.stdout)}")
                old_build = {"assembled": True}
                print(f"  old layout: dvc.lock assembled from the handles' lock files "
                      f"(a `dvc repro` ran nothing)", flush=True)
            else:
                old_build = build_old(old)
                print(f"  old layout: built {old_build['stages']} stages with one `dvc repro` in "
                      f"{old_build['wall_s']:.0f} s ({old_build['cpu_s']:.0f} s CPU)", flush=True)
            figures = measure(old, "old layout", name, old_chain(name), old_chain(name), rounds,
                              salt=100)
            results["old"][size] = {"build": old_build, **figures}
            shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
    if source is not None:
        shutil.rmtree(source, ignore_errors=True)
    return results


def scale_json(results: dict, sizes: list[int], how: str, jobs: int, rounds: int,
               command: str) -> dict:
    """The figures as reports/benchmarks/*.json holds them: tables for benchmarks/tables.py,
    and every measured run under `raw`."""
    new, old = results["new"], results["old"]
    build = (f"`dvc repro validate sample`, then `xargs -P {jobs} -I{{}} dvc --wait-for-lock "
             "repro -s handles/{}/dvc.yaml` over the handles, then `dvc repro` (gallery-page)"
             if how == "xargs" else "one plain `dvc repro`")

    def s(figure: dict, digits: int = 2) -> str:  # wall seconds, and CPU seconds of dvc
        return f"{figure['wall_s']:.{digits}f} ({figure['cpu_s']:.{digits}f})"

    rows = []
    for size in sizes:
        f, b = new[size], new[size]["build"]
        if "replicated_from" in b:
            built = [f"not built: copies of the {b['replicated_from']:,} built", "-", "-"]
        else:
            built = [s(b, 0), f"{b['per_handle_s']:.2f} ({b['cpu_s'] / size:.2f})",
                     f"{b['load_start']:.1f}-{b['load_end']:.1f}"]
        loads = [x["load"] for k in ("noop_one", "rebuild_one") for x in f[k]["runs"]]
        rows.append([size, 3 + len(STAGES) * size, built[0], built[1], s(f["full_noop"], 1),
                     s(f["noop_one"]), s(f["rebuild_one"]), built[2],
                     f"{min(loads):.1f}-{max(loads):.1f}"])
    old_rows = []
    for size in sorted(old):
        f, n = old[size], new[size]
        built = ("assembled (not built: O(N^2))" if f["build"].get("assembled")
                 else s(f["build"], 0))
        ratio = {k: f"{n[k]['wall_s'] / f[k]['wall_s']:.2f} ({n[k]['cpu_s'] / f[k]['cpu_s']:.2f})"
                 for k in ("full_noop", "noop_one", "rebuild_one")}
        old_rows.append([size, built, s(f["full_noop"], 1), s(f["noop_one"]),
                         s(f["rebuild_one"]), ratio["full_noop"], ratio["noop_one"],
                         ratio["rebuild_one"]])
    return {
        "title": "One handle's cost as the project grows: handles/<h>/dvc.yaml (generated), "
                 "stage commands stubbed",
        "machine": f"{platform.node()}: {os.cpu_count()} CPU cores, no GPU, shared with other "
                   "engineers' jobs (load average in the tables)",
        "date": time.strftime("%Y-%m-%d"),
        "command": command,
        "stubbed": "every stage command: each handle's 7 (ingest ... gallery, the generator's "
                   "deps, outs and wdir as they are; the command hashes the data deps and writes "
                   "the hash into each out, a file per file out, one file in a folder out), "
                   "validate (tweetlm.validate's stamps, no pipeline-file check), sample and "
                   "gallery-page; raw folders made by hand",
        "tables": [
            {"caption": f"New layout (one generated dvc.yaml per handle). Build all: {build}; "
                        f"per handle = build all / handles. No-op one and rebuild one: `dvc repro "
                        f"-s handles/<h>/dvc.yaml` with nothing to do, and after <h>'s raw file "
                        f"changed (its 7 stages run), median of {rounds}; full no-op: `dvc repro`, "
                        "once. Seconds: wall (CPU: user + system of the dvc processes). Load: "
                        "the 1-minute load average of the 2 cores.",
             "columns": ["handles", "stages", "build all", "per handle", "full no-op",
                         "no-op one", "rebuild one", "load during build",
                         "load, one-handle runs"],
             "rows": rows},
            {"caption": "Same run, old layout (one dvc.yaml, `foreach: ${handles}`, the same stub "
                        "commands): one handle as `dvc repro -s ingest@<h> ... gallery@<h>`; "
                        "new/old = the new layout's time over the old's, wall (CPU) (below 1: "
                        "the new is faster). Larger sizes skipped: building them costs O(N^2).",
             "columns": ["handles", "build all (plain dvc repro)", "full no-op", "no-op one",
                         "rebuild one", "new/old full no-op", "new/old no-op one",
                         "new/old rebuild one"],
             "rows": old_rows},
        ],
        "raw": {"build": how, "jobs": jobs, "rounds": rounds, **results},
    }


# ------------------------------------------------------------------ concurrency


def build_concurrency_base(scratch: Path, handles: int) -> tuple[Path, list[str]]:
    root = copy_project(scratch / "validated")
    names = [f"h{i}" for i in range(handles)]
    write_raw(root, names)
    set_params(root, **TINY, handles=names)
    run(root, str(BIN / "tweetlm"), "sync")  # the real generator: the real commands
    run(root, DVC, "repro", "validate")  # the shared upstream, done once before any mode
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-q", "-m", "validated")
    return root, names


def run_serial(root: Path, names: list[str], jobs: int) -> str:
    return run(root, DVC, "repro", "-s", *(str(layout.pipeline_file(h)) for h in names)).stdout


def run_parallel(root: Path, names: list[str], jobs: int) -> str:
    return timed_shell(root, xargs(names, jobs))[0]


MODES = {"serial": run_serial, "parallel": run_parallel}


def timeless(path: Path):
    """What a file that records a run's duration holds, the duration left out: train's
    metrics (train_runtime_s, tokens_per_s), the card that quotes them and the gallery entry."""
    if path.name == "train_metrics.json":
        return {k: v for k, v in json.loads(path.read_text()).items() if k not in TIMING_KEYS}
    if path.parent.as_posix().endswith(layout.GALLERY.as_posix()):
        entry = json.loads(path.read_text())
        entry["train"] = {k: v for k, v in entry["train"].items() if k not in TIMING_KEYS}
        return entry
    return re.sub(r" in [\d.,]+ (s|min|h) on ", " in ? on ", path.read_text())


def lock_entries(root: Path, names: list[str]) -> dict:
    """The handles' lock entries (handles/<h>/dvc.lock), each timed file's hash
    (train_metrics.json, the card, the gallery entry) replaced by its content without the times."""
    found = {}
    for h in names:
        lock = root / layout.pipeline_file(h).with_suffix(".lock")
        stages = yaml.load(lock.read_text(), Loader=yaml.CSafeLoader)["stages"] if lock.is_file() else {}
        timed_files = (str(layout.bot(h).train_metrics), str(layout.bot(h).card),
                       str(layout.bot(h).gallery_entry))
        for stage in STAGES:
            entry = stages.get(stage)
            for item in (entry or {}).get("deps", []) + (entry or {}).get("outs", []):
                if item["path"] in timed_files:
                    item.update(md5=timeless(root / item["path"]), size=None)
            found[layout.stage_id(stage, h)] = entry
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
            out = MODES[mode](root, names, jobs)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            count = len(ran(out))
            files = [str(layout.pipeline_file(h)) for h in names]
            status = json.loads(run(root, DVC, "status", "--json", *files).stdout or "{}")
            entries = lock_entries(root, names)
            if mode == "serial" and reference is None:
                reference = entries
            same = entries == reference if reference is not None else True
            if not same:
                for name in sorted(k for k in entries if entries[k] != reference.get(k)):
                    print(f"    {name} differs:\n      {mode}: {json.dumps(entries[name])}\n"
                          f"      serial: {json.dumps(reference.get(name))}")
            results[mode].append({"wall_s": wall, "load_start": start_load, "load_end": load(),
                                  "cpu_children_s": (after.ru_utime - before.ru_utime)
                                  + (after.ru_stime - before.ru_stime), "stages_run": count,
                                  "status_clean": not status, "same_lock_as_serial": same})
            print(f"  round {r + 1}: {mode:8s} {wall:6.1f} s for {handles} handles, {count} "
                  f"stages (load {start_load:.1f} -> {load():.1f}); dvc status "
                  f"{'clean' if not status else status}; lock entries "
                  f"{'= serial' if same else 'DIFFER from serial'}", flush=True)
            shutil.rmtree(root, ignore_errors=True)
    if reference is None:  # serial never ran first: compare against the first serial's
        sys.exit("no serial build to compare with")
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
    if not all(x["status_clean"] and x["same_lock_as_serial"]
               and x["stages_run"] == handles * len(STAGES)
               for runs in results.values() for x in runs):
        sys.exit("a concurrent build did not end like the serial one (see above)")
    return summary


def concurrency_json(summary: dict, handles: int, jobs: int, rounds: int, command: str) -> dict:
    how = {"serial": f"serial: one `dvc repro -s handles/h0/dvc.yaml ... handles/h{handles - 1}"
                     "/dvc.yaml` (one process, handle after handle)",
           "parallel": f"side by side: `xargs -P {jobs} -I{{}} dvc --wait-for-lock repro -s "
                       "handles/{}/dvc.yaml`"}
    rows = [[how[mode], f"{f['wall_s']:.1f} s", f"{f['handles_per_min']:.1f}",
             f"{f['speedup_vs_serial']:.2f}x",
             f"{statistics.median(x['cpu_children_s'] for x in f['runs']):.0f} s",
             f"{statistics.median(x['cpu_children_s'] / x['wall_s'] for x in f['runs']):.2f}",
             f"{statistics.mean(x['load_start'] for x in f['runs']):.1f}"]
            for mode, f in summary.items()]
    return {
        "title": "Many handles side by side in one workspace (handles/<h>/dvc.yaml)",
        "machine": f"{platform.node()}: {os.cpu_count()} CPU cores, no GPU, shared with other "
                   "engineers' jobs",
        "date": time.strftime("%Y-%m-%d"),
        "command": command,
        "columns": ["how", f"{handles} handles", "handles a minute", "against serial",
                    "CPU (all processes)", "cores used (CPU / wall)", "load average at start"],
        "rows": rows,
        "notes": f"{handles} real handles of 200 synthetic tweets, the tiny model, a few training "
                 f"steps each (nothing stubbed: the commands `tweetlm sync` writes); "
                 f"`dvc repro validate` once before; both ways from the same copy, the order "
                 f"alternating between rounds; median of {rounds}. Every build ran "
                 f"{handles * len(STAGES)} stages and ended with the serial build's lock entries "
                 "(the training's wall time aside) and `dvc status` of the handles' files clean. "
                 "The `dvc queue` way is no longer measured (0.79x serial before, and as long as "
                 "the other two together).",
        "raw": {"handles": handles, "jobs": jobs, "rounds": rounds, **summary},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", choices=("scale", "concurrency", "all"), default="all")
    parser.add_argument("--sizes", default="10,100,300,1000", help="handles per scale project")
    parser.add_argument("--old-sizes", help="sizes also measured in the old layout "
                                            "(default: those up to 100)")
    parser.add_argument("--old-build-max", type=int, default=10,
                        help="build the old layout with `dvc repro` up to this size; above, "
                             "assemble its dvc.lock")
    parser.add_argument("--build", choices=("xargs", "repro"), default="xargs",
                        help="scale: build all with per-handle `dvc repro -s` through xargs -P "
                             "JOBS, or one plain `dvc repro`")
    parser.add_argument("--build-max", type=int, default=100,
                        help="scale: larger projects are not built from nothing but copied from "
                             "the largest built one, handle for handle (see replicate)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="scale: runs of each one-handle figure; concurrency: rounds")
    parser.add_argument("--handles", type=int, default=8, help="handles built (concurrency)")
    parser.add_argument("--jobs", type=int, default=2, help="concurrent builds")
    parser.add_argument("--quick", action="store_true",
                        help="sizes 10,30 (old layout at 10); 2 handles; 1 round")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, help="also write the figures here (one part: "
                                                  "the shape reports/benchmarks/ holds)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.handles, args.rounds = "10,30", 2, 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    old_sizes = (sorted(int(s) for s in args.old_sizes.split(",")) if args.old_sizes
                 else [s for s in sizes if s <= 100])
    sizes = sorted(set(sizes) | set(old_sizes))
    command = "python benchmarks/bench_repro.py " + " ".join(sys.argv[1:])
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load():.1f} at start", flush=True)
    results = {}
    scratch = Path(tempfile.mkdtemp(prefix="tweetlm-bench-repro-"))
    try:
        if args.part in ("scale", "all"):
            print("scale: stage commands STUBBED (each writes its outs from its deps' hash), "
                  "validate stubbed (tweetlm.validate's stamps, no pipeline-file check), raw "
                  "folders made by hand", flush=True)
            found = bench_scale(scratch, sizes, old_sizes, args.old_build_max, args.rounds,
                                args.build, args.jobs, args.build_max)
            results["scale"] = scale_json(found, sizes, args.build, args.jobs, args.rounds,
                                          command)
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from tables import table

            for part in results["scale"]["tables"]:
                print(f"\n{part['caption']}\n")
                print("\n".join(table(part["columns"], part["rows"])))
        if args.part in ("concurrency", "all"):
            summary = bench_concurrency(scratch, args.handles, args.jobs, args.rounds)
            results["concurrency"] = concurrency_json(summary, args.handles, args.jobs,
                                                      args.rounds, command)
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average {load():.1f} at the end (2 cores shared with other work make wall "
          "times noisy; the CPU seconds in the JSON move less)")
    if args.json:
        data = results[args.part] if args.part != "all" else results
        args.json.write_text(json.dumps(data, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
