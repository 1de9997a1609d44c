"""Bots of several handles ("cyborgs"): balanced training data, one card column per handle,
their own DVC stages -- and single-handle bots exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.params import make_params
from helpers.stages import write_card_inputs, write_params
from helpers.tinymodel import tweets, write_tweets

from helpers.project import lock_entries, markdown_table, ran_stages, stage_address
from tweetlm import card, tokenize
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params, load_params
from tweetlm.shared.pretrained import Base
from tweetlm.core import layout
from tweetlm.core.layout import stage_id

BLOCK = 32


def bot_params(bots: dict) -> Params:
    """Params for `bots`, their handles listed (alice alone if there are no bots)."""
    handles = sorted({h for members in bots.values() for h in members}) or ["alice"]
    return make_params(handles=handles, bots=bots, **{
        "tokenize.val_fraction": 0.1, "tokenize.seed": 7, "model.base": "tiny",
        "model.tiny.vocab_size": 400, "train.block_size": BLOCK})


def corpus(handle: str, n: int, seed: int) -> list[str]:
    return [f"{handle} says {t}" for t in tweets(n, seed=seed)]


# --- balancing, on small tables ---

def test_balance_oversamples_smaller_handles_to_the_largest_by_characters():
    train = {"alice": corpus("alice", 120, 1), "bob": corpus("bob", 35, 2),
             "carol": corpus("carol", 9, 3)}
    chars = {h: sum(map(len, t)) for h, t in train.items()}
    target = chars["alice"]
    balanced, counts = tokenize.balance(train, seed=5)

    assert balanced["alice"] == train["alice"]  # the largest is left as it is
    for handle in ("bob", "carol"):
        texts, out = train[handle], balanced[handle]
        got = sum(map(len, out))
        # reaches the largest handle's characters, passing it by less than one tweet
        assert target <= got < target + max(map(len, texts))
        copies = target // chars[handle]
        assert copies >= 1 and out[:copies * len(texts)] == texts * copies  # whole copies
        rest = out[copies * len(texts):]
        assert len(set(rest)) == len(rest) and set(rest) <= set(texts)  # then distinct tweets
        assert counts[handle] == {"train_tweets": len(texts), "train_chars": chars[handle],
                                  "balanced_tweets": len(out), "balanced_chars": got}
    assert counts["alice"]["balanced_chars"] == counts["alice"]["train_chars"] == target

    again, _ = tokenize.balance(train, seed=5)
    other, _ = tokenize.balance(train, seed=6)
    assert again == balanced  # seeded
    assert other["carol"] != balanced["carol"]  # the seed picks the remainder
    assert sum(map(len, other["carol"])) >= target


def stream_tweets(tok, blocks) -> list[str]:
    text = tok.decode(np.concatenate(blocks)) if blocks else ""
    return text.split("<|endoftext|>")


def test_bot_tokenize_balances_training_and_leaves_validation_alone():
    texts = {"alice": corpus("alice", 400, 1), "bob": corpus("bob", 60, 2)}
    params = bot_params({"alice-bob": ["alice", "bob"]})
    dataset, tok, meta, _ = tokenize.tokenize(texts, params, Base("tiny", None))

    splits = {h: tokenize.split_tweets(t, 0.1, 7, h) for h, t in texts.items()}
    # validation: each held-out tweet once, in handle order, never oversampled
    val = stream_tweets(tok, dataset["validation"]["input_ids"])
    assert val[:-1] == splits["alice"][1] + splits["bob"][1] and val[-1] == ""
    # train: bob's tweets repeated until his characters match alice's (seeded shuffle)
    train = stream_tweets(tok, dataset["train"]["input_ids"])[:-1]  # a row per tweet
    from_bob = [t for t in train if t.startswith("bob says")]
    counts = meta["balance"]
    assert counts["bob"]["balanced_tweets"] > 4 * counts["bob"]["train_tweets"]
    assert len(from_bob) >= counts["bob"]["balanced_tweets"] - 2
    assert set(from_bob) <= set(splits["bob"][0])
    assert {t.split()[0] for t in train[:40]} == {"alice", "bob"}  # shuffled, not appended
    bob_chars = sum(len(t) for t in train if t.startswith("bob says"))
    alice_chars = sum(len(t) for t in train if t.startswith("alice says"))
    assert 0.9 < bob_chars / alice_chars < 1.1
    assert meta["splits"]["train"]["tweets"] == len(splits["alice"][0]) + len(splits["bob"][0])
    assert counts["alice"]["balanced_tweets"] == counts["alice"]["train_tweets"]
    # same inputs, same blocks
    again, _, _, _ = tokenize.tokenize(texts, params, Base("tiny", None))
    assert again["train"].equals(dataset["train"])


def test_a_single_handle_is_stored_exactly_as_before():
    """One handle: no balancing, no shuffle -- its rows are its split, in order."""
    texts = corpus("alice", 300, 3)
    params = bot_params({})
    dataset, tok, meta, train_texts = tokenize.tokenize({"alice": texts}, params,
                                                        Base("tiny", None))
    train, val = tokenize.split_tweets(texts, 0.1, 7, "alice")
    assert train_texts == train
    expected = tokenize.train_tiny_tokenizer(train, 400, 128)
    assert tok.get_vocab() == expected.get_vocab()
    rows = [list(r) for r in tokenize.encode_each(expected, train)]
    assert dataset["train"]["input_ids"].to_pylist() == rows
    assert "balance" not in meta


# --- the bot's stats and card ---

METRICS = {"eval_loss": 3.5, "perplexity": 33.1, "initial_eval_loss": 7.6, "train_loss": 4.0}
PREDICTIONS = {
    "sampling": {"do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0,
                 "max_length": 40, "num_return_sequences": 2, "seed": 42, "batch_size": 64,
                 "prefix": "<|endoftext|>"},
    "predictions": [{"prompt": "My dream is", "generations": ["My dream is cake"] * 2}],
}


def write_handle(root: Path, handle: str, n: int, seed: int) -> dict:
    """A filtered handle: processed tweets and a stats.json that agrees with them."""
    write_tweets(root / f"data/processed/{handle}/tweets.parquet", corpus(handle, n, seed))
    stats = {"downloaded": n + 40 + seed, "retweets": 30 + seed, "short": 10, "kept": n}
    (root / f"reports/{handle}").mkdir(parents=True)
    (root / f"reports/{handle}/stats.json").write_text(json.dumps(stats))
    return stats


def write_model(root: Path, bot: str) -> None:
    """What train and predict leave for the card (a stand-in model)."""
    write_card_inputs(root, bot, METRICS, PREDICTIONS, vocab_size=400, n_positions=32)


@pytest.mark.parametrize("bot, members", [("solo", ["alice"]), ("duo", ["alice", "bob"]),
                                          ("trio", ["alice", "bob", "carol"])],
                         ids=["one-handle", "two-handles", "three-handles"])
def test_card_has_one_column_per_handle_from_its_stats(bot, members, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    sizes = {"alice": 300, "bob": 80, "carol": 40}
    stats = {h: write_handle(tmp_path, h, sizes[h], seed) for seed, h in enumerate(members, 1)}
    params = bot_params({bot: members})
    tokenize.main(bot, params)

    copied = json.loads((tmp_path / f"reports/{bot}/stats.json").read_text())
    meta = json.loads((tmp_path / f"data/tokenized/{bot}/meta.json").read_text())
    assert list(copied) == members
    for h in members:  # filter's counts, then the balancing tokenize applied (several only)
        assert copied[h] == {**stats[h], **meta.get("balance", {}).get(h, {})}

    write_model(tmp_path, bot)
    card.main(bot, params)
    text = (tmp_path / f"models/{bot}/README.md").read_text()
    rows = markdown_table(text, "Data")
    assert rows[2:] == [[label, *(str(stats[h][key]) for h in members)]
                        for key, label in card.STATS_ROWS.items()]
    assert text.count("border-radius: 50%") == len(members)  # one avatar each
    assert f"`dvc repro {stage_id('card', bot, bot=True)}` rebuilds this card" in text  # its stage's real name
    assert f"Trained from scratch on {sum(stats[h]['kept'] for h in members):,} tweets" in text
    if len(members) == 1:  # a bot of one handle is a bot, as a handle's own is
        assert "balance" not in meta and rows[0] == ["Data", "Quantity"]
        assert "🤖 AI BOT 🤖" in text and "CYBORG" not in text and "the user's tweets" in text
        return
    assert rows[0] == ["Data", *members] and rows[1] == ["---"] * (len(members) + 1)
    assert "🤖 AI CYBORG 🤖" in text and "AI BOT" not in text
    assert "The model was trained on tweets from " + " &amp; ".join(members) in text
    assert "the users' tweets" in text


def test_missing_handle_stats_are_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    write_handle(tmp_path, "alice", 200, 1)
    write_handle(tmp_path, "bob", 100, 2)
    (tmp_path / "reports/bob/stats.json").unlink()
    with pytest.raises(TweetlmError) as e:
        tokenize.main("duo", bot_params({"duo": ["alice", "bob"]}))
    assert str(e.value) == "reports/bob/stats.json: not found: run `dvc repro handles/bob/dvc.yaml:filter` first"
    assert not (tmp_path / "data/tokenized/duo").exists()


def test_card_of_a_bot_whose_handles_changed_since_tokenize_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports/duo").mkdir(parents=True)
    (tmp_path / "reports/duo/stats.json").write_text(json.dumps(
        {"alice": {"downloaded": 3, "retweets": 1, "short": 0, "kept": 2}}))
    write_model(tmp_path, "duo")
    with pytest.raises(TweetlmError) as e:
        card.main("duo", bot_params({"duo": ["alice", "bob"]}))
    assert str(e.value) == ("reports/duo/stats.json: no counts for bob: "
                            "rerun `dvc repro -f bots/duo/dvc.yaml:tokenize`")


def test_a_bot_cannot_take_a_handles_name(tmp_path):
    path = write_params(tmp_path, handles=["alice", "bob"], bots={"alice": ["alice", "bob"]})
    with pytest.raises(TweetlmError, match=r"params.yaml: bots.alice: is also a handle's name"):
        load_params(path)


# --- the pipeline ---

MODEL_STAGES = ("tokenize", "train", "predict", "card")


def resolved(root: Path) -> dict:
    """Stage name -> (cmd, deps, outs, params), as DVC resolves dvc.yaml."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {stage_address(s): (s.cmd,
                         {d.def_path for d in s.deps if type(d).__name__ != "ParamsDependency"},
                         {o.def_path for o in s.outs},
                         {k for p in s.params for k in p.params})
                for s in repo.index.stages}


