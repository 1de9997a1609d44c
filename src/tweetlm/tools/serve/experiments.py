"""One bot under two experiments: the models `dvc exp run` made, next to the workspace's.

An experiment of the checkout's HEAD (`dvc exp show` lists them) is offered as BOT@EXP when
it holds a model of BOT. Its files are read from DVC's cache at the experiment's commit
(DVCFileSystem) into a private folder laid out like the project, once, on its first
request, so its Bot loads like any other; no request names a file there.
"""

from __future__ import annotations

from pathlib import Path

from tweetlm.core import layout
from tweetlm.core.params import check_name

SEPARATOR = "@"  # BOT@EXP: no bot or experiment name has one (check_name)


def split(name: str) -> tuple[str, str | None]:
    """'sample@hot' -> ('sample', 'hot'), 'sample' -> ('sample', None); both parts checked
    as path-safe names."""
    bot, _, exp = str(name).partition(SEPARATOR)
    check_name(bot, "bot")
    if exp:
        check_name(exp, "experiment")
    return bot, exp or None


def experiments(root: Path) -> dict[str, str]:
    """{experiment name: its commit} for the checkout's HEAD; {} outside a git+DVC project."""
    try:
        from dvc.repo import Repo

        with Repo(str(root)) as repo:
            listed = repo.experiments.ls()
    except Exception:  # noqa: BLE001 -- no git, no DVC, no commit: no experiments to show
        return {}
    found = {}
    for runs in listed.values():
        for name, rev in runs:
            try:
                found[check_name(name, "experiment")] = rev
            except Exception:  # noqa: BLE001 -- a name that is no path part is not offered
                continue
    return found


def _fs(root: Path, rev: str):
    from dvc.api import DVCFileSystem

    return DVCFileSystem(str(root), rev=rev)


def _weights(fs, bot: str) -> str | None:
    """The hash DVC records for the bot's model.safetensors at fs's commit; None if none."""
    path = (layout.bot(bot).model / "model.safetensors").as_posix()
    return fs.info(path).get("md5") if fs.exists(path) else None


def with_model(root: Path, bots: list[str], runs: dict[str, str]) -> list[str]:
    """BOT@EXP for every experiment in `runs` that trained a model of a bot in `bots` other
    than the one committed at HEAD (an experiment that left a bot alone does not list it)."""
    try:
        head = {b: _weights(_fs(root, "HEAD"), b) for b in bots}
    except Exception:  # noqa: BLE001 -- nothing committed: every model is new
        head = dict.fromkeys(bots)
    found = []
    for exp, rev in runs.items():
        try:
            fs = _fs(root, rev)
            found += [f"{b}{SEPARATOR}{exp}" for b in bots
                      if (w := _weights(fs, b)) is not None and w != head[b]]
        except Exception:  # noqa: BLE001 -- an experiment DVC cannot read is not offered
            continue
    return found


def fetch(root: Path, rev: str, bot: str, dest: Path) -> Path:
    """The files a Bot reads, at commit `rev`, under `dest` (returned) at their layout paths."""
    fs = _fs(root, rev)
    paths = layout.bot(bot)
    for path in (*paths.model_files, paths.generation_config, paths.predictions,
                 paths.train_metrics, paths.train_tweets):
        if fs.exists(path.as_posix()):
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(path.as_posix(), str(dest / path))
    return dest
