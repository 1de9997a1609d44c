"""params.yaml, loaded and validated once into typed, frozen objects.

Every stage calls `load_params()` first, and the `validate` stage runs it ahead of
all others, so a typo in `dvc exp run -S` fails in a second, not after training.
Each section is a dataclass: its fields are the valid keys, its annotations the
types, and `check()` the ranges.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tweetlm.errors import TweetlmError

PARAMS_FILE = Path("params.yaml")

# Handles and bot names become directory names and DVC stage keys (`train@name`):
# no path separators, no leading dot, no `@`, bounded length.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
NAME_RULE = "1-64 letters, digits, '_' or '-', not starting with '-'"


def check_name(name: object, what: str = "handle") -> str:
    """Return `name` if it is safe to build paths from, else raise TweetlmError."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise TweetlmError(f"invalid {what} {name!r}: use {NAME_RULE}")
    return name


class ParamError(TweetlmError):
    def __init__(self, file: Path, key: str, problem: str):
        super().__init__(f"{file}: {key}: {problem}")


@dataclass(frozen=True)
class Section:
    def check(self, file: Path, prefix: str) -> None:
        """Range checks; subclasses raise ParamError."""


@dataclass(frozen=True)
class IngestParams(Section):
    max_archive_mb: int = 8192  # refuse a .zip that would expand past this (zip bombs)

    def check(self, file, prefix):
        _positive(file, f"{prefix}.max_archive_mb", self.max_archive_mb)


@dataclass(frozen=True)
class FilterParams(Section):
    min_words: int = 3  # fewer real words than this (no http/@/#) makes a tweet short
    keep_newlines: bool = False  # true: whitespace holding a line break becomes one "\n"

    def check(self, file, prefix):
        if self.min_words < 0:
            raise ParamError(file, f"{prefix}.min_words", f"must be >= 0, got {self.min_words}")


@dataclass(frozen=True)
class TokenizeParams(Section):
    val_fraction: float = 0.1  # share of tweets held out, split before packing
    seed: int = 42

    def check(self, file, prefix):
        if not 0.0 <= self.val_fraction < 1.0:
            raise ParamError(
                file, f"{prefix}.val_fraction", f"must be in [0, 1), got {self.val_fraction}"
            )


@dataclass(frozen=True)
class TinyParams(Section):
    """The `tiny` preset: a small random-init GPT-2 with a BPE tokenizer trained on the corpus."""

    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 128
    vocab_size: int = 2048
    # From scratch in a minute needs a larger step than fine-tuning: replaces train.learning_rate
    learning_rate: float = 2e-3
    dropout: float = 0.0  # GPT-2's embd/attn/resid dropout; a few epochs on tweets barely overfit

    def check(self, file, prefix):
        for key in ("n_layer", "n_head", "n_embd", "vocab_size", "learning_rate"):
            _positive(file, f"{prefix}.{key}", getattr(self, key))
        if not 0.0 <= self.dropout < 1.0:
            raise ParamError(file, f"{prefix}.dropout", f"must be in [0, 1), got {self.dropout}")
        if self.n_embd % self.n_head:
            raise ParamError(file, f"{prefix}.n_embd", "must be a multiple of n_head")
        if self.vocab_size < 300:
            raise ParamError(
                file, f"{prefix}.vocab_size", "must be >= 300 (256 bytes plus merges)"
            )


@dataclass(frozen=True)
class ModelParams(Section):
    base: str = "gpt2"  # 'tiny', a local directory, or a hub id found offline
    revision: str = ""  # pins a hub base to a commit, tag or branch ("" = main as cached)
    tiny: TinyParams = field(default_factory=TinyParams)

    def check(self, file, prefix):
        if not self.base.strip():
            raise ParamError(file, f"{prefix}.base", "must name 'tiny', a directory or a hub id")


@dataclass(frozen=True)
class TrainParams(Section):
    block_size: int = 128  # tokens per packed training block
    epochs: float = 4.0
    learning_rate: float = 1.372e-4
    lr_scheduler: str = "cosine"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    batch_size: int = 8
    grad_accum: int = 1
    seed: int = 42
    compile: bool = False  # torch.compile on a GPU
    checkpoint_steps: int = 200  # save a resumable checkpoint this often
    logging_steps: int = 10
    max_grad_norm: float = 1.0  # clip the gradient norm (0 = off), as Trainer does
    device: str = "auto"  # auto (cuda when available, else cpu), cuda or cpu

    def check(self, file, prefix):
        for key in ("block_size", "epochs", "learning_rate", "batch_size", "grad_accum",
                    "checkpoint_steps", "logging_steps"):
            _positive(file, f"{prefix}.{key}", getattr(self, key))
        for key in ("warmup_steps", "weight_decay", "max_grad_norm"):
            if getattr(self, key) < 0:
                raise ParamError(file, f"{prefix}.{key}", "must be >= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ParamError(file, f"{prefix}.device",
                             f"must be auto, cpu or cuda, got {self.device!r}")
        schedulers = ("cosine", "linear", "constant")
        if self.lr_scheduler not in schedulers:
            raise ParamError(
                file, f"{prefix}.lr_scheduler",
                f"must be one of {', '.join(schedulers)}, got {self.lr_scheduler!r}",
            )


