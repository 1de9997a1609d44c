"""tokenize: tweets -> token ids, ready to train on.

data/processed/<handle>/tweets.parquet (every handle of a bot) -> data/tokenized/<bot>/:

    train.arrow, validation.arrow   the token ids, one Arrow IPC file per split (the file
                                    format: pyarrow.ipc.new_file, uncompressed; read it with
                                    pyarrow.ipc.open_file(path).read_all()), one column,
                                    input_ids (list<int32>): train holds one row per training
                                    tweet (its ids, then end-of-text), which train packs afresh
                                    every epoch; validation holds fixed blocks (no rows with
                                    tokenize.val_fraction 0)
    tokenizer/                      the tokenizer train must use
    train_tweets.json               the training tweets as text, each once: what predict
                                    checks its samples against (memorization)
    meta.json                       tweet and token counts per split, the resolved block size,
                                    the base (its name, revision, license, kind and hub id),
                                    how a bot's handles were balanced and the warnings when a
                                    handle was repeated too often (`oversampling`): what train
                                    checks its params against and the card shows

and, for a bot listed under `bots`, reports/<bot>/stats.json: each handle's filter counts
(copied from reports/<handle>/stats.json, for the card) and its training tweets and characters
before and after balancing.

Tweets are split into train and validation FIRST (by distinct text, so a repeated tweet
never sits on both sides), then each is encoded and followed by the tokenizer's end-of-text
token, as huggingtweets did. The validation tweets are concatenated and cut into blocks of
the resolved block size (train.block_size; auto is the base's context up to 1024, see
pretrained.block_size) as run_clm.py's group_texts does, the last shorter block kept, so even
a small handle is evaluated on all its held-out tweets. The training tweets stay whole: train
shuffles and packs them again every epoch, as the original wrote every epoch's tweets in a
new order. In a bot of several handles each handle's training tweets are oversampled (whole
copies, then a seeded random sample) until its characters match the largest handle's, so
every handle weighs the same in training, as huggingtweets did. Validation is never
oversampled; the tokenizer learns from each training tweet once.

`model.base: tiny` trains a byte-level BPE tokenizer (GPT-2's scheme, vocabulary
`model.tiny.vocab_size`) on the training tweets only; any other base uses its own.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from tweetlm.shared import pretrained, tracking
from tweetlm.shared.balance import balance, oversampling_warnings
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, not_built, rerun, run_first, warn
from tweetlm.core.outputs import atomic_path, read_json, write_json
from tweetlm.core.params import Params

EOS = "<|endoftext|>"  # the tiny tokenizer's only special token (GPT-2's); other bases bring theirs


def read_tweets(handle: str) -> list[str]:
    """The non-empty `text` values of a handle's processed tweets (filter's), in file order."""
    import pyarrow.parquet as pq

    path, filter_stage = layout.processed(handle), layout.stage_id("filter", handle)
    if not path.is_file():
        raise not_built(path, filter_stage)
    try:
        table = pq.read_table(path, columns=["text"])
    except (OSError, ValueError, KeyError) as e:  # pyarrow: ArrowInvalid is a ValueError
        raise TweetlmError(f"{path}: cannot read column `text` ({e}): {rerun(filter_stage)}")
    texts = [t for t in table.column("text").to_pylist() if t and t.strip()]
    if not texts:
        raise TweetlmError(f"{path}: no tweets left to train on: add raw tweets or relax "
                           "the filter params (filter.min_words)")
    return texts


def member_stats(handle: str) -> dict[str, int]:
    """filter's counts for one handle of a bot, reports/<handle>/stats.json, as filter wrote
    them: the bot's card shows them."""
    return read_json(layout.stats(handle), run_first(layout.stage_id("filter", handle)))


def split_tweets(texts: list[str], val_fraction: float, seed: int, key: str = ""):
    """Seeded train/validation split by distinct text; both keep the original order.

    `key` (the handle) feeds the seed, so a handle splits the same way in every bot.
    """
    distinct = list(dict.fromkeys(texts))
    n = len(distinct)
    n_val = min(n - 1, max(1, round(val_fraction * n))) if val_fraction > 0 and n >= 2 else 0
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    held_out = {distinct[i] for i in rng.permutation(n)[:n_val]}
    train = [t for t in texts if t not in held_out]
    validation = [t for t in texts if t in held_out]
    return train, validation


