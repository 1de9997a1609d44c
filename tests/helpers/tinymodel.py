"""Test helpers: a tiny pretrained-style GPT-2 folder and small synthetic tweet corpora.

No network: `save_tiny_gpt2(folder)` writes what `save_pretrained` writes for a real
base (config.json, model.safetensors, tokenizer.json, tokenizer_config.json): a
2-layer GPT-2 with a byte-level BPE tokenizer trained here. Use it as `model.base`
to exercise the pretrained path for real, or as a model for predict/card tests.
`save_tiny_causal_lm(folder, arch)` does the same for GPT-2, Llama and Qwen2, each with a
`tokenizers` fast tokenizer and special tokens of its own (ARCHITECTURES).

    from helpers.tinymodel import save_tiny_gpt2, tweets, write_tweets
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


# Tiny random models of other architectures, each with its own special tokens: what
# tokenize/train/predict must read from the model, not assume from GPT-2.
ARCHITECTURES = {  # name -> (bos, eos, pad or None, context)
    "gpt2": (EOS, EOS, None, 64),
    "llama": ("<s>", "</s>", None, 96),  # adds <s> in front unless told not to, no pad
    "qwen2": (None, "<|im_end|>", "<|endoftext|>", 2048),  # a pad of its own; 2048 > 1024
}


def fast_tokenizer(bos: str | None, eos: str, pad: str | None, vocab_size: int = 400,
                   max_length: int = 1024):
    """A byte-level BPE `tokenizers` tokenizer wrapped as transformers' fast tokenizer, with
    these special tokens (a BOS template when `bos` is given, as Llama's)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [t for t in (bos, eos, pad) if t]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2,
                                  special_tokens=list(dict.fromkeys(specials)),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    bpe.train_from_iterator(tweets(500, seed=123), trainer)
    if bos and bos != eos:  # Llama's habit; GPT-2 adds nothing
        bpe.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bpe.token_to_id(bos))])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=bos, eos_token=eos,
                                   pad_token=pad, model_max_length=max_length)


def save_tiny_causal_lm(folder: Path, arch: str, seed: int = 0, license: str | None = None,
                        embedding_scale: float = 1.0) -> Path:
    """A random-init tiny `arch` (gpt2, llama, qwen2) and its fast tokenizer, saved as
    save_pretrained does (safetensors), with a README.md carrying `license` if given.

    `embedding_scale` multiplies the token embeddings (and output layer): a random model's
    are so small that its logits can hardly move without training them, which LoRA never
    does; a trained model's are several times larger."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, \
        Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    bos, eos, pad, context = ARCHITECTURES[arch]
    tok = fast_tokenizer(bos, eos, pad, max_length=context)
    ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
           "pad_token_id": tok.pad_token_id}
    if arch == "gpt2":
        config, cls = GPT2Config(vocab_size=len(tok), n_positions=context, n_embd=32,
                                 n_layer=2, n_head=2, **ids), GPT2LMHeadModel
    else:
        config_cls, cls = ((LlamaConfig, LlamaForCausalLM) if arch == "llama"
                           else (Qwen2Config, Qwen2ForCausalLM))
        config = config_cls(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                            max_position_embeddings=context, tie_word_embeddings=arch == "qwen2",
                            **ids)
    torch.manual_seed(seed)
    model = cls(config)
    with torch.no_grad():
        weights = [model.get_input_embeddings().weight, model.get_output_embeddings().weight]
        for weight in {id(w): w for w in weights}.values():  # tied: scale once
            weight.mul_(embedding_scale)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)
    if license:
        (folder / "README.md").write_text(f"---\nlicense: {license}\n---\n# tiny {arch}\n")
    return folder
