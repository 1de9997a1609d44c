"""gallery: every bot on one static page, reports/index.html, for sharing without a server.

Two steps, so DVC reruns only what changed: `tweetlm gallery BOT` (a stage per bot) gathers
what the bot's stages wrote -- stats, eval loss, the loss curve, the memorization share, the
base and settings, sample tweets, the picture -- into reports/gallery/<bot>.json, and
`tweetlm gallery-page` renders every entry there into reports/index.html (page.py). The page
holds everything inline (the pictures as data: URIs, the curves as SVG, no script) and its
Content-Security-Policy forbids any fetch, so it opens from disk with no network.
`tweetlm serve` shows the same sections (entry + page.section) next to its prompt box.
"""

from __future__ import annotations

import base64
import csv
from pathlib import Path

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, build_first
from tweetlm.core.outputs import atomic_path, read_json, write_json
from tweetlm.core.params import Params
from tweetlm.gallery.page import page
from tweetlm.shared.identity import SYNTHETIC_HANDLES, avatar_color, initials, name_of

CURVE_POINTS = 200  # a curve on the page needs no more; a long run logs thousands of steps
TRAIN_KEYS = ("eval_loss", "perplexity", "initial_eval_loss", "base", "finetuning", "epochs",
              "steps", "block_size", "batch_size", "learning_rate", "parameters", "device")


def read_curve(path: Path) -> list[list[float]]:
    """dvclive's TSV (step, value) as [[step, value], ...], thinned to CURVE_POINTS."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as f:
        rows = [[float(r[0]), float(r[1])] for r in list(csv.reader(f, delimiter="\t"))[1:] if r]
    step = max(1, -(-len(rows) // CURVE_POINTS))
    return rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else [])


def handle_stats(name: str, handles: list[str], root: Path = Path(".")) -> dict[str, dict]:
    """filter's counts per handle: a handle's stats.json, or a bot's copy of its handles'."""
    stats = read_json(root / layout.stats(name), build_first(name))
    if all(k in stats for k in layout.STATS_KEYS):
        stats = {name: stats}
    return {h: {k: stats.get(h, {}).get(k) for k in layout.STATS_KEYS} for h in handles}


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def entry(name: str, display_names: dict[str, str], root: Path = Path(".")) -> dict:
    """What the page shows of bot `name`, from its stages' outputs under `root`."""
    paths = layout.bot(name)
    predictions = read_json(root / paths.predictions, build_first(name))
    handles = predictions["handles"]
    metrics = read_json(root / paths.train_metrics, build_first(name))
    memo = read_json(root / paths.predict_metrics, build_first(name))
    if not (root / paths.picture).is_file():
        raise TweetlmError(f"{paths.picture}: not found: {build_first(name)}")
    samples = [{"prompt": p["prompt"], "text": text, "copy": check["copy"]}
               for p in predictions["predictions"]
               for text, check in zip(p["generations"], p["checks"])]
    return {
        "bot": name,
        "handles": handles,
        "names": [name_of(h, display_names, root) for h in handles],
        "colors": ["#%02x%02x%02x" % avatar_color(h) for h in handles],
        "initials": [initials(name_of(h, display_names, root)) for h in handles],
        "synthetic": any(h in SYNTHETIC_HANDLES for h in handles),
        "stats": handle_stats(name, handles, root),
        "train": {k: metrics.get(k) for k in TRAIN_KEYS},
        "memorization": {k: memo.get(k) for k in ("copy_share", "copy_share_shown", "samples")},
        "sampling": {k: predictions["sampling"].get(k)
                     for k in ("top_p", "top_k", "temperature", "max_length")},
        "loss": {"train": read_curve(root / paths.train_loss),
                 "eval": read_curve(root / paths.eval_loss)},
        "samples": samples,
        "picture": data_uri(root / paths.picture),
        "card": paths.card.as_posix(),
    }


def write_page(root: Path = Path(".")) -> int:
    """reports/index.html from every entry in reports/gallery/, by bot name; their count."""
    entries = [read_json(p, "") for p in sorted((root / layout.GALLERY).glob("*.json"))]
    with atomic_path(root / layout.GALLERY_PAGE) as tmp:
        tmp.write_text(page(entries, card_prefix="../"), encoding="utf-8")
    return len(entries)


def main(name: str, params: Params) -> None:
    out = layout.bot(name).gallery_entry
    write_json(out, entry(name, params.card.display_names))
    print(f"gallery {name}: {out}")


def page_main() -> None:
    n = write_page()
    print(f"gallery-page: {n} bot{'s' * (n != 1)} -> {layout.GALLERY_PAGE}")
