"""params.yaml, validated once into typed, frozen objects (pydantic dataclasses).

params.yaml is the one source of every value: these classes say which keys exist, their
types and their ranges, never a default. Every stage calls `load_params()` first, and the
`validate` stage runs it ahead of all others, so a typo in `dvc exp run -S` fails in a
second, not after training. Every problem is one line: `params.yaml: train.epochs:
expected a number, got string 'abc'`.
"""

from __future__ import annotations

import re
import typing
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (AfterValidator, BeforeValidator, ConfigDict, Field, PlainValidator,
                      StrictBool, StrictInt, StrictStr, TypeAdapter, ValidationError)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from tweetlm.core.errors import TweetlmError
from tweetlm.core.layout import PARAMS_FILE, RESERVED_NAMES

# Handles and bot names become directory names (data/raw/<name>, handles/<name>/dvc.yaml):
# no path separators, no leading dot, no `@`, bounded length.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
NAME_RULE = "1-64 letters, digits, '_' or '-', not starting with '-'"


def check_name(name: object, what: str = "handle") -> str:
    """Return `name` if it is safe to build paths from, else raise TweetlmError."""
    if name in RESERVED_NAMES:
        raise TweetlmError(f"invalid {what} {name!r}: reports/{name}/ holds tweetlm's own "
                           f"files; use another name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        if isinstance(name, str) and name.startswith("@") and NAME_RE.fullmatch(name[1:]):
            raise TweetlmError(f"invalid {what} {name!r}: write it without the '@': "
                               f"{name[1:]}")
        raise TweetlmError(f"invalid {what} {name!r}: use {NAME_RULE}")
    return name


class ParamError(TweetlmError):
    def __init__(self, file, key: str, problem: str):
        super().__init__(f"{file}: {key}: {problem}")
        self.file, self.key, self.problem = file, key, problem


def _rule(test, text: str):
    """An Annotated validator: `text` (with {value}) is the one-line problem when `test` fails."""
    def check(value):
        if not test(value):
            raise PydanticCustomError("range", text, {"value": value})
        return value
    return AfterValidator(check)


def _number(value):
    """Floats take ints (YAML's `4` for 4.0) but never booleans or strings."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("float_type", "expected a number")
    return float(value)


def _empty(value):
    """`bots:` with nothing after it is an empty mapping."""
    return {} if value is None else value


# YAML's `true` is no integer and '3' no number: no coercion but int -> float. No number is
# infinite or NaN (`.inf` as a learning rate trains a NaN model).
Int, Bool, Str = StrictInt, StrictBool, StrictStr
Float = Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]


def ints(ge: int, le: int):
    """An integer in [ge, le]: every param has a range a real run can use."""
    return Annotated[Int, Field(ge=ge, le=le)]


def floats(**bounds):
    """A finite number within pydantic bounds (gt/ge and lt/le)."""
    return Annotated[Float, Field(**bounds)]


Seed = ints(0, 2**32 - 1)  # what NumPy, Python and torch all take
Steps = ints(1, 10**7)
Fraction = floats(ge=0, lt=1)
Line = Annotated[Str, _rule(lambda v: bool(v.strip()) and "\n" not in v,
                            "must be one non-empty line of text")]
MAX_BLOCK = 131_072  # tokens: Llama 3's context, the longest a base has here


def _auto_or(test, allowed: str):
    """A PlainValidator for `auto` or a value `test` accepts (`allowed` says both)."""
    def check(value):
        if value == "auto" or test(value):
            return value
        raise PydanticCustomError("range", f"must be {allowed}, got {{value}}",
                                  {"value": _show(value)})
    return PlainValidator(check)


# auto: the base's context (see pretrained.block_size)
BlockSize = Annotated[int | str, _auto_or(lambda v: type(v) is int and 0 < v <= MAX_BLOCK,
                                          f"auto or an integer in [1, {MAX_BLOCK}]")]
AutoBool = Annotated[bool | str, _auto_or(lambda v: isinstance(v, bool), "auto, true or false")]
HubName = Annotated[Str, _rule(lambda v: not v or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", v),
                               "must be a Hub user or org name (letters, digits, '-', '_', '.')")]

section = dataclass(frozen=True, config=ConfigDict(extra="forbid"))


@section
class IngestParams:
    max_archive_mb: ints(1, 1 << 20)  # refuse a .zip that would expand past this (zip bombs)


@section
class FilterParams:
    min_words: ints(0, 1000)  # fewer real words (no http/@/#) makes a tweet short
    keep_newlines: Bool  # true: whitespace holding a line break becomes one "\n"
    min_kept_chars: ints(0, 10**9)  # less kept text is an error (huggingtweets: 6000)
    warn_kept_chars: ints(0, 10**9)  # less is a warning (huggingtweets: 40000)


@section
class TokenizeParams:
    val_fraction: Fraction  # share of tweets held out, split before packing
    seed: Seed
    max_oversampling: floats(gt=0, le=10**6)  # a bot repeating a handle's tweets more often than this warns


@section
class TinyParams:
    """The `tiny` preset: a small random-init GPT-2 with a BPE tokenizer trained on the corpus."""

    n_layer: ints(1, 64)
    n_head: ints(1, 128)
    n_embd: ints(1, 8192)
    vocab_size: ints(300, 1 << 18)  # 256 bytes plus merges
    n_positions: ints(1, MAX_BLOCK)  # its context: what train.block_size auto resolves to
    dropout: Fraction  # GPT-2's embd/attn/resid dropout


@section
class ModelParams:
    base: Annotated[Str, _rule(str.strip, "must name 'tiny', a directory or a hub id")]
    revision: Str  # pins a hub base to a commit, tag or branch ("" = main as cached)
    tiny: TinyParams


@section
class LoraParams:
    """Low-rank adapters (peft) instead of every weight; merged into the saved model."""

    enabled: Bool
    r: ints(1, 1024)  # rank
    alpha: floats(gt=0, le=10**4)  # scale = alpha / r
    dropout: Fraction
    target_modules: list[Str]  # module names; [] = peft's default for the architecture


@section
class TrainParams:
    block_size: BlockSize  # tokens per packed block; auto = the base's context, up to 1024
    epochs: floats(gt=0, le=1000)
    learning_rate: floats(gt=0, le=1)  # peak; what training uses, whatever the base
    lr_scheduler: Literal["cosine", "linear", "constant"]
    warmup_steps: ints(0, 10**7)
    weight_decay: floats(ge=0, le=1)
    batch_size: ints(1, 1024)  # blocks a micro-batch
    grad_accum: ints(1, 1024)
    seed: Seed
    compile: Bool  # torch.compile on a GPU
    # the lean GPT-2 (train/gpt2.py) for GPT-2 bases; auto: on CUDA only. Shipped false until
    # a GPU run shows it matches transformers' and is faster (benchmarks/device/lean_vs_hf.py)
    fast_gpt2: AutoBool
    checkpoint_steps: Steps  # save a resumable checkpoint this often
    logging_steps: Steps
    max_grad_norm: floats(ge=0, le=1000)  # clip the gradient norm (0 = off)
    device: Literal["auto", "cpu", "cuda"]
    lora: LoraParams


@section
class MemorizationParams:
    """When a sampled tweet counts as a copy of a training tweet, and what to do about it."""

    ngram: ints(1, 100)  # words per n-gram
    threshold: Fraction
    resample: Bool  # sample again in place of copies
    max_tries: ints(1, 100)  # resampling rounds at most


@section
class PredictParams:
    prompts: Annotated[list[Str], Field(min_length=1, max_length=1000)]
    num_sequences: ints(1, 1000)  # generations per prompt
    max_length: ints(1, MAX_BLOCK)  # tokens, prompt included
    min_new_tokens: ints(0, MAX_BLOCK)  # end-of-text is barred before this many
    do_sample: Bool
    top_p: floats(gt=0, le=1)
    top_k: ints(0, 1 << 20)  # 0 is off
    temperature: floats(gt=0, le=100)
    seed: Seed
    batch_size: ints(1, 4096)  # sequences per generate() call: bounds memory, changes the samples
    memorization: MemorizationParams


@section
class CardParams:
    language: Str
    author: Str  # shown in the card's About section when set
    display_names: Annotated[dict[str, Line], BeforeValidator(_empty)]  # handle -> the name shown on the card and predictions.png
    hub_namespace: HubName  # Hub user or org the bot would be published under ("" shows <user>)


@section
class WandbParams:
    mode: Literal["offline", "online", "disabled"]
    project: Str


@section
class Params:
    handles: Annotated[list[Str], Field(min_length=1)]
    bots: Annotated[dict[str, list[Str]], BeforeValidator(_empty)]  # name -> its handles
    ingest: IngestParams
    filter: FilterParams
    tokenize: TokenizeParams
    model: ModelParams
    train: TrainParams
    predict: PredictParams
    card: CardParams
    wandb: WandbParams
    # handle or bot -> its own values of any keys above ({train: {learning_rate: 1e-4}})
    overrides: Annotated[dict[str, Annotated[dict, BeforeValidator(_empty)]],
                         BeforeValidator(_empty)]

    def bot_handles(self, bot: str) -> list[str]:
        """The handles a bot is trained on: its `bots` entry, or the handle itself."""
        if bot in self.bots:
            return self.bots[bot]
        if bot in self.handles:
            return [bot]
        raise TweetlmError(
            f"{bot!r} is neither in `handles` nor in `bots` of params.yaml: add it to one of them"
        )

    def for_name(self, name: str) -> Params:
        """The params one handle's or bot's stages run with: its `overrides` entry applied
        (validated with the rest when params.yaml was read)."""
        extra = self.overrides.get(name)
        return _with_overrides(self, extra) if extra else self


# The sections an `overrides` entry may set; a bot has no ingest or filter of its own
PER_NAME = ("ingest", "filter", "tokenize", "model", "train", "predict", "card", "wandb")
HANDLE_ONLY = ("ingest", "filter")


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = (_merge(base[key], value) if isinstance(value, dict)
                    and isinstance(base.get(key), dict) else value)
    return out


def _with_overrides(params: Params, extra: dict) -> Params:
    return _ADAPTER.validate_python(_merge(asdict(params), extra) | {"overrides": {}})


_ADAPTER = TypeAdapter(Params)


def load_params(path=PARAMS_FILE) -> Params:
    """Read and validate params.yaml: unknown keys, wrong types and bad ranges all fail here."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except FileNotFoundError:
        raise TweetlmError(f"{path}: not found: run from the project root or pass --params")
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        where = getattr(e, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        raise TweetlmError(f"{path}:{line} not valid YAML: {str(e).splitlines()[0]}")
    return parse_params(raw, path)


def parse_params(raw, path=PARAMS_FILE) -> Params:
    """Validate params already read from YAML (a dict): the one place params are checked."""
    if not isinstance(raw, dict):
        raise TweetlmError(f"{path}: expected a mapping of sections, got {_show(raw)}")
    try:
        params = _ADAPTER.validate_python(raw)
    except ValidationError as e:
        raise _one_line(e, path) from None
    _check_across(params, path)
    _check_overrides(params, path)
    return params


def _check_overrides(params: Params, path) -> None:
    """Each `overrides` entry names a handle or bot, sets known sections, and yields valid
    params: its problems are reported at overrides.<name>.<key>, like any other key's."""
    for name, extra in params.overrides.items():
        where = f"overrides.{name}"
        is_bot = name in params.bots
        if not is_bot and name not in params.handles:
            raise ParamError(path, where, "not in `handles` or `bots`: add it there, or take "
                                          "it out of `overrides`")
        for section in extra:
            if section not in PER_NAME:
                raise ParamError(path, f"{where}.{section}", "not a per-handle setting; valid "
                                 f"keys: {', '.join(PER_NAME)}")
            if is_bot and section in HANDLE_ONLY:
                raise ParamError(path, f"{where}.{section}", "a bot trains on its handles' "
                                 f"filtered tweets: set {section} under overrides.<handle>")
        try:
            merged = _with_overrides(params, extra)
        except ValidationError as e:
            error = _one_line(e, path)
            raise ParamError(path, f"{where}.{error.key}", error.problem) from None
        try:
            _check_across(merged, path)
        except ParamError as error:
            raise ParamError(path, f"{where}.{error.key}", error.problem) from None


def values_of(params: Params, keys) -> dict:
    """{key: its validated value} for dotted keys (`train`, `model.tiny.n_positions`): a
    section as a dict. What `validate` writes to a stage's params stamp."""
    found = {}
    for key in keys:
        value = params
        for part in key.split("."):
            value = getattr(value, part)
        found[key] = asdict(value) if is_dataclass(value) else value
    return found


class _Loader(yaml.SafeLoader):
    """YAML with keys kept as written: `1: x` stays '1', never an int."""


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: {str(loader.construct_object(k, deep=True)):
                          loader.construct_object(v, deep=True) for k, v in node.value},
)


def _check_across(params: Params, path) -> None:
    """What no single key can say: names safe for paths, bots of known handles, head sizes."""
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
    if params.train.fast_gpt2 is True and params.train.lora.enabled:
        raise ParamError(path, "train.fast_gpt2", "true, but LoRA trains the transformers model: "
                         "set it to auto or false, or turn train.lora off")
    tiny = params.model.tiny
    if tiny.n_embd % tiny.n_head:
        raise ParamError(path, "model.tiny.n_embd", "must be a multiple of n_head")
    if params.model.base == "tiny":
        block = params.train.block_size
        if block != "auto" and block > tiny.n_positions:
            raise ParamError(path, "train.block_size",
                             f"{block} is longer than the tiny preset's context "
                             f"(model.tiny.n_positions: {tiny.n_positions}): lower it or use auto")
        if params.train.lora.enabled:
            raise ParamError(path, "train.lora.enabled",
                             "the tiny preset trains every weight from scratch: LoRA needs a "
                             "pretrained model.base")


# --------------------------------------------------------------- pydantic's error, one line

_EXPECTED = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping"}


def _one_line(error: ValidationError, path) -> ParamError:
    first = error.errors()[0]
    loc = list(first["loc"])
    kind = first["type"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        owner = _class_at(loc[:-1])
        prefix = _key(loc[:-1])
        valid = ", ".join(f.name for f in fields(owner))
        return ParamError(path, _key(loc), f"unknown key; valid keys{' in ' + prefix if prefix else ''}: {valid}")
    if kind in ("missing", "missing_argument"):
        return ParamError(path, _key(loc), "missing: every key is required (see the shipped params.yaml)")
    value = first.get("input")
    if kind == "too_short":
        return ParamError(path, _key(loc), "needs at least one entry")
    if kind == "too_long":
        return ParamError(path, _key(loc), f"{first['msg'].lower()}")
    if kind in _BOUNDS:  # a Field bound: say the whole range
        return ParamError(path, _key(loc), f"must be {_range_at(loc)}, got {_plain(value)}")
    if kind == "finite_number":
        return ParamError(path, _key(loc), f"must be a finite number, got {_plain(value)}")
    if kind == "range":  # our own rules: the message is the problem
        return ParamError(path, _key(loc), first["msg"])
    if kind == "literal_error":
        choices = typing.get_args(_type_at(loc))
        listed = ", ".join(choices[:-1]) + f" or {choices[-1]}"
        return ParamError(path, _key(loc), f"must be one of {listed}, got {value!r}")
    expected = _type_at(loc)
    origin = typing.get_origin(expected) or expected
    if is_dataclass(origin):
        return ParamError(path, _key(loc), f"expected a mapping, got {_show(value)}")
    if origin in _EXPECTED:
        return ParamError(path, _key(loc), f"expected {_EXPECTED[origin]}, got {_show(value)}")
    return ParamError(path, _key(loc), f"{first['msg']}, got {_show(value)}")


def _type_at(loc: list):
    """The annotated type at a pydantic error location, e.g. ('train', 'epochs') -> float."""
    hint = Params
    for part in loc:
        origin = typing.get_origin(hint)
        if is_dataclass(hint):
            hint = typing.get_type_hints(hint)[part]
        elif origin is list:
            hint = typing.get_args(hint)[0]
        elif origin is dict:
            hint = typing.get_args(hint)[1]
        else:  # a part pydantic adds for unions or validators
            break
    return hint


_BOUNDS = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
           "less_than_equal": "le"}


def _range_at(loc: list) -> str:
    """A key's Field bounds in words: `> 0`, `>= 0`, `in [1, 1024]`, `in (0, 1]`."""
    *parents, last = [p for p in loc if isinstance(p, str)]
    hint = typing.get_type_hints(_type_at(parents), include_extras=True)[last]
    bounds = {}
    for meta in typing.get_args(hint)[1:]:
        for item in getattr(meta, "metadata", [meta]):
            for name in _BOUNDS.values():
                if getattr(item, name, None) is not None:
                    bounds[name] = getattr(item, name)
    low = next(((k, v) for k, v in bounds.items() if k in ("gt", "ge")), None)
    high = next(((k, v) for k, v in bounds.items() if k in ("lt", "le")), None)
    if low and high:
        return (f"in {'(' if low[0] == 'gt' else '['}{_plain(low[1])}, "
                f"{_plain(high[1])}{')' if high[0] == 'lt' else ']'}")
    op = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    kind, bound = low or high
    return f"{op[kind]} {_plain(bound)}"


def _plain(value) -> str:
    """A number as Python spells it: 1000000000, 1.0, 0.0003, inf."""
    return repr(value) if isinstance(value, float) else str(value)


def _class_at(loc: list):
    hint = _type_at(loc)
    return hint if is_dataclass(hint) else Params


def _key(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping", type(None): "nothing"}.get(type(value), type(value).__name__)
    return f"{kind} {value!r}" if value is not None else "nothing"