@dataclass(frozen=True)
class PredictParams(Section):
    prompts: list[str] = field(
        default_factory=lambda: ["My dream is", "I think that", "The best thing about", "Today"]
    )
    num_sequences: int = 5  # generations per prompt
    max_length: int = 160  # tokens, prompt included
    do_sample: bool = True
    top_p: float = 0.95
    top_k: int = 0  # 0 turns top-k off: nucleus (top_p) sampling only
    temperature: float = 1.0
    seed: int = 42
    batch_size: int = 64  # sequences per generate() call: bounds memory, changes the samples

    def check(self, file, prefix):
        if not self.prompts:
            raise ParamError(file, f"{prefix}.prompts", "needs at least one prompt")
        for key in ("num_sequences", "max_length", "temperature", "batch_size"):
            _positive(file, f"{prefix}.{key}", getattr(self, key))
        if self.top_k < 0:
            raise ParamError(file, f"{prefix}.top_k", f"must be >= 0 (0 is off), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ParamError(file, f"{prefix}.top_p", f"must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True)
class CardParams(Section):
    language: str = "en"
    author: str = ""  # shown in the card's About section when set
    # handle -> the name shown on the card and predictions.png (default: the handle itself)
    display_names: dict[str, str] = field(default_factory=dict)
    hub_namespace: str = ""  # Hub user or org the bot would be published under ("" shows <user>)

    def check(self, file, prefix):
        for handle, name in self.display_names.items():
            if not name.strip() or "\n" in name:
                key = f"{prefix}.display_names.{handle}"
                raise ParamError(file, key, "must be one non-empty line of text")
        namespace = self.hub_namespace
        if namespace and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", namespace):
            raise ParamError(file, f"{prefix}.hub_namespace",
                             "must be a Hub user or org name (letters, digits, '-', '_', '.')")


@dataclass(frozen=True)
class WandbParams(Section):
    mode: str = "offline"  # offline (no account, no network), online, or disabled
    project: str = "tweetlm"

    def check(self, file, prefix):
        if self.mode not in ("offline", "online", "disabled"):
            raise ParamError(
                file, f"{prefix}.mode", f"must be offline, online or disabled, got {self.mode!r}"
            )


@dataclass(frozen=True)
class Params:
    handles: list[str]
    bots: dict[str, list[str]] = field(default_factory=dict)
    ingest: IngestParams = field(default_factory=IngestParams)
    filter: FilterParams = field(default_factory=FilterParams)
    tokenize: TokenizeParams = field(default_factory=TokenizeParams)
    model: ModelParams = field(default_factory=ModelParams)
    train: TrainParams = field(default_factory=TrainParams)
    predict: PredictParams = field(default_factory=PredictParams)
    card: CardParams = field(default_factory=CardParams)
    wandb: WandbParams = field(default_factory=WandbParams)

    def bot_handles(self, bot: str) -> list[str]:
        """The handles a bot is trained on: its `bots` entry, or the handle itself."""
        if bot in self.bots:
            return self.bots[bot]
        if bot in self.handles:
            return [bot]
        raise TweetlmError(
            f"{bot!r} is neither in `handles` nor in `bots` of params.yaml: add it to one of them"
        )


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate params.yaml: unknown keys, wrong types and bad ranges all fail here."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TweetlmError(f"{path}: not found: run from the project root or pass --params")
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        where = getattr(e, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise TweetlmError(f"{path}:{line} not valid YAML: {str(e).splitlines()[0]}")
    if not isinstance(raw, dict):
        raise TweetlmError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    params = _build(Params, raw, path, "")
    _check_names(params, path)
    return params


def _check_names(params: Params, path: Path) -> None:
    if not params.handles:
        raise ParamError(path, "handles", "list at least one handle (a folder under data/raw/)")
    for i, handle in enumerate(params.handles):
        try:
            check_name(handle)
        except TweetlmError as e:
            raise ParamError(path, f"handles[{i}]", str(e)) from None
    if len(set(params.handles)) != len(params.handles):
        raise ParamError(path, "handles", "lists a handle twice")
    for bot, members in params.bots.items():
        try:
            check_name(bot, "bot name")
        except TweetlmError as e:
            raise ParamError(path, f"bots.{bot}", str(e)) from None
        if bot in params.handles:  # both would write data/tokenized/<name>, models/<name>
            raise ParamError(path, f"bots.{bot}",
                             "is also a handle's name: give the bot a name of its own")
        if not members:
            raise ParamError(path, f"bots.{bot}", "list the handles this bot is trained on")
        missing = [h for h in members if h not in params.handles]
        if missing:
            raise ParamError(path, f"bots.{bot}", f"{', '.join(missing)} not in `handles`")
        if len(set(members)) != len(members):
            raise ParamError(path, f"bots.{bot}", "lists a handle twice")


def _build(cls, raw: dict, file: Path, prefix: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        where = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ParamError(file, where, f"unknown key; valid keys{' in ' + prefix if prefix else ''}: "
                         f"{', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in raw.items():
        key = f"{prefix}.{name}" if prefix else name
        values[name] = _convert(hints[name], value, file, key)
    missing = [
        n for n, f in fields.items()
        if n not in values and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ParamError(file, missing[0], "missing: this key is required")
    obj = cls(**values)
    if isinstance(obj, Section):
        obj.check(file, prefix)
    return obj


def _convert(hint, value, file: Path, key: str):
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if value is None:
            return hint()
        if not isinstance(value, dict):
            raise ParamError(file, key, f"expected a mapping, got {_show(value)}")
        return _build(hint, value, file, key)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ParamError(file, key, f"expected a list, got {_show(value)}")
        return [_convert(item, v, file, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ParamError(file, key, f"expected a mapping, got {_show(value)}")
        return {str(k): _convert(item, v, file, f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported param type {hint}")
    # YAML bools are not ints here, and ints are fine where a float is wanted.
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    raise ParamError(file, key, f"expected {names[hint]}, got {_show(value)}")


def _show(value) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping", type(None): "nothing"}.get(type(value), type(value).__name__)
    return f"{kind} {value!r}" if value is not None else "nothing"


def _positive(file: Path, key: str, value) -> None:
    if value <= 0:
        raise ParamError(file, key, f"must be > 0, got {value}")
