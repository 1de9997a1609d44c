"""Find the base model named by `model.base`, offline first, and load it safely.

`model.base` is 'tiny' (a small GPT-2 trained from scratch, see tokenize/train), a local
model folder, or a Hugging Face Hub id: any causal LM transformers supports natively (GPT-2,
Llama, Qwen2, Mistral, Phi, SmolLM, ...) with safetensors weights and a fast tokenizer. What
differs between them -- end-of-text and padding tokens, context length -- is read from the
model's own tokenizer and config, never assumed. A hub id is looked up in the local Hugging Face
cache and downloaded only when the network is allowed (HF_HUB_OFFLINE unset); nothing
ever falls back to a different model. Weights load only from safetensors and never with
remote code: a pickle checkpoint (pytorch_model.bin) can run arbitrary code when loaded.
The same loaders read a trained bot back in predict: one safe way in for every model.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tweetlm.core.errors import TweetlmError, first_line

TINY = "tiny"
WHERE = "params.yaml: model.base"
# What a base needs to fine-tune and to ship: config, safetensors weights, tokenizer.
# Pickle formats are left out on purpose, so a download never fetches them.
HUB_FILES = [
    "README.md", "config.json", "generation_config.json", "*.safetensors", "model.safetensors.index.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
    "merges.txt", "vocab.txt", "*.model", "*.tiktoken", "added_tokens.json",
]
PICKLE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json", "tokenizer.model", "vocab.txt")
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
# train.block_size auto: the base's context, but no more than the original's GPT-2 blocks;
# longer blocks only add memory on tweets, which are a few dozen tokens each.
AUTO_BLOCK_LIMIT = 1024
# Old short hub ids of the GPT-2 family -> the ids the Hub lists them under now
HUB_IDS = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
}
GPT2_FAMILY = set(HUB_IDS) | set(HUB_IDS.values())


@dataclass(frozen=True)
class Base:
    """A resolved `model.base`: `path` is None for the tiny preset."""

    name: str
    path: Path | None = None
    revision: str | None = None  # hub commit of a cached/downloaded base

    @property
    def is_tiny(self) -> bool:
        return self.path is None

    @property
    def kind(self) -> str:
        """tiny (trained from scratch), local (a model folder), gpt2 (the GPT-2 family from the
        Hub) or hub (any other Hub model): a hub base is the only kind with a revision."""
        if self.is_tiny:
            return "tiny"
        if self.revision is None:
            return "local"
        return "gpt2" if self.name in GPT2_FAMILY else "hub"

    @property
    def hub_id(self) -> str | None:
        """The id the Hub lists a hub base under now (an old short GPT-2 id mapped)."""
        return HUB_IDS.get(self.name, self.name) if self.kind in ("gpt2", "hub") else None

    def describe(self) -> dict:
        # Not the path: it differs between machines (the HF cache), the commit does not.
        return {"base": self.name, "base_revision": self.revision,
                "base_license": None if self.is_tiny else license_of(self.path)}


def is_local(base: str) -> bool:
    """True when `model.base` names a folder on this machine (as `resolve` reads it)."""
    return base != TINY and Path(base).expanduser().exists()


def shown_name(base: str) -> str:
    """`model.base` as the card, the picture and the adapter's README show it: a local folder
    by its own name, never this machine's path (/home/me/...); 'tiny' and hub ids as written."""
    return Path(base).expanduser().resolve().name if is_local(base) else base