def test_bot_stages_mirror_the_handle_stages(project):
    """Same code deps, params and outputs as the single-handle stages (which
    tests/test_dvc_graph.py proves exact), the bot's name in place of the handle's."""
    project.set_params(handles=["alice", "bob"], bots={"duo": ["alice", "bob"]})
    stages = resolved(project.root)
    assert not {stage_id("tokenize", "duo"), stage_id("card", "duo")} & set(stages)
    for stage in MODEL_STAGES:
        cmd, deps, outs, params = stages[stage_id(stage, "duo", bot=True)]
        h_cmd, h_deps, h_outs, h_params = stages[stage_id(stage, "alice")]
        assert cmd == h_cmd.replace("alice", "duo")
        assert outs == {o.replace("/alice/", "/duo/").replace("/alice", "/duo") for o in h_outs} \
            | ({"reports/duo/stats.json"} if stage == "tokenize" else set())
        assert params == h_params
        same = {d.replace("/alice/", "/duo/").replace("/alice", "/duo") for d in h_deps}
        if stage == "tokenize":  # exactly its handles' kept tweets and counts
            same = same - {"data/processed/duo/tweets.parquet"} | {
                str(path) for h in ("alice", "bob") for path in (layout.processed(h),
                                                                   layout.stats(h))}
        if stage in ("predict", "card", "gallery"):  # its handles' names and faces
            same = same - {"data/accounts/duo.json"} | {
                str(layout.account(h)) for h in ("alice", "bob")}
        assert deps == same, stage
    assert "reports/duo/stats.json" in stages[stage_id("card", "duo", bot=True)][1]


