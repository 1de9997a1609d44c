"""Where every file of the pipeline lives: the one home of each path, file list and key set.

Stages, the CLI and the tests build paths from here; dvc.yaml spells the same paths with
`${item}` (tests/test_layout.py holds its outs against this module). All paths are
relative to the project root, where `dvc repro` runs the stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

PARAMS_FILE = Path("params.yaml")
CHECKPOINTS = Path("checkpoints")  # resumable training state: outside DVC's outputs
SAMPLE_HANDLE = "sample"  # synthetic: written by the `sample` stage, tweeted by nobody

# The params.yaml keys each stage's code reads (a section, or a dotted key inside one), and
# nothing else (tests/test_dvc_graph.py proves it from the code), in the order a handle's
# stages run (HANDLE_STAGES); a bot's stages read the same. `validate` writes each stage's
# values, as validated and with the name's `overrides` applied, to params_stamp(stage, name),
# the one params dependency that stage has: so a no-op `dvc repro` parses params.yaml once,
# not once per stage, and an edit reruns only the stages, of only the names, that read the
# key. wandb: only the card shows it; tokenize and train log there, but what they write is
# the same whatever it says.
STAGE_PARAMS = {
    "ingest": ("ingest",),
    "filter": ("filter",),
    "tokenize": ("tokenize", "train.block_size", "model.base", "model.revision",
                 "model.tiny.vocab_size", "model.tiny.n_positions"),  # n_positions: block_size auto
    "train": ("train", "model"),
    # model.base and card.display_names are drawn on predictions.png; keep_newlines: false
    # ends a sample at its first newline
    "predict": ("predict", "model.base", "card.display_names", "filter.keep_newlines"),
    "card": ("card", "model.base", "train", "tokenize.val_fraction", "filter.min_words",
             "wandb"),
    "gallery": ("card.display_names",),  # the names the page shows
}

# What train writes into models/<bot>/, exactly (DVC outs, one per file).
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
# LoRA's adapter in models/<bot>/adapter/ (peft's names), beside the merged weights. The
# folder is one DVC out whatever train.lora says: its README.md is always there.
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class FilterCounts(NamedTuple):
    """filter's counts of a handle's tweets: the keys of reports/<handle>/stats.json
    (STATS_KEYS), in the card's order; kept = downloaded - retweets - short."""

    downloaded: int  # the unique tweets ingest read
    retweets: int
    short: int  # original tweets under filter.min_words
    kept: int

    @classmethod
    def of(cls, stats: dict) -> FilterCounts:
        """The counts in a stats.json (which holds more: languages, a bot's balance)."""
        return cls(*(stats[k] for k in cls._fields))


# filter's counts in reports/<handle>/stats.json, in the card's order.
STATS_KEYS = FilterCounts._fields
# tokenize's token ids, one Arrow IPC file per split in data/tokenized/<bot>/ (split_file).
SPLITS = ("train", "validation")
# The rest of tokenize's folder (BotPaths.tokenizer, .tokenized_meta, .train_tweets): names
# inside it, for tokenize writing a temporary copy of the folder and train reading another.
TOKENIZER_DIR = "tokenizer"
TOKENIZED_META = "meta.json"
TRAIN_TWEETS = "train_tweets.json"
# dvclive's folder under reports/<bot>/ for the loss curves (a DVC plot, x = step).
TRAIN_PLOTS = "train/plots/metrics"
# The static page of every bot (gallery-page) and the per-bot entries it is built from: the
# page stage depends on the folder, so it reruns only when one bot's entry changes.
GALLERY = Path("reports/gallery")
GALLERY_PAGE = Path("reports/index.html")


PARAMS_STAMPS = Path("reports/params")  # validate's output: one folder of stamps per name
BENCHMARKS = Path("reports/benchmarks")  # measured figures, committed to git
# reports/<name>/ is a bot's: no handle or bot may take a name these folders already use
RESERVED_NAMES = (PARAMS_STAMPS.name, BENCHMARKS.name, GALLERY.name)


def params_stamp(stage: str, name: str) -> Path:
    """`validate`'s copy of the STAGE_PARAMS keys of `stage` (ingest, ..., gallery) as they
    are for one handle or bot (its `overrides` applied): its stage's one params dependency."""
    return PARAMS_STAMPS / name / f"{stage}.json"


# Each handle's and bot's own pipeline file (shared/pipelines.py writes them): DVC addresses
# their stages as `handles/alice/dvc.yaml:train`.
HANDLE_PIPELINES = Path("handles")
BOT_PIPELINES = Path("bots")
HANDLE_STAGES = tuple(STAGE_PARAMS)  # ingest ... gallery, in the order they run
BOT_STAGES = HANDLE_STAGES[2:]  # a bot of several handles trains on their filtered tweets


