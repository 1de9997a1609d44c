"""The bot's model card, models/BOT/README.md, in the form huggingtweets published on the Hub.

The Jinja2 template card_template.md is rendered through huggingface_hub's ModelCard, whose
YAML front matter (ModelCardData) is what the Hub reads. The card copies predictions.png
next to the weights so the model folder is complete as it is: `hf upload USER/BOT models/BOT`.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import struct
from pathlib import Path

from tweetlm import tracking
from tweetlm.core.errors import TweetlmError
from tweetlm.identity import SYNTHETIC_HANDLES, avatar_color, display_name, initials
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params

TEMPLATE = Path(__file__).with_name("template.md")
# stats.json key (filter.STATS_KEYS) -> the row huggingtweets' cards show, in their order
STATS_ROWS = {
    "downloaded": "Tweets downloaded",
    "retweets": "Retweets",
    "short": "Short tweets",
    "kept": "Tweets kept",
}
# Old short hub ids of the GPT-2 family -> the ids the Hub lists them under now
HUB_IDS = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
}
GPT2_FAMILY = set(HUB_IDS) | set(HUB_IDS.values())


def markdown_text(text: str) -> str:
    """Generated text made inert in Markdown/HTML: one line without control characters,
    every ASCII punctuation character backslash-escaped."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return "".join("\\" + c if c.isascii() and not c.isalnum() and c != " " else c for c in line)


def describe_base(base: str) -> dict:
    """What `model.base` means for the card: tiny (from scratch), a hub model, or a local one."""
    if base == "tiny":
        return {"kind": "tiny", "name": "tiny", "hub_id": None}
    if Path(base).exists():
        return {"kind": "local", "name": base, "hub_id": None}
    hub_id = HUB_IDS.get(base, base)
    return {"kind": "gpt2" if base in GPT2_FAMILY else "hub", "name": base, "hub_id": hub_id}


def render_card(bot: str, sources: list[tuple[str, dict]], metrics: dict, predictions: dict,
                weights: dict, params: Params, template: Path = TEMPLATE):
    """The ModelCard for `bot`, trained on `sources`: one (handle, stats.json) per handle,
    so a bot made of several handles gets one stats column each.

    `metrics` is train_metrics.json, `predictions` predictions.json, `weights` what
    `describe_weights` read from the model folder.
    """
    from huggingface_hub import ModelCard, ModelCardData

    c = params.card
    handles = [
        {
            "handle": handle,
            "name": display_name(handle, params),
            "initials": initials(display_name(handle, params)),
            "color": "#%02x%02x%02x" % avatar_color(handle),
            "synthetic": handle in SYNTHETIC_HANDLES,
            "stats": stats,
        }
        for handle, stats in sources
    ]
    base = describe_base(params.model.base)
    prompts = [p["prompt"] for p in predictions["predictions"]]
    namespace = c.hub_namespace or "<user>"
    thumbnail = (f"https://huggingface.co/{c.hub_namespace}/{bot}/resolve/main/predictions.png"
                 if c.hub_namespace else "predictions.png")
    data = ModelCardData(
        language=c.language,
        library_name="transformers",
        pipeline_tag="text-generation",
        base_model=base["hub_id"],
        tags=["huggingtweets", "tweetlm", "text-generation"],
        thumbnail=thumbnail,
        widget=[{"text": prompts[0]}],
    )
    t = params.train
    hyperparameters = [
        ("Epochs", f"{t.epochs:g}"),
        ("Learning rate", f"{t.learning_rate:g}, {t.lr_scheduler} schedule, "
                          f"{t.warmup_steps} warmup steps"),
        ("Weight decay", f"{t.weight_decay:g}"),
        ("Batch size", f"{t.batch_size} blocks x {t.grad_accum} accumulation steps = "
                       f"{t.batch_size * t.grad_accum} blocks of {t.block_size} tokens"),
        ("Seed", f"{t.seed}"),
    ]
    rendered = ModelCard.from_template(
        data,
        template_path=str(template),
        bot=bot,
        handles=handles,
        cyborg=len(handles) > 1,
        synthetic=[h for h in handles if h["synthetic"]],
        stats_rows=[(label, [h["stats"][key] for h in handles])
                    for key, label in STATS_ROWS.items()],
        tweets_kept=sum(h["stats"]["kept"] for h in handles),
        min_words=params.filter.min_words,
        base=base,
        weights=weights,
        hyperparameters=hyperparameters,
        metric_table=metric_rows(metrics),
        run=metrics,
        val_percent=f"{params.tokenize.val_fraction * 100:g}",
        sampling=predictions["sampling"],
        examples=[(p["prompt"], markdown_text(p["generations"][0]))
                  for p in predictions["predictions"] if p["generations"]],
        hub_id=f"{namespace}/{bot}",
        card_stage="bot-card" if bot in params.bots else "card",  # dvc.yaml's name for it
        first_prompt=json.dumps(prompts[0], ensure_ascii=False),  # a Python string literal
        block_size=t.block_size,
        tweets_of=(f"@{sources[0][0]}'s tweets" if len(sources) == 1 else
                   "tweets from " + " and ".join(
                       [", ".join(f"@{h}" for h, _ in sources[:-1]), f"@{sources[-1][0]}"])),
        wandb={"mode": tracking.mode(params), "project": params.wandb.project},
        author=c.author,
    )
    return ModelCard(str(rendered).rstrip("\n") + "\n")  # Jinja drops the final newline


