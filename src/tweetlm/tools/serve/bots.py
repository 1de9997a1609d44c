"""The bots `tweetlm serve` shows: which exist, their files (never outside models/ and
reports/), and their models, loaded once on first use, and talked to.

Generation is predict's (prompt check, batched sampling, decoding) with the bot's own
sampling settings from its generation_config.json, adjustable per request; every tweet is
checked against the bot's training tweets by predict's memorization check, with the n-gram
and threshold predict used (from predictions.json).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, show_path
from tweetlm.core.params import check_name

SERVED_FOLDERS = ("models", "reports")  # the only folders a request may read from
MAX_TWEETS = 20
MAX_PROMPT_CHARS = 1000  # before tokenizing: a pasted novel is refused without the work


def safe_name(name: object, known: list[str]) -> str:
    """`name` if it is one of the `known` bots, BOT or BOT@EXP (each part checked as a path
    part first), else an error."""
    from tweetlm.tools.serve.experiments import split

    if not isinstance(name, str):
        check_name(name, "bot")
    split(name)
    if name not in known:
        raise TweetlmError(f"unknown bot {name!r}: choose one of {', '.join(known) or 'none'}")
    return name


def safe_file(root: Path, request: str) -> Path:
    """The file `request` (relative, POSIX) names under root/models or root/reports; refused
    when absolute, with `..`, through a link, or outside those folders."""
    path = PurePosixPath(request)
    if path.is_absolute() or "\\" in request or ".." in path.parts or not path.parts:
        raise TweetlmError(f"refused: {show_path(request)}: a relative path without `..`")
    if path.parts[0] not in SERVED_FOLDERS or len(path.parts) < 2:
        raise TweetlmError(f"refused: {show_path(request)}: only files under "
                           f"{' and '.join(f + '/' for f in SERVED_FOLDERS)} are served")
    full = Path(root)
    for part in path.parts:  # no link anywhere on the way: it could lead anywhere
        full = full / part
        if full.is_symlink():
            raise TweetlmError(f"refused: {show_path(request)}: a link")
    if not full.is_file():
        raise TweetlmError(f"not found: {show_path(request)}")
    return full


def built(root: Path, names: list[str]) -> list[str]:
    """The bots of `names` whose model is built (train ran) under `root`."""
    return [n for n in names if all((root / f).is_file() and not (root / f).is_symlink()
                                    for f in layout.bot(n).model_files)]


@dataclass(frozen=True)
class Settings:
    """What a person can adjust per request; the bot's own values are the defaults."""

    n: int = 5
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int | None = None  # None: new tweets each time

    def checked(self) -> Settings:
        if not 1 <= self.n <= MAX_TWEETS:
            raise TweetlmError(f"how many: {self.n}: choose 1 to {MAX_TWEETS}")
        if not self.temperature > 0:
            raise TweetlmError(f"temperature: {self.temperature}: must be above 0")
        if not 0 < self.top_p <= 1:
            raise TweetlmError(f"top_p: {self.top_p}: must be in (0, 1]")
        return self


@dataclass(frozen=True)
class Tweet:
    text: str
    copy: bool  # copies a training tweet (predict's check); False when it can't be checked
    source: str | None  # the training tweet it copies


def own_config(root: Path, name: str):
    """The bot's sampling settings as predict saved them (generation_config.json), or
    predict's defaults when predict has not run."""
    from transformers import GenerationConfig

    model = Path(root) / layout.bot(name).model
    if (model / "generation_config.json").is_file():
        return GenerationConfig.from_pretrained(model)
    return GenerationConfig(do_sample=True, top_p=0.95, max_length=160, min_new_tokens=10)


def settings_of(config) -> Settings:
    return Settings(temperature=config.temperature or 1.0, top_p=config.top_p or 1.0)


def reports_of(root: Path, name: str) -> tuple[dict, dict, list[str] | None]:
    """(predictions.json, train_metrics.json, the training tweets) of a bot, each empty or
    None when its stage has not run: the page still talks, with predict's defaults."""
    from tweetlm.core.outputs import read_json

    paths = layout.bot(name)

    def read(path: Path, empty):
        return read_json(root / path, "") if (root / path).is_file() else empty

    return read(paths.predictions, {}), read(paths.train_metrics, {}), \
        read(paths.train_tweets, None)


