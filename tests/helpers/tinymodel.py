"""Test helpers: a tiny pretrained-style GPT-2 folder and small synthetic tweet corpora.

No network: `save_tiny_gpt2(folder)` writes what `save_pretrained` writes for a real
base (config.json, model.safetensors, tokenizer.json, tokenizer_config.json): a
2-layer GPT-2 with a byte-level BPE tokenizer trained here. Use it as `model.base`
to exercise the pretrained path for real, or as a model for predict/card tests.

    from tinymodel import save_tiny_gpt2, tweets, write_tweets
    base = save_tiny_gpt2(tmp_path / "base")
    write_tweets(tmp_path / "data/processed/alice/tweets.parquet", tweets(300, seed=1))
"""

from __future__ import annotations

import random
from pathlib import Path

EOS = "<|endoftext|>"

_SUBJECTS = ["I", "We", "My cat", "The team", "Everyone", "My dream", "This city", "Our code",
             "The coffee", "Nobody", "My sister", "The internet", "Today", "The weather"]
_VERBS = ["loves", "hates", "needs", "wants", "broke", "fixed", "shipped", "found", "missed",
          "deserves", "remembers", "ignores", "builds", "explains", "writes"]
_OBJECTS = ["more sleep", "a new laptop", "the last slice of pizza", "pull requests",
            "tiny language models", "Monday mornings", "a long walk", "the bus schedule",
            "open source", "good documentation", "cold brew", "the final exam", "dad jokes"]
_TAILS = ["again", "honestly", "right now", "for once", "as usual", "and I am here for it",
          "lol", "!!", "...", "tbh", "and that is fine", "no comment"]
_TAGS = ["#python", "#monday", "#ml", "#coffee", "#life", "@alice", "@bob", "#dvc", ""]


def tweets(n: int, seed: int = 0) -> list[str]:
    """`n` distinct, tweet-like English lines; the same for the same seed."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        text = " ".join(filter(None, [
            rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS),
            rng.choice(_TAILS), rng.choice(_TAGS),
        ]))
        if text in out:
            text = f"{text} {len(out)}"
        out[text] = None
    return list(out)


def write_tweets(path: Path, texts: list[str]) -> Path:
    """A processed tweets file as the filter stage writes it (id, created_at, text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "id": pa.array(range(1, len(texts) + 1), type=pa.int64()),
        "created_at": pa.array([1_600_000_000_000 + 60_000 * i for i in range(len(texts))],
                               type=pa.timestamp("ms", tz="UTC")),
        "text": pa.array(texts, type=pa.string()),
    })
    pq.write_table(table, path)
    return path


def tiny_tokenizer(texts: list[str] | None = None, vocab_size: int = 512, max_length: int = 256):
    """A GPT-2 style byte-level BPE tokenizer (eos/bos/unk = <|endoftext|>, id 0)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    bpe.train_from_iterator(texts or tweets(500, seed=123), trainer)
    state = json.loads(bpe.to_str())["model"]
    return GPT2Tokenizer(vocab=state["vocab"], merges=[tuple(m) for m in state["merges"]],
                         bos_token=EOS, eos_token=EOS, unk_token=EOS, model_max_length=max_length)


def save_tiny_gpt2(folder: Path, *, n_layer: int = 2, n_head: int = 2, n_embd: int = 32,
                   n_positions: int = 256, vocab_size: int = 512, seed: int = 0) -> Path:
    """Save a random-init tiny GPT2LMHeadModel + its tokenizer to `folder` (safetensors)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = Path(folder)
    tokenizer = tiny_tokenizer(vocab_size=vocab_size, max_length=n_positions)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd,
                        n_layer=n_layer, n_head=n_head, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
