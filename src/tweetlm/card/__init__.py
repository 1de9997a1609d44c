"""card: the bot's model card, models/BOT/README.md, as huggingtweets published on the Hub.

The Jinja2 template template.md is rendered through huggingface_hub's ModelCard, whose
YAML front matter (ModelCardData) is what the Hub reads. The card copies predictions.png
next to the weights so the model folder is complete as it is: `hf upload USER/BOT models/BOT`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

from safetensors import safe_open

from tweetlm.shared import pretrained, tracking
from tweetlm.core import layout, outputs
from tweetlm.core.errors import TweetlmError, not_built, rerun, run_first
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params, TrainParams
from tweetlm.shared.identity import SYNTHETIC_HANDLES, avatar, avatar_color, display_name, initials

TEMPLATE = Path(__file__).with_name("template.md")
# stats.json key -> the row huggingtweets' cards show, in their order
STATS_ROWS = dict(zip(layout.STATS_KEYS,
                      ("Tweets downloaded", "Retweets", "Short tweets", "Tweets kept")))
# The GPT-2 family's licenses on the Hub, for caches fetched before tweetlm kept a base's README.md (where
# train reads any other base's `license`)
GPT2_LICENSES = {**{h: "mit" for h in pretrained.GPT2_FAMILY}, "distilgpt2": "apache-2.0",
                 "distilbert/distilgpt2": "apache-2.0"}


# Characters that can open Markdown or HTML anywhere in a line; `_` only at a word's edge
# (CommonMark never emphasises inside a word: @some_user stays as written)
_MARKUP = re.compile(r"[\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=[#A-Za-z0-9])")
# ...and what opens a block at the start of the line: heading, list, quote, rule
_LINE_START = re.compile(r"^(?:[#+=>-]|\d+(?=[.)]))")


def markdown_text(text: str) -> str:
    """Generated text made inert in Markdown/HTML, as one line without control characters:
    only what could become markup is backslash-escaped, so `I'll` and `you: &` read as written."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    line = _MARKUP.sub(lambda markup: "\\" + markup.group(), line)
    start = _LINE_START.match(line)
    if start and start.group().isdigit():  # `1. ` would be a list: escape its `.` or `)`
        return line[:start.end()] + "\\" + line[start.end():]
    return "\\" + line if start else line


def card_language(setting: str, sources: list[tuple[str, dict]]) -> str | list[str] | None:
    """The card's `language`: card.language, or with `auto` the languages of the tweets the
    bot learned from (filter's `languages` in each stats.json), each that holds at least a
    tenth of them, most first; None when the tweets name none (v2 saved without `lang`)."""
    if setting != "auto":
        return setting or None
    counts: dict[str, int] = {}
    for _, stats in sources:
        for code, n in stats.get("languages", {}).items():
            counts[code] = counts.get(code, 0) + n
    total = sum(counts.values())
    chosen = [code for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
              if n * 10 >= total]
    return chosen[0] if len(chosen) == 1 else chosen or None


def describe_base(meta: dict) -> dict:
    """What `model.base` was for the card, as tokenize recorded it in meta.json (from
    pretrained.resolve): tiny (from scratch), a hub model (gpt2: the GPT-2 family), or a local
    one, named by its folder (the path is this machine's)."""
    name = pretrained.shown_name(meta["base"]) if meta["base_kind"] == "local" else meta["base"]
    return {"kind": meta["base_kind"], "name": name, "hub_id": meta["base_hub_id"]}


