"""tokenize: split by tweet before packing, exact blocks, eos between tweets, determinism."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers.tinymodel import tweets, write_tweets

from tweetlm import tokenize
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import ModelParams, Params, TinyParams, TokenizeParams, TrainParams
from tweetlm.pretrained import Base

BLOCK = 32


def make_params(**sections) -> Params:
    base = Params(
        handles=["alice", "bob"], bots={"alicebob": ["alice", "bob"]},
        tokenize=TokenizeParams(val_fraction=0.1, seed=7),
        model=ModelParams(base="tiny", tiny=TinyParams(vocab_size=400)),
        train=TrainParams(block_size=BLOCK),
    )
    return replace(base, **sections)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    return tmp_path


def tokenized(name="alice", root=Path(".")):
    import datasets

    return datasets.load_from_disk(str(root / "data/tokenized" / name))


def load_tok(root=Path("."), name="alice"):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(root / "data/tokenized" / name / "tokenizer")


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
    write_tweets(workdir / "data/processed/alice/tweets.parquet", texts)
    tokenize.main("alice", make_params())

    out = workdir / "data/tokenized/alice"
    data = tokenized()
    meta = json.loads((out / "meta.json").read_text())
    tok = load_tok()
    assert type(tok).__name__ == "GPT2Tokenizer"
    assert tok.eos_token == tok.bos_token == tok.unk_token == "<|endoftext|>"
    assert len(tok) <= 400 and len(tok) == meta["vocab_size"]

    train = data["train"]["input_ids"]
    assert train and all(len(b) == BLOCK for b in train)
    val = data["validation"]["input_ids"]
    assert all(len(b) == BLOCK for b in val[:-1]) and 2 <= len(val[-1]) <= BLOCK

    s = meta["splits"]
    assert s["train"]["tweets"] + s["validation"]["tweets"] == len(texts)
    assert s["validation"]["tweets"] == round(0.1 * len(texts))
    assert s["train"]["tokens_in_blocks"] == len(train) * BLOCK
    assert 0 <= s["train"]["tokens"] - s["train"]["tokens_in_blocks"] < BLOCK  # one partial dropped
    assert s["validation"]["tokens_in_blocks"] == s["validation"]["tokens"]  # all kept
    # every tweet's tokens plus one eos each: the token count is conserved
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    assert s["train"]["tokens"] + s["validation"]["tokens"] == sum(len(x) + 1 for x in ids)
    eos_in_train = sum(b.count(tok.eos_token_id) for b in train)
    dropped = s["train"]["tokens"] - s["train"]["tokens_in_blocks"]
    assert s["train"]["tweets"] - dropped <= eos_in_train <= s["train"]["tweets"]
    assert meta["block_size"] == BLOCK and meta["base"] == "tiny"


def test_validation_tweets_never_reach_training_blocks(workdir):
    texts = tweets(300, seed=2)
    texts.append("good morning everyone")  # a repeated tweet stays on one side
    texts.append("good morning everyone")
    write_tweets(workdir / "data/processed/alice/tweets.parquet", texts)
    tokenize.main("alice", make_params())
    data, tok = tokenized(), load_tok()
    train_text = tok.decode(np.concatenate(data["train"]["input_ids"]))
    val_text = tok.decode(np.concatenate(data["validation"]["input_ids"]))
    val_tweets = [t for t in val_text.split("<|endoftext|>") if t]
    assert len(val_tweets) == json.loads(
        (workdir / "data/tokenized/alice/meta.json").read_text())["splits"]["validation"]["tweets"]
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
        write_tweets(folder / "data/processed/alice/tweets.parquet", texts)
        tokenize.main("alice", make_params(tokenize=TokenizeParams(val_fraction=0.1, seed=seed)))
        out = folder / "data/tokenized/alice"
        return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.rglob("*")) if p.is_file()}

    first, again, other = run(workdir / "a", 7), run(workdir / "b", 7), run(workdir / "c", 8)
    assert first == again
    assert "tokenizer/tokenizer.json" in first and "train/data-00000-of-00001.arrow" in first
    assert first["train/data-00000-of-00001.arrow"] != other["train/data-00000-of-00001.arrow"]


def test_tiny_tokenizer_learns_from_training_tweets_only():
    train = ["zebrafish " * 5 + str(i) for i in range(50)]
    tok = tokenize.train_tiny_tokenizer(train, 400, BLOCK)
    assert len(tok.tokenize(" zebrafish")) == 1  # a frequent training word is one token
    other = tokenize.train_tiny_tokenizer(["unrelated words here"] * 50, 400, BLOCK)
    assert len(other.tokenize(" zebrafish")) > 1


def test_a_bot_packs_all_its_handles(workdir):
    write_tweets(workdir / "data/processed/alice/tweets.parquet", tweets(200, seed=4))
    write_tweets(workdir / "data/processed/bob/tweets.parquet", ["bob says " + t for t in
                                                               tweets(200, seed=5)])
    for handle in ("alice", "bob"):  # filter's counts, which a bot's card shows
        (workdir / "reports" / handle).mkdir(parents=True)
        (workdir / "reports" / handle / "stats.json").write_text(json.dumps(
            {"downloaded": 250, "retweets": 30, "short": 20, "kept": 200}))
    tokenize.main("alicebob", make_params())
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
        tokenize.main("alice", make_params())
    assert "data/processed/alice/tweets.parquet" in str(e.value)
    assert "\n" not in str(e.value)


def test_too_small_corpus_is_a_clear_error_and_keeps_old_output(workdir):
    write_tweets(workdir / "data/processed/alice/tweets.parquet", tweets(300, seed=6))
    tokenize.main("alice", make_params())
    before = (workdir / "data/tokenized/alice/meta.json").read_bytes()
    write_tweets(workdir / "data/processed/alice/tweets.parquet", ["just two words", "hi there"])
    with pytest.raises(TweetlmError) as e:
        tokenize.main("alice", make_params())
    msg = str(e.value)
    assert "data/processed/alice/tweets.parquet" in msg and "train.block_size" in msg
    assert "\n" not in msg
    assert (workdir / "data/tokenized/alice/meta.json").read_bytes() == before


def test_empty_corpus_is_a_clear_error(workdir):
    write_tweets(workdir / "data/processed/alice/tweets.parquet", [])
    with pytest.raises(TweetlmError, match="no tweets"):
        tokenize.main("alice", make_params())


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
    from tinymodel import save_tiny_gpt2

    base = save_tiny_gpt2(workdir / "base", vocab_size=300)
    texts = tweets(200, seed=8)
    dataset, tok, meta = tokenize.tokenize({"alice": texts}, make_params(), Base("b", base))
    assert len(tok) == len(load_tok_from(base)) and meta["base"] == "b"
    assert all(len(b) == BLOCK for b in dataset["train"]["input_ids"])


def load_tok_from(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_tracking_failure_warns_once_and_the_stage_goes_on(workdir, monkeypatch, capsys):
    import wandb

    def refuse(*args, **kwargs):
        raise RuntimeError("wandb-core could not start\nsecond line")

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setattr(wandb, "init", refuse)
    write_tweets(workdir / "data/processed/alice/tweets.parquet", tweets(300, seed=9))
    tokenize.main("alice", make_params())
    assert (workdir / "data/tokenized/alice/meta.json").is_file()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tweetlm: warning: W&B tracking is off for this tokenize run: "
                   "wandb-core could not start"]
