"""`tweetlm migrate`: a project built with one dvc.yaml for every handle (stages named
`train@alice`, `bot-train@alice-bob`) moves to one pipeline file per handle and bot, without
running anything again.

The outputs are the same files (same commands, same paths), so instead of rebuilding, DVC
records them under the new files (`dvc commit`), after a check that they are what the old
dvc.lock recorded: a stage whose outputs or inputs changed since (stale: it would have rerun)
stops the migration with one line, and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import load_params
from tweetlm.shared import pipelines

LOCK = Path("dvc.lock")


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_dir() -> Path:
    proc = subprocess.run(["dvc", "cache", "dir"], capture_output=True, text=True)
    return Path(proc.stdout.strip() or ".dvc/cache")


def _matches(path: Path, md5: str, cache: Path) -> bool:
    """Whether the file or folder at `path` is what DVC recorded as `md5` (a folder's record
    is its listing in the cache: `<md5>.dir`, each file's relative path and md5)."""
    if not md5.endswith(".dir"):
        return path.is_file() and _md5(path) == md5
    listing = cache / "files" / "md5" / md5[:2] / md5[2:]
    if not path.is_dir() or not listing.is_file():
        return False
    recorded = {e["relpath"]: e["md5"] for e in json.loads(listing.read_text())}
    found = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
    return recorded.keys() == found.keys() and all(
        _md5(found[rel]) == md5_ for rel, md5_ in recorded.items())


def new_stage(old: str) -> str:
    """`train@alice` -> handles/alice/dvc.yaml:train; `bot-train@ab` -> bots/ab/dvc.yaml:train."""
    stage, name = old.split("@", 1)
    bot = stage.startswith("bot-")
    return layout.stage_id(stage.removeprefix("bot-"), name, bot=bot)


def old_entries() -> dict:
    """The old layout's entries in dvc.lock (stage@name)."""
    if not LOCK.is_file():
        return {}
    stages = (yaml.safe_load(LOCK.read_text(encoding="utf-8")) or {}).get("stages", {})
    return {name: entry for name, entry in stages.items() if "@" in name}


def check(entries: dict, cache: Path) -> None:
    """Each old stage's recorded outputs and the inputs still at the same path match."""
    for name, entry in entries.items():
        for kind in ("outs", "deps"):
            for item in entry.get(kind, []):
                path = Path(item["path"])
                if kind == "deps" and not path.exists():
                    continue  # a stamp or code file the new layout keeps elsewhere
                if "md5" in item and not _matches(path, item["md5"], cache):
                    raise TweetlmError(
                        f"{LOCK}: {name}: {path} is not what was recorded ({kind[:-1]} changed "
                        f"or missing): the stage is stale; build it with `dvc repro` instead "
                        f"(it reruns), or restore it first (`dvc checkout`)")


def main(params_file) -> list[str]:
    entries = old_entries()
    if not entries:
        raise TweetlmError(f"{LOCK}: no stage of the one-file layout (ingest@<handle>, ...): "
                           "nothing to migrate")
    params = load_params(params_file)
    check(entries, _cache_dir())
    done = pipelines.sync(params)
    stages = yaml.safe_load(LOCK.read_text(encoding="utf-8"))
    stages["stages"] = {k: v for k, v in stages["stages"].items() if "@" not in k}
    LOCK.write_text(yaml.safe_dump(stages, sort_keys=False), encoding="utf-8")
    targets = [new_stage(name) for name in entries]
    for args in (["repro", "validate"], ["commit", "--force", *targets]):
        proc = subprocess.run(["dvc", *args], capture_output=True, text=True)
        if proc.returncode:
            last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1]
            raise TweetlmError(f"`dvc {' '.join(args[:2])}`: {last}")
    return done + [f"recorded {len(targets)} built stages under their new files "
                   "(dvc commit): nothing reruns"]