@pytest.mark.slow
def test_dvc_repro_builds_a_cyborg_and_reruns_only_what_changed(project):
    for seed, handle in enumerate(("alice", "bob"), 1):
        project.tweetlm("sample", "--out", f"data/raw/{handle}", "--tweets", str(150 * seed),
                        "--seed", str(seed))
    project.set_params(**{
        "handles": ["alice", "bob"], "bots": {"alice-bob": ["alice", "bob"]},
        "model.tiny.vocab_size": 512, "train.block_size": 64, "train.epochs": 1,
        "train.batch_size": 16, "predict.prompts": ["My dream is", "Today"],
        "predict.num_sequences": 2, "predict.max_length": 32,
    })
    targets = (stage_id("card", "alice-bob", bot=True), stage_id("tokenize", "alice"))  # a handle's model stages are test_*'s
    out = project.dvc("repro", *targets).stdout
    assert ran_stages(out) == {"validate", stage_id("ingest", "alice"), stage_id("ingest", "bob"), stage_id("filter", "alice"),
                               stage_id("filter", "bob"), stage_id("tokenize", "alice"),
                               *(stage_id(s, "alice-bob", bot=True) for s in MODEL_STAGES)}, out

    root = project.root
    from transformers import pipeline

    generator = pipeline("text-generation", model=str(root / "models/alice-bob"))
    assert generator("My dream is", max_new_tokens=12)[0]["generated_text"].startswith("My dream")

    stats = {h: json.loads((root / f"reports/{h}/stats.json").read_text())
             for h in ("alice", "bob")}
    readme = (root / "models/alice-bob/README.md").read_text()
    assert markdown_table(readme, "Data")[2:] == [
        [label, str(stats["alice"][key]), str(stats["bob"][key])]
        for key, label in card.STATS_ROWS.items()]
    assert "🤖 AI CYBORG 🤖" in readme and "@alice @bob" in readme
    meta = json.loads((root / "data/tokenized/alice-bob/meta.json").read_text())
    assert meta["balance"]["bob"]["balanced_tweets"] == meta["balance"]["bob"]["train_tweets"]
    assert meta["balance"]["alice"]["balanced_tweets"] > meta["balance"]["alice"]["train_tweets"]
    # the single handle: its own file deps, no balancing
    lock = lock_entries(root)
    data_deps = {d["path"] for d in lock[stage_id("tokenize", "alice")]["deps"]
                 if not d["path"].startswith("src/")}
    assert data_deps == {str(layout.params_stamp("tokenize", "alice")),
                         str(layout.processed("alice"))}
    assert "balance" not in json.loads((root / "data/tokenized/alice/meta.json").read_text())

    # bob gains a retweet: his kept tweets are the same, his counts are not. The bot's tokenize
    # reruns and writes the same blocks, so it is not retrained -- but its card shows the count.
    (root / "data/raw/bob/late.json").write_text(json.dumps([{
        "id_str": "99", "created_at": "Thu Oct 11 21:19:24 +0000 2018",
        "full_text": "RT @carol: not bob's words", "retweeted_status": {"id_str": "1"},
        "lang": "en"}]))
    again = project.dvc("repro", *targets).stdout
    assert ran_stages(again) == {stage_id("ingest", "bob"), stage_id("filter", "bob"), stage_id("tokenize", "alice-bob", bot=True),
                                 stage_id("card", "alice-bob", bot=True)}, again
    readme = (root / "models/alice-bob/README.md").read_text()
    assert markdown_table(readme, "Data")[2] == ["Tweets downloaded", str(stats["alice"]["downloaded"]),
                                      str(stats["bob"]["downloaded"] + 1)]


