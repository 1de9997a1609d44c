"""Memorization: which samples copy a training tweet, the share of them, and resampling."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from helpers.params import make_params
from helpers.tinymodel import save_tiny_gpt2

from tweetlm import predict
from tweetlm.core.errors import TweetlmError
from tweetlm.predict.memorization import check
from tweetlm.core import layout

TWEETS = [
    "My dream is to see the sea before I turn thirty and then live there",  # 15 words
    "fish & chips are great today and tomorrow for sure",
    "the bus schedule ruins every single morning of my week",
]
CASES = {  # sample -> (copy, verbatim, overlap)
    "verbatim-after-cleaning": ("My DREAM  is to see the sea before I turn thirty and then "
                                "live there https://t.co/abc", (True, True, 1.0)),
    "html-unescaped-like-the-filter": ("Fish &amp; chips are great TODAY and tomorrow for sure",
                                       (True, True, 1.0)),
    "most-8-grams-in-one-tweet": ("my dream is to see the sea before I turn forty",
                                  (True, False, 3 / 4)),  # 3 of its 4 8-grams
    "half-is-not-most": ("my dream is to see the sea before I turn fifty right now",
                         (False, False, 3 / 6)),
    "spread-over-two-tweets": ("see the sea before I turn thirty and then the bus schedule "
                               "ruins every single morning of mine", (False, False, 2 / 11)),
    "short-and-inside-one": ("See the SEA before", (True, False, 1.0)),
    "short-and-not-inside": ("see the ocean before", (False, False, 0.0)),
    "empty": ("", (False, False, 0.0)),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_copy_repeats_a_tweet_or_most_of_its_word_8_grams(case):
    sample, (copy, verbatim, overlap) = CASES[case]
    (got,) = check([sample], TWEETS, ngram=8, threshold=0.5, keep_newlines=False)
    assert (got.copy, got.verbatim) == (copy, verbatim)
    assert got.overlap == pytest.approx(overlap, abs=0.01)
    assert (got.source is not None) == copy
    if copy:
        assert got.source in TWEETS


def test_the_threshold_and_n_are_params():
    sample = "my dream is to see the sea before I turn fifty right now"  # 3 of 6 8-grams
    assert check([sample], TWEETS, 8, 0.4, False)[0].copy
    assert not check([sample], TWEETS, 8, 0.5, False)[0].copy
    assert check([sample], TWEETS, 4, 0.5, False)[0].overlap == pytest.approx(7 / 10)


def test_many_samples_one_pass_keep_their_order():
    samples = [CASES[c][0] for c in CASES]
    got = check(samples, TWEETS, 8, 0.5, False)
    assert [(g.copy, g.verbatim) for g in got] == [CASES[c][1][:2] for c in CASES]


# --- resampling, through predict on a tiny random GPT-2 ---

PROMPTS = ["My dream is", "Today"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = save_tiny_gpt2(tmp_path_factory.mktemp("mem") / "model", n_positions=64)
    return predict.load_model(folder)


def predict_params(**memorization):
    mem = {"ngram": 8, "threshold": 0.5, "resample": True, "max_tries": 3, **memorization}
    return make_params(**{"predict.prompts": PROMPTS, "predict.num_sequences": 3,
                          "predict.max_length": 24, "predict.min_new_tokens": 10,
                          "predict.memorization": mem}).predict


def test_copies_are_resampled_and_the_first_draw_is_the_figure(loaded):
    model, tokenizer = loaded
    p = predict_params(resample=False)
    config = predict.generation_config(p, tokenizer)
    first, _, _ = predict.sample_checked(model, tokenizer, p, config, [], True)
    # the training tweets ARE the first samples: each first draw is a verbatim copy
    tweets = [first[0], first[4], "unrelated words entirely here"]
    texts, checks, summary = predict.sample_checked(model, tokenizer, p, config, tweets, True)
    assert texts == first
    assert summary["copies"] == summary["verbatim"] == summary["copies_shown"] >= 2
    assert summary["resampled"] == 0 and summary["rounds"] == 0
    assert [c["copy"] for c in checks] == [t in tweets for t in texts]

    p = replace(p, memorization=replace(p.memorization, resample=True))
    texts, checks, summary = predict.sample_checked(model, tokenizer, p, config, tweets, True)
    assert summary["copy_share"] == summary["copies"] / 6 > 0  # the first draw
    assert summary["resampled"] == summary["copies"] and summary["rounds"] >= 1
    assert summary["copies_shown"] == summary["copy_share_shown"] == 0
    copied = [i for i, t in enumerate(first) if t in tweets]
    assert [i for i, c in enumerate(checks) if c["tries"] > 1] == copied
    assert all(texts[i] != first[i] and texts[i].startswith(PROMPTS[i // 3]) for i in copied)
    assert all(texts[i] == first[i] for i in range(6) if i not in copied)  # others untouched
    again = predict.sample_checked(model, tokenizer, p, config, tweets, True)
    assert again[0] == texts  # seeded: the same resamples every run


def test_resampling_gives_up_after_max_tries(loaded):
    """A model that can only end the tweet at once says nothing but its prompt, which is in a
    training tweet: every try is a copy, and the bound stops it."""
    model, tokenizer = loaded
    p = replace(predict_params(max_tries=2), min_new_tokens=0)
    eos = tokenizer.eos_token_id

    class Mute(type(model)):
        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits[..., eos] = out.logits.max() + 100
            return out

    model.__class__ = Mute
    try:
        config = predict.generation_config(p, tokenizer)
        texts, checks, summary = predict.sample_checked(
            model, tokenizer, p, config, ["my dream is cake", "today was long"], True)
    finally:
        model.__class__ = Mute.__mro__[1]
    assert texts == ["My dream is"] * 3 + ["Today"] * 3
    assert summary["rounds"] == 2 and summary["resampled"] == 6
    assert summary["copies_shown"] == 6 and summary["copy_share_shown"] == 1.0
    assert all(c["copy"] and c["tries"] == 3 for c in checks)


def test_predict_without_training_tweets_is_a_one_line_error(tmp_path, monkeypatch):
    folder = save_tiny_gpt2(tmp_path / layout.bot("alice").model, n_positions=64)
    assert folder.is_dir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TweetlmError) as e:
        predict.main("alice", make_params(handles=["alice"]))
    assert str(e.value).startswith("data/tokenized/alice/train_tweets.json: not found: run "
                                   "`dvc repro handles/alice/dvc.yaml:tokenize`")
    assert not (tmp_path / "reports").exists()


def test_predict_writes_the_dvc_metric(tmp_path, monkeypatch):
    save_tiny_gpt2(tmp_path / layout.bot("alice").model, n_positions=64)
    (tmp_path / layout.bot("alice").tokenized).mkdir(parents=True)
    (tmp_path / layout.bot("alice").train_tweets).write_text(json.dumps(["Today"]))
    monkeypatch.chdir(tmp_path)
    params = make_params(handles=["alice"], **{"predict.prompts": ["Today"],
                                               "predict.num_sequences": 2,
                                               "predict.max_length": 16})
    predict.main("alice", params)
    metrics = json.loads((tmp_path / layout.bot("alice").predict_metrics).read_text())
    assert set(metrics) == {"copy_share", "verbatim_share", "copy_share_shown", "samples",
                            "resampled"}
    assert metrics["samples"] == 2
    out = json.loads((tmp_path / layout.bot("alice").predictions).read_text())
    assert out["memorization"]["copy_share"] == metrics["copy_share"]


BAD_PARAMS = {
    "threshold-one": ("predict.memorization.threshold", 1.0,
                      "predict.memorization.threshold: must be in [0, 1), got 1.0"),
    "ngram-zero": ("predict.memorization.ngram", 0,
                   "predict.memorization.ngram: must be in [1, 100], got 0"),
    "resample-word": ("predict.memorization.resample", "yes",
                      "predict.memorization.resample: expected true or false, got string 'yes'"),
    "min-new-negative": ("predict.min_new_tokens", -1,
                         "predict.min_new_tokens: must be in [0, 131072], got -1"),
    "lora-rank-word": ("train.lora.r", "eight", "train.lora.r: expected an integer"),
}


@pytest.mark.parametrize("case", BAD_PARAMS, ids=list(BAD_PARAMS))
def test_bad_new_params_are_one_line_errors(case):
    key, value, message = BAD_PARAMS[case]
    with pytest.raises(TweetlmError) as e:
        make_params(**{key: value})
    assert str(e.value).startswith(f"params.yaml: {message}") and "\n" not in str(e.value)