def metric_rows(metrics: dict) -> list[tuple[str, str]]:
    """The card's metrics table from train_metrics.json (null: not measured)."""
    def number(key: str, digits: int) -> str | None:
        value = metrics.get(key)
        return None if value is None else f"{value:.{digits}f}"

    measured = metrics.get("eval_loss") is not None
    rows = [("Eval loss (cross-entropy, nats per token)", number("eval_loss", 4) or "not measured"),
            ("Perplexity", number("perplexity", 2) or ("overflow" if measured else "not measured"))]
    if number("initial_eval_loss", 4):
        rows.insert(0, ("Eval loss before training", number("initial_eval_loss", 4)))
    if number("train_loss", 4):
        rows.append(("Train loss (mean over all steps)", number("train_loss", 4)))
    return rows


def describe_weights(model_dir: Path, stage: str = "train") -> dict:
    """Architecture (config.json), parameter count and sha256 (model.safetensors) of a model."""
    config = read_json(model_dir / "config.json")
    path = model_dir / "model.safetensors"
    try:
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))  # safetensors: u64 header length, JSON
            header = json.loads(f.read(size))
            f.seek(0)
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        raise TweetlmError(f"{path}: not found: run `dvc repro {stage}@{model_dir.name}` first")
    except (struct.error, ValueError):
        raise TweetlmError(f"{path}: not a safetensors file: rerun train")
    shapes = [v["shape"] for k, v in header.items() if k != "__metadata__"]
    return {
        "parameters": sum(math.prod(s) for s in shapes),
        "sha256": sha256,
        "n_layer": config.get("n_layer"),
        "n_head": config.get("n_head"),
        "n_embd": config.get("n_embd"),
        "n_positions": config.get("n_positions"),
        "vocab_size": config.get("vocab_size"),
    }


def read_json(path: Path, need: tuple[str, ...] = (), stage: str = "train") -> dict:
    """A JSON object from `path` with the `need` keys, else a one-line TweetlmError."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TweetlmError(f"{path}: not found: run the {stage} stage first "
                           f"(dvc repro {stage}@{path.parent.name})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise TweetlmError(f"{path}: not valid JSON ({e}): rerun the {stage} stage") from None
    if not isinstance(obj, dict):
        raise TweetlmError(f"{path}: expected a JSON object: rerun the {stage} stage")
    for key in need:
        if key not in obj:
            raise TweetlmError(f"{path}: missing key {key!r}: rerun the {stage} stage")
    return obj


def read_stats(path: Path) -> dict:
    stats = read_json(path, tuple(STATS_ROWS), stage="filter")
    for key in STATS_ROWS:
        if not isinstance(stats[key], int) or isinstance(stats[key], bool) or stats[key] < 0:
            raise TweetlmError(f"{path}: {key}: expected a count, got {stats[key]!r}: "
                               "rerun the filter stage")
    return stats


def read_bot_stats(path: Path, handles: list[str]) -> list[tuple[str, dict]]:
    """A bot's reports/<bot>/stats.json (tokenize's copy of each handle's filter counts,
    plus its balancing) -> (handle, stats) per handle, in the bot's order."""
    per_handle = read_json(path, tuple(handles), stage="bot-tokenize")
    for handle in handles:
        stats = per_handle[handle]
        if not isinstance(stats, dict) or not all(
                type(stats.get(key)) is int and stats[key] >= 0 for key in STATS_ROWS):
            raise TweetlmError(f"{path}: {handle}: expected the counts {', '.join(STATS_ROWS)}: "
                               "rerun the bot-tokenize stage")
    return [(h, per_handle[h]) for h in handles]


def main(name: str, params: Params) -> None:
    reports, model_dir = Path("reports"), Path("models") / name
    if name in params.bots:  # its stages are bot-tokenize@NAME..., its counts in its own file
        prefix = "bot-"
        sources = read_bot_stats(reports / name / "stats.json", params.bot_handles(name))
    else:
        prefix = ""
        sources = [(name, read_stats(reports / name / "stats.json"))]
    path = reports / name / "train_metrics.json"
    metrics = read_json(path, ("eval_loss", "perplexity"), stage=f"{prefix}train")
    for key in ("initial_eval_loss", "eval_loss", "perplexity", "train_loss"):
        value = metrics.get(key)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            raise TweetlmError(f"{path}: {key}: expected a number or null, got {value!r}: "
                               "rerun the train stage")
    predictions = read_json(reports / name / "predictions.json", ("predictions", "sampling"),
                            stage=f"{prefix}predict")
    picture = reports / name / "predictions.png"
    if not picture.is_file():
        raise TweetlmError(f"{picture}: not found: run the predict stage first "
                           f"(dvc repro {prefix}predict@{name})")
    weights = describe_weights(model_dir, f"{prefix}train")
    card = render_card(name, sources, metrics, predictions, weights, params)
    with atomic_path(model_dir / "predictions.png") as tmp:
        shutil.copyfile(picture, tmp)
    with atomic_path(model_dir / "README.md") as tmp:
        card.save(tmp)
    print(f"card {name}: {model_dir / 'README.md'}")