def render_card(bot: str, sources: list[tuple[str, dict]], metrics: dict, predictions: dict,
                weights: dict, params: Params, tokenized: dict, template: Path = TEMPLATE):
    """The ModelCard for `bot`, trained on `sources`: one (handle, stats.json) per handle,
    so a bot made of several handles gets one stats column each.

    `metrics` is train_metrics.json, `predictions` predictions.json, `weights` what
    `describe_weights` read from the model folder, `tokenized` tokenize's meta.json.
    """
    from huggingface_hub import ModelCard

    handles = handle_rows(sources, params)
    base = describe_base(tokenized)
    prompts = [p["prompt"] for p in predictions["predictions"]]
    block_size = metrics.get("block_size", params.train.block_size)  # resolved by train (auto)
    rendered = ModelCard.from_template(
        card_data(bot, sources, metrics, prompts, params, base["kind"], base["hub_id"]),
        template_path=str(template),
        bot=bot,
        handles=handles,
        cyborg=len(handles) > 1,
        synthetic=[h for h in handles if h["synthetic"]],
        real=[h for h in handles if not h["synthetic"]],
        stats_rows=[(label, [h["stats"][key] for h in handles])
                    for key, label in STATS_ROWS.items()],
        tweets_kept=sum(layout.FilterCounts.of(h["stats"]).kept for h in handles),
        min_words=params.filter.min_words,
        base=base,
        weights=weights,
        hyperparameters=hyperparameters(params.train, metrics, base["kind"], block_size),
        metric_table=metric_rows(metrics),
        run=metrics,
        val_percent=f"{params.tokenize.val_fraction * 100:g}",
        sampling=predictions["sampling"],
        examples=[(p["prompt"], markdown_text(p["generations"][0]))
                  for p in predictions["predictions"] if p["generations"]],
        hub_id=f"{params.card.hub_namespace or '<user>'}/{bot}",
        card_stage=layout.stage_id("card", bot, bot in params.bots),  # DVC's name for it
        first_prompt=json.dumps(prompts[0], ensure_ascii=False),  # a Python string literal
        block_size=block_size,
        lora=metrics.get("finetuning") == "lora",
        memorization=predictions.get("memorization"),
        tweets_of=tweets_of([handle for handle, _ in sources]),
        wandb={"mode": tracking.mode(params), "project": params.wandb.project},
        author=params.card.author,
        oversampling=tokenized["oversampling"],  # tokenize's warnings, as it gave them
    )
    return ModelCard(str(rendered).rstrip("\n") + "\n")  # Jinja drops the final newline


def handle_rows(sources: list[tuple[str, dict]], params: Params) -> list[dict]:
    """Each handle as the card shows it: name, avatar (or initials on a colour), its counts."""
    return [
        {
            "handle": handle,
            "name": display_name(handle, params),
            "initials": initials(display_name(handle, params)),
            "color": "#%02x%02x%02x" % avatar_color(handle),
            "avatar": avatar(handle),  # a PNG data URI from the archive, or None
            "synthetic": handle in SYNTHETIC_HANDLES,
            "stats": stats,
        }
        for handle, stats in sources
    ]


def card_data(bot: str, sources: list[tuple[str, dict]], metrics: dict, prompts: list[str],
              params: Params, base_kind: str, base_hub_id: str | None):
    """The card's YAML front matter (ModelCardData): what the Hub reads."""
    from huggingface_hub import ModelCardData

    hub_namespace = params.card.hub_namespace
    lora = metrics.get("finetuning") == "lora"
    known_license = metrics.get("base_license") or GPT2_LICENSES.get(params.model.base)
    return ModelCardData(
        language=card_language(params.card.language, sources),
        license=known_license if base_kind != "tiny" else None,  # tiny: nobody's to say
        library_name="transformers",
        pipeline_tag="text-generation",
        base_model=base_hub_id,
        tags=["huggingtweets", "tweetlm", "text-generation", *(["lora", "peft"] if lora else [])],
        thumbnail=(f"https://huggingface.co/{hub_namespace}/{bot}/resolve/main/predictions.png"
                   if hub_namespace else "predictions.png"),
        widget=[{"text": prompt} for prompt in prompts],
    )


def hyperparameters(recipe: TrainParams, metrics: dict, base_kind: str,
                    block_size: int) -> list[tuple[str, str]]:
    """The card's training table: train's params, as this run used them."""
    return [
        ("Fine-tuning", finetuning(metrics, base_kind)),
        ("Epochs", f"{recipe.epochs:g}, each packing the tweets afresh in a new order"),
        ("Block size", f"{block_size} tokens" + (" (train.block_size: auto)"
                                                  if recipe.block_size == "auto" else "")),
        ("Learning rate", f"{recipe.learning_rate:g}, {recipe.lr_scheduler} schedule, "
                          f"{recipe.warmup_steps} warmup steps"),
        ("Weight decay", f"{recipe.weight_decay:g}"),
        ("Batch size", f"{recipe.batch_size} blocks x {recipe.grad_accum} accumulation steps = "
                       f"{recipe.batch_size * recipe.grad_accum} blocks of {block_size} tokens"),
        ("Seed", f"{recipe.seed}"),
    ]