class Bot:
    """One bot's model, tokenizer, sampling settings and training tweets, loaded from its
    folders under `root`; `lock` makes its generations one at a time (a model is not
    thread-safe to sample from concurrently, and two would only share the same cores)."""

    def __init__(self, root: Path, name: str, display_names: dict[str, str],
                 label: str | None = None):
        from transformers.utils import logging

        from tweetlm.shared.identity import SYNTHETIC_HANDLES, name_of
        from tweetlm.predict import load_model

        logging.disable_progress_bar()  # "Loading weights" bars would fill the server's log
        self.name = label or name  # BOT@EXP for an experiment's model
        self.model, self.tokenizer = load_model(root / layout.bot(name).model)
        self.config = own_config(root, name)
        self.config.eos_token_id = self.tokenizer.eos_token_id
        if self.config.pad_token_id is None:
            self.config.pad_token_id = self.tokenizer.eos_token_id
        info, metrics, self.tweets = reports_of(root, name)
        memo = info.get("memorization", {})  # predict's copy check, as it ran
        self.ngram, self.threshold = memo.get("ngram", 8), memo.get("threshold", 0.5)
        self.one_line = info.get("sampling", {}).get("cut_at_newline", True)
        self.handles = info.get("handles", [name])
        self.names = [name_of(h, display_names, root) for h in self.handles]
        self.synthetic = [h for h in self.handles if h in SYNTHETIC_HANDLES]  # made-up ones
        self.base = metrics.get("base") or "model"
        self.lock = threading.Lock()

    def talk(self, prompt: str, settings: Settings) -> list[Tweet]:
        """`settings.n` tweets starting with `prompt`, each checked for copies."""
        import random

        from tweetlm.predict import decode, generate_ids, prompt_ids
        from tweetlm.predict.memorization import check
        from tweetlm.shared.pretrained import context_length

        chosen = settings.checked()
        prompt = " ".join(str(prompt or "").split())
        if not prompt:
            raise TweetlmError("type the start of a tweet first: the prompt is empty")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise TweetlmError(f"the prompt is {len(prompt)} characters: keep it under "
                               f"{MAX_PROMPT_CHARS}")
        config = replace_config(self.config, temperature=chosen.temperature,
                                top_p=chosen.top_p)
        # a tweet ends at max_length tokens, and never past the model's context
        limit = min(filter(None, (config.max_length, context_length(self.model.config))))
        request = SimpleNamespace(prompts=[prompt], max_length=limit, batch_size=MAX_TWEETS,
                                  min_new_tokens=config.min_new_tokens or 0)  # as PredictParams
        try:
            ids = prompt_ids(self.tokenizer, request)
        except TweetlmError:  # predict's message names params.yaml: not what was typed here
            raise TweetlmError(f"the prompt is too long for this bot: it writes at most "
                               f"{limit} tokens, prompt included") from None
        seed = chosen.seed if chosen.seed is not None else random.randrange(2**31)
        with self.lock:  # seeds torch globally: two bots at once may mix their streams
            rows = generate_ids(self.model, ids, chosen.n, request, config, seed)
        texts = [decode(self.tokenizer, row, self.one_line) for row in rows]
        if self.tweets is None:
            return [Tweet(text, False, None) for text in texts]
        checks = check(texts, self.tweets, self.ngram, self.threshold, not self.one_line)
        return [Tweet(text, found.copy, found.source) for text, found in zip(texts, checks)]


def replace_config(config, **changes):
    """A copy of a GenerationConfig with `changes`: the bot's own stays as loaded."""
    import copy

    new = copy.deepcopy(config)
    for key, value in changes.items():
        setattr(new, key, value)
    return new


class Bots:
    """The project's built bots, and BOT@EXP for each DVC experiment in `runs` ({name: commit})
    that holds a model of one; each model loaded once, on first use (a lock per bot: a
    request for one bot never waits for another's load)."""

    def __init__(self, root: Path, names: list[str], display_names: dict[str, str] | None = None,
                 runs: dict[str, str] | None = None):
        from tweetlm.tools.serve.experiments import with_model

        self.root = Path(root)
        self.bots = built(self.root, names)  # the workspace's: the gallery shows these
        self.names = self.bots + (with_model(self.root, names, runs) if runs else [])
        self.display_names = display_names or {}
        self.runs = runs or {}
        self._loaded: dict[str, Bot] = {}
        self._locks = {n: threading.Lock() for n in self.names}
        self._fetched = None  # a temporary folder for experiments' files, made on first use

    def get(self, name: object) -> Bot:
        from tweetlm.tools.serve.experiments import split

        name = safe_name(name, self.names)
        with self._locks[name]:
            if name not in self._loaded:
                bot, exp = split(name)
                root = self.root if exp is None else self._experiment(bot, exp)
                self._loaded[name] = Bot(root, bot, self.display_names, label=name)
            return self._loaded[name]

    def _experiment(self, bot: str, exp: str) -> Path:
        import tempfile

        from tweetlm.tools.serve.experiments import fetch

        if self._fetched is None:
            self._fetched = tempfile.TemporaryDirectory(prefix="tweetlm-serve-")
        return fetch(self.root, self.runs[exp], bot, Path(self._fetched.name) / exp / bot)

    def defaults(self, name: object) -> Settings:
        """The bot's own temperature and top_p, without loading its model."""
        from tweetlm.tools.serve.experiments import split

        bot, _ = split(safe_name(name, self.names))  # BOT@EXP starts from BOT's own
        return settings_of(own_config(self.root, bot))



