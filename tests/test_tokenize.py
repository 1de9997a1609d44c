"""tokenize: split by tweet before packing, one train row per tweet (train packs them every
epoch), exact validation blocks, eos after every tweet, the block size resolved, determinism."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from helpers.params import make_params
from helpers.stages import read_splits
from helpers.tinymodel import save_tiny_gpt2, tweets, write_tweets

from tweetlm import tokenize
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params
from tweetlm.shared.pretrained import Base
from tweetlm.core import layout

BLOCK = 32
# handles alice and bob, and their bot
DUO = {"handles": ["alice", "bob"], "bots": {"alicebob": ["alice", "bob"]},
       "tokenize.val_fraction": 0.1, "tokenize.seed": 7, "model.base": "tiny",
       "model.tiny.vocab_size": 400, "train.block_size": BLOCK}


def duo_params(**overrides) -> Params:
    return make_params(**{**DUO, **overrides})


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tmp_path


def tokenized(name="alice", root=Path(".")):
    return read_splits(root / layout.bot(name).tokenized)


def load_tok(root=Path("."), name="alice"):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(root / layout.bot(name).tokenizer)


def test_encode_puts_eos_after_every_tweet_and_keeps_literal_eos_text():
    tok = tokenize.train_tiny_tokenizer(tweets(200), 400, BLOCK)
    texts = ["hello world", "a tweet about <|endoftext|> tokens", "bye"]
    stream = tokenize.encode(tok, texts)
    eos = tok.eos_token_id
    assert stream[-1] == eos
    cuts = np.flatnonzero(stream == eos)
    assert len(cuts) == len(texts)  # the literal text did not become a separator
    pieces = np.split(stream, cuts + 1)[:-1]
    assert [tok.decode(p[:-1]) for p in pieces] == texts


def test_pack_makes_exact_blocks_and_conserves_tokens():
    stream = np.arange(100, dtype=np.int32)
    blocks = tokenize.pack(stream, 32, keep_remainder=False)
    assert [len(b) for b in blocks] == [32, 32, 32]
    assert np.array_equal(np.concatenate(blocks), stream[:96])
    kept = tokenize.pack(stream, 32, keep_remainder=True)
    assert [len(b) for b in kept] == [32, 32, 32, 4]
    assert np.array_equal(np.concatenate(kept), stream)
    # a lone last token predicts nothing: not a block
    assert [len(b) for b in tokenize.pack(stream[:65], 32, keep_remainder=True)] == [32, 32]


def test_tokenize_stage_writes_blocks_tokenizer_and_meta(workdir):
    texts = tweets(400, seed=1)
    write_tweets(workdir / layout.processed("alice"), texts)
    tokenize.main("alice", duo_params())

    out = workdir / layout.bot("alice").tokenized
    data = tokenized()
    meta = json.loads((out / "meta.json").read_text())
    tok = load_tok()
    assert type(tok).__name__ == "GPT2Tokenizer"
    assert tok.eos_token == tok.bos_token == tok.unk_token == "<|endoftext|>"
    assert len(tok) <= 400 and len(tok) == meta["vocab_size"]

    # train: one row per training tweet, in split order: its ids, then end-of-text
    train_tweets, _ = tokenize.split_tweets(texts, 0.1, 7, "alice")
    train = data["train"]["input_ids"]
    assert [tok.decode(row[:-1]) for row in train] == train_tweets
    assert all(row[-1] == tok.eos_token_id and tok.eos_token_id not in row[:-1] for row in train)
    val = data["validation"]["input_ids"]  # fixed blocks, the last one shorter
    assert all(len(b) == BLOCK for b in val[:-1]) and 2 <= len(val[-1]) <= BLOCK

    s = meta["splits"]
    assert s["train"]["tweets"] + s["validation"]["tweets"] == len(texts)
    assert s["validation"]["tweets"] == round(0.1 * len(texts))
    assert s["train"]["rows"] == s["train"]["tweets"] == len(train)
    assert s["train"]["tokens"] == sum(map(len, train))
    assert s["train"]["blocks"] == s["train"]["tokens"] // BLOCK  # per epoch, tail dropped
    assert s["train"]["tokens_in_blocks"] == s["train"]["blocks"] * BLOCK
    assert s["validation"]["tokens_in_blocks"] == s["validation"]["tokens"]  # all kept
    # every tweet's tokens plus one eos each: the token count is conserved
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    assert s["train"]["tokens"] + s["validation"]["tokens"] == sum(len(x) + 1 for x in ids)
    assert meta["block_size"] == BLOCK and meta["base"] == "tiny"
    assert meta["packing"] == "per-epoch" and meta["eos_token"] == "<|endoftext|>"
    # the training tweets as text, each once, for predict's memorization check
    assert json.loads((out / "train_tweets.json").read_text()) == train_tweets


def test_validation_tweets_never_reach_training_blocks(workdir):
    texts = tweets(300, seed=2)
    texts.append("good morning everyone")  # a repeated tweet stays on one side
    texts.append("good morning everyone")
    write_tweets(workdir / layout.processed("alice"), texts)
    tokenize.main("alice", duo_params())
    data, tok = tokenized(), load_tok()
    train_text = tok.decode(np.concatenate(data["train"]["input_ids"]))
    val_text = tok.decode(np.concatenate(data["validation"]["input_ids"]))
    val_tweets = [t for t in val_text.split("<|endoftext|>") if t]
    assert len(val_tweets) == json.loads(
        (workdir / layout.bot("alice").tokenized_meta).read_text()
    )["splits"]["validation"]["tweets"]
    assert set(val_tweets) <= set(texts)
    for tweet in val_tweets:
        assert tweet not in train_text
    # train blocks hold (all but the dropped tail of) exactly the other tweets
    train_tweets = set(train_text.split("<|endoftext|>"))
    assert len(set(texts) - set(val_tweets) - train_tweets) <= 2  # tail cut mid-tweet


def test_same_inputs_same_bytes_and_the_seed_moves_the_split(workdir, monkeypatch):
    texts = tweets(300, seed=3)

    def run(folder: Path, seed: int) -> dict:
        folder.mkdir()
        monkeypatch.chdir(folder)
        write_tweets(folder / layout.processed("alice"), texts)
        tokenize.main("alice", duo_params(**{"tokenize.seed": seed}))
        out = folder / layout.bot("alice").tokenized
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file()}

    first, again, other = run(workdir / "a", 7), run(workdir / "b", 7), run(workdir / "c", 8)
    assert first == again
    assert "tokenizer/tokenizer.json" in first and "train.arrow" in first
    assert first["train.arrow"] != other["train.arrow"]


def test_tiny_tokenizer_learns_from_training_tweets_only():
    train = ["zebrafish " * 5 + str(i) for i in range(50)]
    tok = tokenize.train_tiny_tokenizer(train, 400, BLOCK)
    assert len(tok.tokenize(" zebrafish")) == 1  # a frequent training word is one token
    other = tokenize.train_tiny_tokenizer(["unrelated words here"] * 50, 400, BLOCK)
    assert len(other.tokenize(" zebrafish")) > 1


def test_a_bot_packs_all_its_handles(workdir):
    write_tweets(workdir / layout.processed("alice"), tweets(200, seed=4))
    write_tweets(workdir / layout.processed("bob"), ["bob says " + t for t in
                                                               tweets(200, seed=5)])
    for handle in ("alice", "bob"):  # filter's counts, which a bot's card shows
        (workdir / layout.bot(handle).reports).mkdir(parents=True)
        (workdir / layout.bot(handle).stats).write_text(json.dumps(
            {"downloaded": 250, "retweets": 30, "short": 20, "kept": 200}))
    tokenize.main("alicebob", duo_params())
    meta = json.loads((workdir / "data/tokenized/alicebob/meta.json").read_text())
    assert meta["handles"] == ["alice", "bob"]
    assert meta["splits"]["train"]["tweets"] + meta["splits"]["validation"]["tweets"] == 400
    # balanced: alice's shorter tweets are oversampled to bob's characters, within a tweet
    balance = meta["balance"]
    assert balance["alice"]["balanced_tweets"] > balance["alice"]["train_tweets"]
    assert 0 <= balance["alice"]["balanced_chars"] - balance["bob"]["balanced_chars"] < 100
    text = load_tok(name="alicebob").decode(
        np.concatenate(tokenized("alicebob")["train"]["input_ids"]))
    assert "bob says" in text and text.count("bob says") < text.count("<|endoftext|>")


def test_missing_input_is_a_one_line_error(workdir):
    with pytest.raises(TweetlmError) as e:
        tokenize.main("alice", duo_params())
    assert "data/processed/alice/tweets.parquet" in str(e.value)
    assert "\n" not in str(e.value)


def test_too_small_corpus_is_a_clear_error_and_keeps_old_output(workdir):
    write_tweets(workdir / layout.processed("alice"), tweets(300, seed=6))
    tokenize.main("alice", duo_params())
    before = (workdir / layout.bot("alice").tokenized_meta).read_bytes()
    write_tweets(workdir / layout.processed("alice"), ["just two words", "hi there"])
    with pytest.raises(TweetlmError) as e:
        tokenize.main("alice", duo_params())
    msg = str(e.value)
    assert "data/processed/alice/tweets.parquet" in msg and "train.block_size" in msg
    assert "\n" not in msg
    assert (workdir / layout.bot("alice").tokenized_meta).read_bytes() == before


def test_empty_corpus_is_a_clear_error(workdir):
    write_tweets(workdir / layout.processed("alice"), [])
    with pytest.raises(TweetlmError, match="no tweets"):
        tokenize.main("alice", duo_params())


def test_split_is_by_distinct_text_and_per_handle():
    texts = [f"tweet {i}" for i in range(100)] + ["tweet 5"] * 3
    train, val = tokenize.split_tweets(texts, 0.2, seed=1, key="alice")
    assert len(set(val)) == 20 and not set(train) & set(val)
    assert sorted(train + val) == sorted(texts)
    assert tokenize.split_tweets(texts, 0.2, 1, "alice") == (train, val)
    assert tokenize.split_tweets(texts, 0.2, 1, "bob")[1] != val
    # val_fraction 0 holds nothing out; two tweets still give one for validation
    assert tokenize.split_tweets(texts, 0.0, 1)[1] == []
    assert len(tokenize.split_tweets(["a b", "c d"], 0.1, 1)[1]) == 1


def test_pretrained_base_uses_its_own_tokenizer(workdir):
    base = save_tiny_gpt2(workdir / "base", vocab_size=300)
    texts = tweets(200, seed=8)
    dataset, tok, meta, _ = tokenize.tokenize({"alice": texts}, duo_params(), Base("b", base))
    assert len(tok) == len(load_tok_from(base)) and meta["base"] == "b"
    assert all(len(b) == BLOCK for b in dataset["validation"]["input_ids"][:-1])


def load_tok_from(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_tracking_failure_warns_once_and_the_stage_goes_on(workdir, monkeypatch, capsys):
    import wandb

    def refuse(*args, **kwargs):
        raise RuntimeError("wandb-core could not start\nsecond line")

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(wandb, "init", refuse)
    write_tweets(workdir / layout.processed("alice"), tweets(300, seed=9))
    tokenize.main("alice", duo_params())
    assert (workdir / layout.bot("alice").tokenized_meta).is_file()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tweetlm: warning: W&B tracking is off for this tokenize run: "
                   "wandb-core could not start"]


AUTO = {  # base -> (its context, what train.block_size auto resolves to)
    "tiny": (None, 128),  # model.tiny.n_positions as shipped
    "gpt2-256": (256, 256),
    "gpt2-2048": (2048, 1024),  # the base's context, up to the original's 1024
}


@pytest.mark.parametrize("case", AUTO, ids=list(AUTO))
def test_auto_block_size_is_the_bases_context_up_to_1024(case, tmp_path):
    context, want = AUTO[case]
    base = Base("tiny") if context is None else Base(case, save_tiny_gpt2(
        tmp_path / case, n_positions=context, n_embd=16, vocab_size=300))
    params = duo_params(**{"train.block_size": "auto", "model.tiny.n_positions": 128})
    _, _, meta, _ = tokenize.tokenize({"alice": tweets(400, seed=10)}, params, base)
    assert meta["block_size"] == want


def test_an_explicit_block_size_must_fit_the_tiny_context():
    with pytest.raises(TweetlmError) as e:
        duo_params(**{"train.block_size": 256, "model.tiny.n_positions": 128})
    assert str(e.value) == ("params.yaml: train.block_size: 256 is longer than the tiny preset's "
                            "context (model.tiny.n_positions: 128): lower it or use auto")


BAD_BLOCK_SIZES = {"word": ("abc", "got string 'abc'"), "zero": (0, "got integer 0"),
                   "boolean": (True, "got boolean True"), "fraction": (1.5, "got number 1.5"),
                   "huge": (10**9, "got integer 1000000000")}


@pytest.mark.parametrize("case", BAD_BLOCK_SIZES, ids=list(BAD_BLOCK_SIZES))
def test_block_size_is_auto_or_a_positive_integer(case):
    value, shown = BAD_BLOCK_SIZES[case]
    with pytest.raises(TweetlmError) as e:
        duo_params(**{"train.block_size": value})
    assert str(e.value) == ("params.yaml: train.block_size: must be auto or an integer in "
                            f"[1, 131072], {shown}")