def tweets_of(handles: list[str]) -> str:
    """`@alice's tweets`, or `tweets from @alice, @bob and @carol`."""
    if len(handles) == 1:
        return f"@{handles[0]}'s tweets"
    return "tweets from " + " and ".join([", ".join(f"@{h}" for h in handles[:-1]),
                                          f"@{handles[-1]}"])


def finetuning(metrics: dict, kind: str) -> str:
    """How the weights were trained, as train_metrics.json records it."""
    if metrics.get("finetuning") == "lora":
        share = ""
        if metrics.get("trained_parameters") and metrics.get("parameters"):
            share = (f"; {metrics['trained_parameters']:,} adapter parameters trained on a "
                     f"frozen base of {metrics['parameters']:,}")
        return (f"LoRA, r={metrics['lora_r']}, alpha={metrics['lora_alpha']:g}, dropout "
                f"{metrics['lora_dropout']:g}, on {metrics['lora_target_modules']}{share}; "
                "merged into the weights")
    return "from scratch, every weight" if kind == "tiny" else "full: every weight"


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


def describe_weights(model_dir: Path, stage: str | None = None) -> dict:
    """Architecture (config.json), parameter count and sha256 (model.safetensors) of a model;
    `stage`: dvc.yaml's name of the stage that wrote it (handles/NAME/dvc.yaml:train if not given)."""
    stage = stage or layout.stage_id("train", model_dir.name)
    config = outputs.read_json(model_dir / "config.json", run_first(stage))
    path = model_dir / "model.safetensors"
    try:
        with safe_open(path, framework="numpy") as weights_file:  # reads the header alone
            shapes = [weights_file.get_slice(key).get_shape() for key in weights_file.keys()]
        with path.open("rb") as f:
            sha256 = hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        raise not_built(path, stage) from None

    def first(*keys):  # GPT-2's names, then most others' (Llama, Qwen2, Mistral, Phi)
        return next((config[k] for k in keys if config.get(k) is not None), None)

    return {
        "parameters": sum(math.prod(s) for s in shapes),
        "sha256": sha256,
        "architecture": (config.get("architectures") or [config.get("model_type")])[0],
        "n_layer": first("n_layer", "num_hidden_layers"),
        "n_head": first("n_head", "num_attention_heads"),
        "n_embd": first("n_embd", "hidden_size"),
        "n_positions": pretrained.context_length(config),
        "vocab_size": config.get("vocab_size"),
    }


def main(name: str, params: Params) -> None:
    paths, is_bot = layout.bot(name), name in params.bots

    def stage(kind: str) -> str:  # DVC's name: bots/NAME/dvc.yaml:tokenize ... for a bot
        return layout.stage_id(kind, name, is_bot)

    if is_bot:  # its counts in its own file
        per_handle = outputs.read_json(paths.stats, run_first(stage("tokenize")))  # tokenize's copy
        handles = params.bot_handles(name)
        missing = [h for h in handles if h not in per_handle]  # `bots` changed since tokenize
        if missing:
            raise TweetlmError(f"{paths.stats}: no counts for {', '.join(missing)}: "
                               f"{rerun(stage('tokenize'))}")
        sources = [(h, per_handle[h]) for h in handles]
    else:
        sources = [(name, outputs.read_json(paths.stats, run_first(stage("filter"))))]
    metrics = outputs.read_json(paths.train_metrics, run_first(stage("train")))
    predictions = outputs.read_json(paths.predictions, run_first(stage("predict")))
    if not paths.picture.is_file():
        raise not_built(paths.picture, stage("predict"))
    tokenized = outputs.read_json(paths.tokenized_meta, run_first(stage("tokenize")))
    if "base_kind" not in tokenized or "oversampling" not in tokenized:
        raise TweetlmError(f"{paths.tokenized_meta}: written by an older tweetlm: "
                           f"{rerun(stage('tokenize'))}")
    weights = describe_weights(paths.model, stage("train"))
    card = render_card(name, sources, metrics, predictions, weights, params, tokenized)
    with atomic_path(paths.thumbnail) as tmp:
        shutil.copyfile(paths.picture, tmp)
    with atomic_path(paths.card) as tmp:
        card.save(tmp)
    print(f"card {name}: {paths.card}")
