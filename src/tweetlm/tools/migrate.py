"""`tweetlm migrate`: a project built with one dvc.yaml for every handle (stages named
`train@alice`, `bot-train@alice-bob`) moves to one pipeline file per handle and bot, without
running anything again.

The outputs are the same files (same commands, same paths), so instead of rebuilding, DVC
records them under the new files (`dvc commit`), after a check that they are what the old
dvc.lock recorded: a stage whose outputs or inputs changed since (stale: it would have rerun)
stops the migration with one line, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import load_params
from tweetlm.shared import pipelines
from tweetlm.tools.handles import run_dvc

LOCK = Path("dvc.lock")


class Hasher:
    """DVC's own hash of a file or folder (its .dvcignore applied), as dvc.lock records it."""

    def __init__(self):
        from dvc.repo import Repo

        self.repo = Repo(".")

    def matches(self, path: Path, md5: str) -> bool:
        from dvc_data.hashfile.build import build

        if not path.exists():
            return False
        _, _, obj = build(self.repo.cache.local, str(path.resolve()), self.repo.fs, "md5",
                          ignore=self.repo.dvcignore, dry_run=True)
        return obj.hash_info.value == md5


def new_stage(old: str) -> str:
    """`train@alice` -> handles/alice/dvc.yaml:train; `bot-train@ab` -> bots/ab/dvc.yaml:train."""
    stage, name = old.split("@", 1)
    bot = stage.startswith("bot-")
    return layout.stage_id(stage.removeprefix("bot-"), name, bot=bot)


def old_entries(lock: dict) -> dict:
    """The old layout's entries in dvc.lock's data (stage@name)."""
    return {name: entry for name, entry in lock.get("stages", {}).items() if "@" in name}


def check(entries: dict, hasher: Hasher) -> None:
    """Each old stage's recorded outputs and the inputs still at the same path match."""
    for name, entry in entries.items():
        for kind in ("outs", "deps"):
            for item in entry.get(kind, []):
                path = Path(item["path"])
                if kind == "deps" and not path.exists():
                    continue  # a stamp or code file the new layout keeps elsewhere
                if "md5" in item and not hasher.matches(path, item["md5"]):
                    raise TweetlmError(
                        f"{LOCK}: {name}: {path} is not what was recorded ({kind[:-1]} changed "
                        f"or missing): the stage is stale; build it with `dvc repro` instead "
                        f"(it reruns), or restore it first (`dvc checkout`)")


def main(params_file) -> list[str]:
    lock = (yaml.safe_load(LOCK.read_text(encoding="utf-8")) or {}) if LOCK.is_file() else {}
    entries = old_entries(lock)
    if not entries:
        raise TweetlmError(f"{LOCK}: no stage of the one-file layout (ingest@<handle>, ...): "
                           "nothing to migrate")
    params = load_params(params_file)
    check(entries, Hasher())
    done = pipelines.sync(params)
    lock["stages"] = {k: v for k, v in lock["stages"].items() if k not in entries}
    LOCK.write_text(yaml.safe_dump(lock, sort_keys=False), encoding="utf-8")
    targets = [new_stage(name) for name in entries]
    run_dvc("repro", "validate")
    run_dvc("commit", "--force", *targets)
    recorded = (f"recorded {len(targets)} built stages under their new files (dvc commit): "
                "nothing reruns")
    return [*done, recorded]
