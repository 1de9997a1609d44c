"""The `validate` stage: params.yaml checked, each stage's params stamped per handle and bot,
the pipeline files in step with params.yaml.

A stage depends on its own stamp, reports/params/<name>/<stage>.json (the params.yaml keys
its code reads, layout.STAGE_PARAMS, with the name's `overrides` applied), never on
params.yaml: so a no-op `dvc repro` parses params.yaml once, and an edit reruns only the
stages, of only the handles and bots, whose values it changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import write_json
from tweetlm.core.params import Params, values_of
from tweetlm.shared import pipelines


def check_raw_folders(params: Params, params_file) -> None:
    """Each handle's raw folder exists (or DVC tracks it, to be pulled): else DVC would stop
    at ingest with its own error. The sample handle's is written by the `sample` stage."""
    for handle in params.handles:
        raw = layout.raw_dir(handle)
        if handle == layout.SAMPLE_HANDLE or raw.is_dir() or layout.raw_dvc_file(handle).is_file():
            continue
        what = "is not a folder" if raw.exists() else "not found"
        raise TweetlmError(f"{params_file}: handles: {handle}: {raw}/ {what}: put the account's "
                           f"tweet files there (README: Bring tweets), or take "
                           f"{handle} out of `handles`")


def check_pipelines(params: Params, params_file) -> None:
    """The generated pipeline files say what params.yaml says (else DVC would run stale ones)."""
    problems = pipelines.problems(params)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise TweetlmError(f"{problems[0]}{more}: the pipeline files do not match "
                           f"{params_file}: run `tweetlm sync`, then commit what it writes")


def stamps(params: Params) -> dict[Path, dict]:
    """Every stamp -> its values: each handle's stages and each bot's."""
    names = [(h, layout.HANDLE_STAGES) for h in params.handles]
    names += [(b, layout.BOT_STAGES) for b in params.bots]
    found = {}
    for name, stages in names:
        own = params.for_name(name)
        for stage in stages:
            found[layout.params_stamp(stage, name)] = values_of(own, layout.STAGE_PARAMS[stage])
    return found


def write_stamps(params: Params) -> None:
    """Each stamp whose values changed; the folder then holds exactly the wanted ones."""
    wanted = stamps(params)
    for path, values in wanted.items():
        if not path.is_file() or json.loads(path.read_text(encoding="utf-8")) != values:
            write_json(path, values)  # only what changed: DVC re-hashes what it finds touched
    # stamps of handles and bots no longer listed: the folder is exactly what params.yaml says
    for path in sorted(layout.PARAMS_STAMPS.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def main(params: Params, params_file) -> None:
    check_raw_folders(params, params_file)
    check_pipelines(params, params_file)
    write_stamps(params)
