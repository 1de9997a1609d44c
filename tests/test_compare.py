"""`tweetlm compare`: experiments side by side in 120 columns, where `dvc exp show` takes
hundreds (every param, metric and dependency hash of every handle and bot)."""

from __future__ import annotations

import copy

from helpers.params import shipped_raw

from tweetlm.tools import compare
from tweetlm.core import layout

HANDLES = ("alice", "bob")
BOT = "alice-bob"


def results(kept: dict[str, int], loss: dict[str, float], copies: float) -> dict:
    """One row's `data` as `dvc exp show --json` writes it: params, metrics, deps hashes."""
    params = shipped_raw() | {"handles": list(HANDLES), "bots": {BOT: list(HANDLES)}}
    metrics, deps = {}, {}
    for name in (*HANDLES, BOT):
        paths = layout.bot(name)
        stats = ({h: {"kept": kept[h], "downloaded": 9000} for h in HANDLES} if name == BOT
                 else {"kept": kept[name], "downloaded": 9000, "languages": {"en": kept[name]}})
        metrics[str(paths.stats)] = {"data": stats}
        metrics[str(paths.train_metrics)] = {"data": {
            "eval_loss": loss[name], "perplexity": 2.718281828 ** loss[name], "steps": 1234,
            "tokens_seen": 10**9, "train_runtime_s": 123.4}}
        metrics[str(paths.predict_metrics)] = {"data": {"copy_share": copies, "samples": 20}}
        deps[f"{paths.model}/model.safetensors"] = {"hash": "md5", "hash_value": "ab" * 16}
    return {"params": {"params.yaml": {"data": params}}, "metrics": metrics, "deps": deps,
            "outs": {}, "meta": {}}


def show() -> list[dict]:
    """The workspace, main and two experiments (one changes two params, one fails)."""
    base = results({"alice": 1713, "bob": 382}, {"alice": 3.4567, "bob": 3.9, BOT: 3.6}, 0.1)
    words5 = copy.deepcopy(results({"alice": 1500, "bob": 300},
                                   {"alice": 3.5, "bob": 4.01, BOT: 3.71}, 0.25))
    words5["params"]["params.yaml"]["data"]["filter"]["min_words"] = 5
    words5["params"]["params.yaml"]["data"]["train"]["learning_rate"] = 3e-4
    return [
        {"rev": "workspace", "name": None, "data": base, "error": None, "experiments": None},
        {"rev": "0" * 40, "name": "main", "data": base, "error": None, "experiments": [
            {"name": "words5", "revs": [{"rev": "1234567" + "0" * 33, "name": "words5",
                                         "data": words5, "error": None}]},
            {"name": "broken", "revs": [{"rev": "7" * 40, "name": "broken", "data": {},
                                         "error": {"type": "failed"}}]},
        ]},
    ]


def test_two_handles_and_a_bot_fit_120_columns_with_what_is_compared():
    text = compare.render(show(), width=120)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 120
    assert lines[0].split() == ["experiment", "bot", "kept", "eval", "loss", "perplexity",
                                "copy", "share", "changed", "params"]
    assert len(lines) == 1 + 3 * 3  # workspace, main, words5; per bot; not the failed run
    words5 = lines[7:10]
    assert words5[0].split() == ["words5", "[1234567]", "alice", "1,500", "3.5000", "33.12",
                                 "25%", "filter.min_words=5", "train.learning_rate=0.0003"]
    assert words5[1].split() == [BOT, "1,800", "3.7100", "40.85", "25%"]  # its handles' kept
    assert words5[2].split() == ["bob", "300", "4.0100", "55.15", "25%"]
    assert "filter.min_words=3 train.learning_rate=0.002" in lines[1]
    assert "ab" * 16 not in text and "downloaded" not in text  # no hashes, no other metrics


def test_a_narrow_terminal_cuts_the_params_not_the_numbers():
    lines = compare.render(show(), width=70).splitlines()
    assert max(map(len, lines)) <= 70
    assert lines[7].startswith("words5 [1234567]") and "3.5000" in lines[7]
    assert lines[7].endswith("…")