def license_of(folder: Path) -> str | None:
    """The `license:` of a model folder's README.md front matter (a Hub model card), if any."""
    import yaml
    from huggingface_hub import metadata_load

    try:
        head = metadata_load(folder / "README.md")
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None
    value = head.get("license") if isinstance(head, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def hub_offline() -> bool:
    """True where the Hub must not be contacted (read fresh, not at import time)."""
    return any(os.environ.get(k, "").strip().lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve(base: str, revision: str = "") -> Base:
    """Resolve `model.base`: 'tiny', else a local folder, else the HF cache, else the Hub."""
    if base == TINY:
        return Base(TINY)
    path = Path(base).expanduser()
    if path.exists():
        if not path.is_dir():
            raise TweetlmError(f"{WHERE}: {base} is a file: point it at a model folder")
        check_model_dir(path, base)
        return Base(base, path.resolve())
    if base.startswith((".", "/", "~")) or not REPO_ID.fullmatch(base):
        raise TweetlmError(f"{WHERE}: folder {base} not found: point model.base at a model "
                           "folder (config.json, model.safetensors, tokenizer), a hub id or 'tiny'")
    return _from_hub(base, revision or None)


def _from_hub(repo_id: str, revision: str | None) -> Base:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    pin = f"@{revision}" if revision else ""
    how = (f"run `hf download {repo_id}{' --revision ' + revision if revision else ''} "
           "--include '*.json' '*.safetensors' '*.txt'` on a machine with network and copy "
           "its ~/.cache/huggingface/hub here, or set model.base to a local model folder")
    folder = None
    try:  # the cache first, even when the network is allowed
        folder = snapshot_download(repo_id, revision=revision, local_files_only=True,
                                   allow_patterns=HUB_FILES)
    except (LocalEntryNotFoundError, OSError, ValueError):
        pass
    if folder is not None and (_complete(Path(folder)) or _pickle_only(Path(folder))):
        return _cached(repo_id, Path(folder), revision)  # the latter raises
    if hub_offline():
        state = "is incomplete in" if folder else "is not in"
        raise TweetlmError(f"{WHERE}: {repo_id}{pin} is not a local folder and {state} the "
                           f"Hugging Face cache, and HF_HUB_OFFLINE is set: {how}")
    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES)
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise TweetlmError(f"{WHERE}: could not download {repo_id}{pin} ({first_line(e)}): {how}")
    return _cached(repo_id, Path(folder), revision)


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _pickle_only(folder: Path) -> bool:
    return not any(folder.glob("*.safetensors")) and any(
        p for pattern in PICKLE_WEIGHTS for p in folder.glob(pattern))


def _cached(repo_id: str, folder: Path, revision: str | None) -> Base:
    check_model_dir(folder, repo_id)
    # The snapshot folder is named after the commit: record it, so a card or a
    # metrics file says exactly which weights were fine-tuned.
    return Base(repo_id, folder, folder.name)


def check_model_dir(path: Path, name: str) -> None:
    """Refuse folders that are not a model, hold only pickle weights, or need remote code."""
    config = path / "config.json"
    if not config.is_file():
        raise TweetlmError(f"{WHERE}: {name} has no config.json: point model.base at a Hugging "
                           "Face model folder (as written by save_pretrained)")
    if not any(path.glob("*.safetensors")):
        pickles = sorted(p.name for pattern in PICKLE_WEIGHTS for p in path.glob(pattern))
        if pickles:
            raise TweetlmError(
                f"{WHERE}: {name} holds only pickle weights ({pickles[0]}), which can run code "
                "when loaded and are refused: convert them to safetensors on a machine you trust "
                "(from_pretrained(..., use_safetensors=False) then save_pretrained) and point "
                "model.base at the converted folder")
        raise TweetlmError(f"{WHERE}: {name} has no *.safetensors weights: point model.base at "
                           "a folder written by save_pretrained")
    try:
        cfg = json.loads(config.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TweetlmError(f"{config}: not valid JSON ({e}): re-download or re-save the model")
    if "auto_map" in cfg:
        raise TweetlmError(f"{config}: auto_map: this model needs its own Python code "
                           "(trust_remote_code), which tweetlm never runs: pick a model "
                           "transformers supports natively")
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise TweetlmError(f"{WHERE}: {name} has no tokenizer (tokenizer.json): save the "
                           "tokenizer next to the model (tokenizer.save_pretrained)")


def load_tokenizer(path: Path, fix: str = "re-save it with tokenizer.save_pretrained"):
    """The tokenizer saved in `path`; it must have an end-of-text token to join tweets.
    `fix` ends the error message: what the user should do."""
    try:
        tokenizer = _tokenizer_class(path).from_pretrained(path, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as e:
        raise TweetlmError(f"{path}: cannot load the tokenizer ({first_line(e)}): {fix}")
    if tokenizer.eos_token_id is None:
        raise TweetlmError(f"{path}: the tokenizer has no eos_token to separate tweets: set "
                           "eos_token in tokenizer_config.json")
    return tokenizer


def _tokenizer_class(path: Path):
    """The transformers class tokenizer_config.json names (what AutoTokenizer would pick),
    else AutoTokenizer itself. Straight to the class: importing AutoTokenizer loads the
    model-config machinery and, through it, torch (1.4 s of tokenize's start on a CPU)."""
    import transformers

    try:
        name = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        name = name.get("tokenizer_class") if isinstance(name, dict) else None
    except (OSError, ValueError):
        name = None
    if isinstance(name, str) and name.isidentifier() and name.endswith(
            ("Tokenizer", "TokenizerFast")):
        try:
            found = getattr(transformers, name)
        except (AttributeError, ImportError):
            found = None
        if isinstance(found, type) and issubclass(found, transformers.PreTrainedTokenizerBase):
            return found
    return transformers.AutoTokenizer


BASE_FIX = "model.base must be a text-generation model with safetensors weights"


def load_model(path: Path, fix: str = BASE_FIX, **kwargs):
    """A causal LM from `path`: safetensors only, never remote code. `fix` ends the error
    message: what the user should do (train's base and predict's trained model differ)."""
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM

    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            path, use_safetensors=True, trust_remote_code=False, output_loading_info=True,
            **kwargs
        )
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as e:  # + wrong shapes
        raise TweetlmError(f"{path}: cannot load the model ({first_line(e)}): {fix}")
    # transformers fills weights missing from the file with random ones: a damaged or
    # foreign model.safetensors would otherwise run on noise without a word
    if info["missing_keys"]:
        raise TweetlmError(f"{path}/model.safetensors: {len(info['missing_keys'])} weights "
                           f"missing ({min(info['missing_keys'])}...): it is damaged or another "
                           f"model's; {fix}")
    return model


def context_length(config) -> int | None:
    """How many tokens a model attends to (GPT-2: n_positions, most others:
    max_position_embeddings); `config` is a model's config or its config.json as a dict."""
    get = config.get if isinstance(config, dict) else (lambda key: getattr(config, key, None))
    return get("n_positions") or get("max_position_embeddings") or get("n_ctx")


def block_size(base: Base, wanted: int | str, tiny_context: int) -> int:
    """train.block_size resolved: `auto` is the base's context (the tiny preset's is
    `tiny_context`, model.tiny.n_positions) up to AUTO_BLOCK_LIMIT; a number must fit it."""
    if base.is_tiny:
        limit = tiny_context
    else:
        limit = context_length(json.loads((base.path / "config.json").read_text(encoding="utf-8")))
    if wanted == "auto":
        return min(limit or AUTO_BLOCK_LIMIT, AUTO_BLOCK_LIMIT)
    if limit and wanted > limit:
        raise TweetlmError(f"params.yaml: train.block_size: {wanted} is longer than "
                           f"{base.name} can attend to ({limit} tokens): lower it or use auto")
    return wanted


def pad_token_id(tokenizer) -> int:
    """The id to pad with: the tokenizer's own pad token, else its end-of-text (GPT-2, Llama
    have none; padded positions are masked out anyway)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