def train_tiny_tokenizer(texts: list[str], vocab_size: int, max_length: int):
    """A GPT-2 style byte-level BPE tokenizer trained on `texts`; deterministic."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Tokenizer  # transformers 5's GPT2TokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no unknowns
    )
    bpe.train_from_iterator(texts, trainer)
    state = json.loads(bpe.to_str())["model"]
    return GPT2Tokenizer(
        vocab=state["vocab"], merges=[tuple(m) for m in state["merges"]],
        bos_token=EOS, eos_token=EOS, unk_token=EOS, model_max_length=max_length,
    )


def encode_each(tokenizer, texts: list[str]) -> list[np.ndarray]:
    """Each tweet's token ids followed by the tokenizer's end-of-text token; no BOS.

    A tweet that literally contains the end-of-text text is encoded as text, not as the token.
    """
    if not texts:
        return []
    # verbose=False: a tweet longer than the model's context is fine here, it gets packed
    ids = tokenizer(texts, add_special_tokens=False, split_special_tokens=True,
                    verbose=False)["input_ids"]
    eos = tokenizer.eos_token_id
    return [np.array([*x, eos], dtype=np.int32) for x in ids]


def encode(tokenizer, texts: list[str]) -> np.ndarray:
    """One stream of token ids: each tweet followed by the end-of-text token."""
    each = encode_each(tokenizer, texts)
    return np.concatenate(each) if each else np.zeros(0, dtype=np.int32)


def pack(stream: np.ndarray, block_size: int, keep_remainder: bool) -> list[np.ndarray]:
    """Cut `stream` into blocks of `block_size`; the last partial one is kept only if asked
    (and only if it holds at least two tokens: one prediction)."""
    n_full = len(stream) // block_size
    blocks = list(stream[: n_full * block_size].reshape(n_full, block_size))
    rest = stream[n_full * block_size:]
    if keep_remainder and len(rest) >= 2:
        blocks.append(rest)
    return blocks


def to_table(rows: list[np.ndarray]):  # rows of any length
    """One split as an Arrow table: one column, input_ids (list<int32>), a row per block."""
    import pyarrow as pa

    values = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int32)
    column = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.int32()))
    return pa.table({"input_ids": column})


def write_split(table, path: Path) -> None:
    """A split as an Arrow IPC file: the same rows always give the same bytes (DVC hashes them)."""
    import pyarrow as pa

    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


# How a tokenizer was loaded, which transformers copies into tokenizer_config.json: it
# would make the same tokenizer save differently per machine (HF_HUB_OFFLINE, cache path).
LOAD_TIME_KEYS = ("is_local", "local_files_only", "name_or_path", "_commit_hash", "cache_dir",
                  "revision", "token", "trust_remote_code", "force_download", "proxies")


def save_tokenizer(tokenizer, folder: Path) -> None:
    """save_pretrained, minus the load-time keys: same tokenizer, same bytes everywhere."""
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    for key in LOAD_TIME_KEYS:
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def base_meta(base: pretrained.Base) -> dict:
    """What meta.json records of the base: its name, revision and license (what train checks
    and records), its kind and hub id (what the card says the bot was trained from)."""
    return {**base.describe(), "base_kind": base.kind, "base_hub_id": base.hub_id}


def tokenize(tweets: dict[str, list[str]], params: Params, base: pretrained.Base,
             source: str = "the tweets"):
    """Split and encode the tweets of each handle -> (split name -> Arrow table, tokenizer,
    meta, training tweets: each once, in handle order)."""
    settings = params.tokenize
    block_size = pretrained.block_size(base, params.train.block_size,
                                       params.model.tiny.n_positions)
    train_texts, val_texts, train_of = [], [], {}
    for handle, texts in tweets.items():
        train, val = split_tweets(texts, settings.val_fraction, settings.seed, handle)
        train_texts += train
        val_texts += val
        train_of[handle] = train
    row_texts, balanced = train_texts, None  # the train rows: a tweet per row
    if len(tweets) > 1:  # a bot of several handles: each weighs the same
        train_of, balanced = balance(train_of, settings.seed)
        row_texts = [t for texts in train_of.values() for t in texts]
        shuffle = np.random.default_rng([settings.seed, zlib.crc32(b"balance")]).permutation
        row_texts = [row_texts[i] for i in shuffle(len(row_texts))]
    if base.is_tiny:
        tokenizer = train_tiny_tokenizer(train_texts, params.model.tiny.vocab_size,
                                         params.model.tiny.n_positions)
    else:
        tokenizer = pretrained.load_tokenizer(base.path)
    rows = encode_each(tokenizer, row_texts)
    val_stream = encode(tokenizer, val_texts)
    train_tokens = sum(map(len, rows))
    blocks = train_tokens // block_size  # every epoch, whatever the order: the tail is dropped
    if not blocks:
        raise TweetlmError(
            f"{source}: {len(train_texts)} training tweets make {train_tokens} tokens, "
            f"less than one block ({block_size} tokens, train.block_size: "
            f"{params.train.block_size}): add tweets or lower train.block_size in params.yaml")
    val_blocks = pack(val_stream, block_size, keep_remainder=True)
    splits = {"train": to_table(rows), "validation": to_table(val_blocks)}
    meta = {
        **base_meta(base),
        "handles": list(tweets),
        "tokenizer": type(tokenizer).__name__,
        "vocab_size": len(tokenizer),
        "eos_token": tokenizer.eos_token,
        "eos_token_id": tokenizer.eos_token_id,
        "block_size": block_size,  # resolved: what train packs and the card shows
        "packing": "per-epoch",  # train rows are tweets, packed afresh every epoch
        "val_fraction": settings.val_fraction,
        "seed": settings.seed,
        "splits": {
            "train": {"tweets": len(train_texts), "rows": len(rows), "tokens": train_tokens,
                      "blocks": blocks, "tokens_in_blocks": blocks * block_size},
            "validation": {"tweets": len(val_texts), "tokens": int(len(val_stream)),
                           "blocks": len(val_blocks),
                           "tokens_in_blocks": int(sum(map(len, val_blocks)))},
        },
    }
    if balanced:
        meta["balance"] = balanced
    return splits, tokenizer, meta, train_texts


def main(name: str, params: Params) -> None:
    handles, bot = params.bot_handles(name), layout.bot(name)
    sources = [layout.processed(h) for h in handles]
    base = pretrained.resolve(params.model.base, params.model.revision)
    tweets = {h: read_tweets(h) for h in handles}
    # a bot's card shows each handle's filter counts: copied here, so that the card's deps
    # name one file of the bot's own (dvc.yaml cannot list a bot's handles)
    stats = {h: member_stats(h) for h in handles} if name in params.bots else None
    config = {"tokenize": asdict(params.tokenize), "block_size": params.train.block_size,
              "base": params.model.base, "revision": params.model.revision,
              "tiny_vocab_size": params.model.tiny.vocab_size,
              "tiny_n_positions": params.model.tiny.n_positions, "handles": handles}
    with tracking.stage_run("tokenize", name, params, config) as run:
        for handle, path in zip(handles, sources):
            tracking.use_artifact(run, f"processed-{handle}", "dataset", path)
        splits, tokenizer, meta, train_texts = tokenize(tweets, params, base,
                                                        ", ".join(map(str, sources)))
        # the card shows these warnings as they were given here
        meta["oversampling"] = oversampling_warnings(name, meta.get("balance", {}),
                                                     params.tokenize.max_oversampling)
        with atomic_path(bot.tokenized, directory=True) as tmp:
            for split, table in splits.items():
                write_split(table, layout.split_file(tmp, split))
            save_tokenizer(tokenizer, tmp / layout.TOKENIZER_DIR)
            write_json(tmp / layout.TOKENIZED_META, meta)
            write_json(tmp / layout.TRAIN_TWEETS, list(dict.fromkeys(train_texts)))
        if stats is not None:
            write_json(bot.stats,
                       {h: {**stats[h], **meta.get("balance", {}).get(h, {})} for h in handles})
        split = meta["splits"]
        print(f"tokenize {name}: {split['train']['tweets']} train / "
              f"{split['validation']['tweets']} validation tweets -> "
              f"{split['train']['tokens']:,} tokens ({split['train']['blocks']} blocks an epoch) "
              f"+ {split['validation']['blocks']} validation blocks of {meta['block_size']} "
              f"tokens ({meta['tokenizer']}, vocab {meta['vocab_size']})")
        for handle, n in meta.get("balance", {}).items():
            if n["balanced_tweets"] != n["train_tweets"]:
                print(f"tokenize {name}: balanced @{handle}: {n['train_tweets']} -> "
                      f"{n['balanced_tweets']} training tweets, {n['train_chars']:,} -> "
                      f"{n['balanced_chars']:,} characters")
        for warning in meta["oversampling"]:
            warn(warning)
        tracking.log_summary(run, {f"{s}/{k}": v for s, d in split.items() for k, v in d.items()})
        tracking.log_artifact(run, f"tokenized-{name}", "dataset", bot.tokenized, metadata=meta)