def test_a_bot_that_repeats_a_small_handle_word_for_word_warns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    write_handle(tmp_path, "alice", 400, 1)
    write_handle(tmp_path, "bob", 12, 2)  # about 35x fewer characters than alice
    params = bot_params({"duo": ["alice", "bob"]})
    tokenize.main("duo", params)
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "max_oversampling" in line]
    assert len(warnings) == 1 and warnings[0].startswith("tweetlm: warning: bot duo: @bob's ")
    assert "word for word" in warnings[0] and "@alice" not in warnings[0]

    write_model(tmp_path, "duo")
    card.main("duo", params)
    text = (tmp_path / "models/duo/README.md").read_text()
    warning = next(line for line in text.splitlines() if "**Warning:**" in line)
    assert text.count("**Warning:**") == 1 and "@bob" in warning and "word for word" in warning

    # Under the limit: no warning on either.
    relaxed = make_params(handles=["alice", "bob"], bots={"duo": ["alice", "bob"]}, **{
        "tokenize.val_fraction": 0.1, "tokenize.seed": 7, "model.base": "tiny",
        "model.tiny.vocab_size": 400, "train.block_size": BLOCK,
        "tokenize.max_oversampling": 1000})
    tokenize.main("duo", relaxed)
    assert "max_oversampling" not in capsys.readouterr().err
    card.main("duo", relaxed)
    assert "**Warning:**" not in (tmp_path / "models/duo/README.md").read_text()
