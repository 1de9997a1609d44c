"""compare: experiments side by side, in a terminal's width.

`dvc exp show` lists every param, metric and dependency hash: 227 columns for two handles
and a bot. This reads its `--json` and keeps what people compare: one row per experiment and
bot with the tweets kept, the eval loss, the perplexity and the share of samples that copy a
training tweet, and per experiment the params that differ between the rows shown (DVC's
`--only-changed`, as `key=value`). Not a pipeline stage: it reads DVC's records, writes
nothing but stdout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, first_line

HEADERS = ("experiment", "bot", "kept", "eval loss", "perplexity", "copy share", "changed params")


@dataclass
class Experiment:
    name: str
    params: dict[str, str]  # params.yaml, flattened to dotted keys
    metrics: dict[str, dict]  # metrics file -> its values
    bots: list[str] = field(default_factory=list)


def experiments(show: list[dict]) -> list[Experiment]:
    """The rows of `dvc exp show --json` that hold results: the workspace, each commit, each
    of its experiments (`name [rev]`); queued and failed runs have none."""
    found = []
    for commit in show:
        entries = [(commit.get("name") or commit["rev"][:7 if commit["rev"] != "workspace"
                                                       else None], commit)]
        for exp in commit.get("experiments") or []:
            for rev in exp.get("revs") or []:
                entries.append((f"{exp.get('name') or rev['rev'][:7]} [{rev['rev'][:7]}]", rev))
        for name, entry in entries:
            data = entry.get("data")
            if entry.get("error") or not data:
                continue
            params = data.get("params", {}).get(str(layout.PARAMS_FILE), {}).get("data", {})
            metrics = {path: entry.get("data") or {}
                       for path, entry in data.get("metrics", {}).items()}
            bots = sorted({Path(p).parts[1] for p in metrics if len(Path(p).parts) == 3
                           and Path(p) == layout.bot(Path(p).parts[1]).train_metrics})
            found.append(Experiment(name, flatten(params), metrics, bots))
    return found


def flatten(node, prefix: str = "") -> dict[str, str]:
    """{dotted key: value as params.yaml would show it} of nested params."""
    if isinstance(node, dict) and node:
        out = {}
        for key, value in node.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: json.dumps(node, ensure_ascii=False) if not isinstance(node, str)
            else node}


def changed(rows: list[Experiment]) -> list[str]:
    """The params whose values differ between the experiments shown, in params.yaml order."""
    keys = list(dict.fromkeys(k for row in rows for k in row.params))
    return [k for k in keys if len({row.params.get(k) for row in rows}) > 1]


def cells(exp: Experiment, bot: str) -> list[str]:
    paths = layout.bot(bot)
    stats = exp.metrics.get(str(paths.stats), {})
    # a bot of several handles: its stats.json holds each handle's counts
    kept = stats.get("kept") if "kept" in stats else sum(
        s.get("kept", 0) for s in stats.values() if isinstance(s, dict)) if stats else None
    train = exp.metrics.get(str(paths.train_metrics), {})
    copies = exp.metrics.get(str(paths.predict_metrics), {}).get("copy_share")
    return [_number(kept, "{:,}"), _number(train.get("eval_loss"), "{:.4f}"),
            _number(train.get("perplexity"), "{:.2f}"), _number(copies, "{:.0%}")]


def _number(value, form: str) -> str:
    return "-" if value is None else form.format(value)


def render(show: list[dict], width: int = 120) -> str:
    """The table, each line at most `width` characters (the params column is cut to fit)."""
    rows = experiments(show)
    keys = changed(rows)
    table = []
    for exp in rows:
        params = " ".join(f"{k}={exp.params.get(k, '-')}" for k in keys)
        for i, bot in enumerate(exp.bots or ["-"]):
            table.append([exp.name if i == 0 else "", bot, *cells(exp, bot),
                          params if i == 0 else ""])
    widths = [max(len(r[c]) for r in [list(HEADERS), *table]) for c in range(len(HEADERS) - 1)]
    right = {2, 3, 4, 5}  # numbers

    def line(row: list[str]) -> str:
        text = "  ".join(cell.rjust(w) if c in right else cell.ljust(w)
                         for c, (cell, w) in enumerate(zip(row, widths)))
        text = f"{text}  {row[-1]}".rstrip()
        return text if len(text) <= width else text[:width - 1] + "…"

    return "\n".join(line(row) for row in [list(HEADERS), *table])


def dvc_exp_show(args: list[str]) -> list[dict]:
    """`dvc exp show --json ARGS` (the dvc next to this Python first, then PATH's)."""
    here = Path(sys.executable).parent / "dvc"
    dvc = str(here) if here.is_file() else shutil.which("dvc")
    if dvc is None:
        raise TweetlmError("dvc not found: run `make` (it installs dvc in .venv) and "
                           "`source .venv/bin/activate`")
    proc = subprocess.run([dvc, "exp", "show", "--json", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TweetlmError(f"dvc exp show: {first_line(proc.stderr or proc.stdout)}")
    return json.loads(proc.stdout)


def main(width: int | None, args: list[str]) -> None:
    width = width or shutil.get_terminal_size((120, 24)).columns
    print(render(dvc_exp_show(args), width))
