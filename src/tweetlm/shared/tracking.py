"""Weights & Biases tracking: one run per stage, artifacts for lineage, offline by default.

Offline (the default) needs no account and no network: runs go under wandb/ at the
project root and `wandb sync wandb/offline-run-*` uploads them later. `wandb.mode:
disabled` in params.yaml or WANDB_MODE=disabled turns tracking off (WANDB_MODE, when
set, overrides the param). Tracking never stops a stage: if W&B fails, one warning line
on stderr and the stage goes on untracked.

Lineage, as huggingtweets had it (raw data -> dataset -> model): each stage logs what it
writes with `log_artifact` and declares what it reads with `use_artifact`. wandb refuses
use_artifact in offline runs, so offline each input's name and content digest go into
the run config under `inputs` (the same digest W&B gives the upstream stage's output
artifact); online the input is declared for real and links to that upstream version.

Artifacts are references (file:// URIs with their checksums), never copies: DVC already
stores and shares the files, and copying a 500 MB model into W&B's staging folder on every
run cost seconds and disk for nothing.

    with tracking.stage_run("filter", handle, params, config) as run:   # run or None
        tracking.use_artifact(run, f"interim-{handle}", "dataset", interim_path)
        ...
        tracking.log_summary(run, {"tweets_kept": n})
        tracking.log_artifact(run, f"processed-{handle}", "dataset", out_path)
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tweetlm.core.errors import first_line, warn
from tweetlm.core.params import Params

MODES = ("offline", "online", "disabled")
_ALIASES = {"dryrun": "offline", "run": "online"}  # older WANDB_MODE spellings
_inputs: dict[str, dict[str, str]] = {}  # run id -> {input artifact name: digest}, offline


def mode(params: Params) -> str:
    """The W&B mode to use: WANDB_MODE (or WANDB_DISABLED) if set, else `wandb.mode`."""
    if os.environ.get("WANDB_DISABLED", "").strip().lower() in ("1", "true", "yes"):
        return "disabled"
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    env = _ALIASES.get(env, env)
    return env if env in MODES else params.wandb.mode


@contextmanager
def stage_run(stage: str, name: str, params: Params, config: dict | None = None) -> Iterator[Any]:
    """A W&B run for one stage of one handle/bot (job_type=stage, group=name), or None
    when tracking is disabled or W&B cannot start. The run is finished on exit, marked
    failed if the stage raised."""
    chosen = mode(params)
    if chosen == "disabled":
        yield None
        return
    os.environ.setdefault("WANDB_SILENT", "true")  # no banners or progress lines in DVC logs
    try:
        import wandb

        run = wandb.init(
            project=params.wandb.project, job_type=stage, group=name, name=f"{stage}-{name}",
            tags=[name], config=config or {}, dir=str(Path.cwd()), mode=chosen,
            settings=wandb.Settings(silent=True, console="off", save_code=False,
                                    init_timeout=30),
        )
    except Exception as e:  # noqa: BLE001 - tracking must never stop a stage
        warn(f"W&B tracking is off for this {stage} run: {first_line(e)}")
        yield None
        return
    _inputs[run.id] = {}
    try:
        yield run
    except BaseException:
        _quietly(lambda: run.finish(exit_code=1))
        raise
    else:
        _quietly(run.finish)


def log_artifact(run, name: str, type: str, *paths: Path | str, metadata: dict | None = None):
    """Log files or folders as an output artifact of `run` (referenced, not copied)."""
    if run is None:
        return
    try:
        run.log_artifact(_artifact(name, type, paths, metadata))
    except Exception as e:  # noqa: BLE001
        warn(f"W&B could not log artifact {name}: {first_line(e)}")


def use_artifact(run, name: str, type: str, *paths: Path | str, metadata: dict | None = None):
    """Declare files or folders as an input of `run` (see the module docstring)."""
    if run is None:
        return
    try:
        artifact = _artifact(name, type, paths, metadata)
        if run.offline:
            inputs = _inputs.setdefault(run.id, {})
            inputs[name] = artifact.digest
            run.config.update({"inputs": dict(inputs)}, allow_val_change=True)
        else:
            run.use_artifact(artifact)
    except Exception as e:  # noqa: BLE001
        warn(f"W&B could not record input {name}: {first_line(e)}")


def log(run, metrics: dict, step: int | None = None) -> None:
    """run.log, if there is a run."""
    if run is not None:
        _quietly(lambda: run.log(metrics, step=step))


def log_summary(run, metrics: dict) -> None:
    """Final figures of a stage: they show in the runs table."""
    if run is not None:
        _quietly(lambda: run.summary.update(metrics))


def _artifact(name, type, paths, metadata):
    import wandb

    artifact = wandb.Artifact(name, type=type, metadata=metadata or {})
    for path in map(Path, paths):
        uri = path.resolve().as_uri()
        if path.is_dir():  # its files at the artifact's root
            artifact.add_reference(uri, checksum=True)
        else:
            artifact.add_reference(uri, name=path.name, checksum=True)
    return artifact


def _quietly(fn) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        warn(f"W&B: {first_line(e)}")