def pipeline_file(name: str, bot: bool = False) -> Path:
    """handles/<handle>/dvc.yaml, or bots/<bot>/dvc.yaml for a bot of several handles."""
    return (BOT_PIPELINES if bot else HANDLE_PIPELINES) / name / "dvc.yaml"


def stage_id(stage: str, name: str, bot: bool = False) -> str:
    """How DVC names one handle's or bot's stage: `handles/alice/dvc.yaml:train`."""
    return f"{pipeline_file(name, bot).as_posix()}:{stage}"


def raw_dir(handle: str) -> Path:
    """The user's raw tweet files (the sample handle's are written by the `sample` stage)."""
    return Path("data/raw") / handle


def raw_dvc_file(handle: str) -> Path:
    """`dvc add data/raw/HANDLE`'s record: the raw folder is versioned, maybe not pulled yet."""
    return Path("data/raw") / f"{handle}.dvc"


def interim(handle: str) -> Path:
    """ingest's table of unique tweets."""
    return Path("data/interim") / handle / "tweets.parquet"


ACCOUNTS = Path("data/accounts")  # one folder for all handles: a bot's stages depend on it


def account(handle: str) -> Path:
    """ingest's note of the account's display name and avatar (the card's and picture's),
    apart from the tweets: a bot's picture depends on its handles' names, not their data."""
    return ACCOUNTS / f"{handle}.json"


def processed(handle: str) -> Path:
    """filter's kept tweets, cleaned."""
    return Path("data/processed") / handle / "tweets.parquet"


def split_file(tokenized: Path, split: str) -> Path:
    """One split of tokenize's token ids in a tokenized folder: an Arrow IPC file (the format
    tokenize's docstring states), which train reads with pyarrow alone."""
    return tokenized / f"{split}.arrow"


def stats(name: str) -> Path:
    """filter's counts for a handle; for a bot, tokenize's copy of its handles' counts."""
    return Path("reports") / name / "stats.json"


@dataclass(frozen=True)
class BotPaths:
    """The model stages' files for one bot (a handle, or a bot of several under `bots`)."""

    name: str

    @property
    def tokenized(self) -> Path:  # tokenize's blocks and tokenizer
        return Path("data/tokenized") / self.name

    def split(self, split: str) -> Path:  # one of SPLITS: its token ids (Arrow)
        return split_file(self.tokenized, split)

    @property
    def tokenized_meta(self) -> Path:  # tokenize's record: counts, base, balance, warnings
        return self.tokenized / TOKENIZED_META

    @property
    def train_tweets(self) -> Path:  # the training tweets as text: predict's copy check
        return self.tokenized / TRAIN_TWEETS

    @property
    def tokenizer(self) -> Path:  # the tokenizer train must use (save_pretrained's files)
        return self.tokenized / TOKENIZER_DIR

    @property
    def model(self) -> Path:  # MODEL_FILES + generation_config.json + README.md + predictions.png
        return Path("models") / self.name

    @property
    def reports(self) -> Path:
        return Path("reports") / self.name

    @property
    def stats(self) -> Path:
        return stats(self.name)

    @property
    def train_metrics(self) -> Path:
        return self.reports / "train_metrics.json"

    @property
    def train_plots(self) -> Path:
        return self.reports / TRAIN_PLOTS

    @property
    def train_loss(self) -> Path:  # dvclive's TSV (step, loss) under train_plots
        return self.train_plots / "train" / "loss.tsv"

    @property
    def eval_loss(self) -> Path:
        return self.train_plots / "eval" / "loss.tsv"

    @property
    def predictions(self) -> Path:
        return self.reports / "predictions.json"

    @property
    def predict_metrics(self) -> Path:  # the memorization figures (a DVC metric)
        return self.reports / "predict_metrics.json"

    @property
    def picture(self) -> Path:  # predict's drawing; the card copies it next to the weights
        return self.reports / "predictions.png"

    @property
    def generation_config(self) -> Path:
        return self.model / "generation_config.json"

    @property
    def card(self) -> Path:
        return self.model / "README.md"

    @property
    def thumbnail(self) -> Path:
        return self.model / "predictions.png"

    @property
    def gallery_entry(self) -> Path:  # the bot's part of the static page (gallery stage)
        return GALLERY / f"{self.name}.json"

    @property
    def model_files(self) -> list[Path]:
        return [self.model / f for f in MODEL_FILES]

    @property
    def adapter(self) -> Path:  # README.md, and ADAPTER_FILES when trained with LoRA
        return self.model / "adapter"

    @property
    def checkpoints(self) -> Path:
        return CHECKPOINTS / self.name


def bot(name: str) -> BotPaths:
    return BotPaths(name)
