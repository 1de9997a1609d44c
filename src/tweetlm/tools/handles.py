"""`tweetlm add`, `tweetlm remove`, `tweetlm sync`: a handle in and out of the project.

`add` puts the tweet files under data/raw/<handle>/, versions them (`dvc add`), lists the
handle in params.yaml (comments kept) and writes its pipeline file; `remove` undoes the last
two and stops versioning the raw folder; `sync` writes the pipeline files params.yaml asks for.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params, check_name, load_params
from tweetlm.shared import pipelines


def _edit_params(params_file, edit) -> Params:
    """Apply `edit` to params.yaml as YAML that keeps its comments; the result replaces the
    file only if it validates. Returns it, validated."""
    from ruamel.yaml import YAML

    path = Path(params_file)
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 100
    data = rt.load(path.read_text(encoding="utf-8"))
    edit(data)
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8") as f:
            rt.dump(data, f)
        try:
            return load_params(tmp)
        except TweetlmError as e:
            raise TweetlmError(str(e).replace(str(tmp), str(path), 1)) from None


def run_dvc(*args: str) -> None:
    """A dvc command; its last line of output, when it fails, as one TweetlmError."""
    proc = subprocess.run(["dvc", *args], check=False, capture_output=True, text=True)
    if proc.returncode:
        last = (proc.stderr.strip() or proc.stdout.strip() or "failed").splitlines()[-1]
        raise TweetlmError(f"`dvc {' '.join(args[:2])}`: {last}")


def _copy_in(sources: list[Path], raw: Path) -> int:
    """Copy tweet files (an archive .zip as is, or a folder's files) into `raw`."""
    copied = 0
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, raw, dirs_exist_ok=True, symlinks=False)
            copied += sum(1 for p in source.rglob("*") if p.is_file())
        elif source.is_file():
            raw.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, raw / source.name)
            copied += 1
        else:
            raise TweetlmError(f"{source}: not found: give the archive .zip, a tweet file or a "
                               "folder of them")
    return copied


def add(handle: str, sources: list[str], params_file, version: bool = True) -> list[str]:
    check_name(handle)
    params = load_params(params_file)
    if handle in params.handles or handle in params.bots:
        raise TweetlmError(f"{params_file}: {handle} is already listed: put more files in "
                           f"{layout.raw_dir(handle)}/, then `dvc add {layout.raw_dir(handle)}`")
    raw = layout.raw_dir(handle)
    copied = _copy_in([Path(s).expanduser() for s in sources], raw) if sources else 0
    if not raw.is_dir() or not any(p.is_file() for p in raw.rglob("*")):
        raise TweetlmError(f"{raw}/ has no files: give the tweet files to copy there "
                           f"(`tweetlm add {handle} ~/Downloads/twitter.zip`)")
    if version:
        run_dvc("add", str(raw))
    params = _edit_params(params_file, lambda data: data["handles"].append(handle))
    done = [f"copied {copied} file(s) into {raw}/"] if copied else []
    if version:
        done.append(f"versioned {raw}/ ({layout.raw_dvc_file(handle)})")
    return done + [f"listed {handle} under `handles` in {params_file}"] + pipelines.sync(params)


def remove(handle: str, params_file, version: bool = True) -> list[str]:
    params = load_params(params_file)
    if handle not in params.handles:
        raise TweetlmError(f"{params_file}: {handle!r} is not listed under `handles`")
    bots = [b for b, members in params.bots.items() if handle in members]
    if bots:
        raise TweetlmError(f"{params_file}: bots.{bots[0]} is trained on {handle}: take it out "
                           "of that bot first")
    if len(params.handles) == 1:
        raise TweetlmError(f"{params_file}: {handle} is the only handle: add another first")

    def edit(data) -> None:
        data["handles"].remove(handle)
        if data.get("overrides") and handle in data["overrides"]:
            del data["overrides"][handle]

    params = _edit_params(params_file, edit)
    done = [f"took {handle} out of {params_file}"]
    record = layout.raw_dvc_file(handle)
    if version and record.is_file():
        run_dvc("remove", str(record))
        done.append(f"removed {record} ({layout.raw_dir(handle)}/ is left on disk)")
    return done + pipelines.sync(params)


def sync(params_file) -> list[str]:
    return pipelines.sync(load_params(params_file)) or ["the pipeline files are up to date"]
