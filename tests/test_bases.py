"""Modern bases: tiny random GPT-2, Llama and Qwen2 folders (each with a byte-level BPE fast
tokenizer and special tokens of its own) go through tokenize -> train -> predict -> card, the
real stage code in a project folder. End-of-text, padding and context come from the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers.params import make_params
from helpers.stages import read_splits, run_stages
from helpers.tinymodel import ARCHITECTURES, save_tiny_causal_lm, tweets, write_tweets

from tweetlm import card, predict, tokenize, train
from tweetlm.shared import pretrained
from tweetlm.core import layout

NAME = "alice"
ARCHS = list(ARCHITECTURES)
STATS = {"downloaded": 330, "retweets": 20, "short": 10, "kept": 300}
# ~30 optimizer steps each: their blocks (auto: 64, 96, 1024 tokens) hold ~4.5k tokens an epoch
BATCH = {"gpt2": 8, "llama": 6, "qwen2": 1}


def params_for(base: Path, batch_size: int, **overrides):
    return make_params(handles=[NAME], **{
        "model.base": str(base), "tokenize.val_fraction": 0.1, "train.block_size": "auto",
        "train.epochs": 4, "train.batch_size": batch_size, "train.learning_rate": 3e-3,
        "train.device": "cpu", "predict.prompts": ["My dream is", "Today"],
        "predict.num_sequences": 2, "predict.max_length": 32, "predict.min_new_tokens": 4,
        **overrides})


@pytest.fixture(scope="module", params=ARCHS, ids=ARCHS)
def built(request, tmp_path_factory):
    """The four model stages run on a tiny base of one architecture: (arch, root, params)."""
    arch = request.param
    root = tmp_path_factory.mktemp(arch)
    base = save_tiny_causal_lm(root / "base", arch, license="apache-2.0" if arch == "qwen2"
                               else None)
    params = params_for(base, BATCH[arch])
    write_tweets(root / layout.processed(NAME), tweets(300, seed=31))
    (root / layout.stats(NAME)).parent.mkdir(parents=True)
    (root / layout.stats(NAME)).write_text(json.dumps(STATS))
    run_stages(root, NAME, params, tokenize, train, predict, card, wandb="disabled")
    return arch, root, params


def read(root: Path, path: Path) -> dict:
    return json.loads((root / path).read_text())


@pytest.mark.slow
def test_tokenize_uses_the_bases_end_of_text_and_context(built):
    arch, root, _ = built
    bos, eos, _, context = ARCHITECTURES[arch]
    paths = layout.bot(NAME)
    meta = read(root, paths.tokenized / "meta.json")
    assert meta["eos_token"] == eos
    assert meta["block_size"] == min(context, pretrained.AUTO_BLOCK_LIMIT)  # auto
    rows = read_splits(root / paths.tokenized)["train"]["input_ids"][:50]
    tok = pretrained.load_tokenizer(root / paths.tokenized / "tokenizer")
    assert all(r[-1] == meta["eos_token_id"] == tok.eos_token_id for r in rows)
    if bos and bos != eos:  # Llama's tokenizer adds <s> by itself: never between tweets
        assert tok("x")["input_ids"][0] == tok.bos_token_id
        assert all(tok.bos_token_id not in r for r in rows)


@pytest.mark.slow
def test_train_fine_tunes_and_the_folder_loads_in_a_pipeline(built):
    arch, root, _ = built
    paths = layout.bot(NAME)
    metrics = read(root, paths.train_metrics)
    assert metrics["eval_loss"] < metrics["initial_eval_loss"] - 0.3, metrics
    assert metrics["finetuning"] == "full" and metrics["block_size"] == min(
        ARCHITECTURES[arch][3], 1024)
    config = read(root, paths.model / "config.json")
    assert config["model_type"] == arch
    from transformers import pipeline

    generator = pipeline("text-generation", model=str(root / paths.model), device="cpu")
    text = generator("Today", max_new_tokens=5, do_sample=True)[0]["generated_text"]
    assert text.startswith("Today")


@pytest.mark.slow
def test_predict_prefixes_end_of_text_and_pads_with_the_models_pad(built):
    arch, root, _ = built
    _, eos, pad, _ = ARCHITECTURES[arch]
    paths = layout.bot(NAME)
    out = read(root, paths.predictions)
    assert out["sampling"]["prefix"] == eos
    generation = read(root, paths.generation_config)
    tok = pretrained.load_tokenizer(root / paths.model)
    # no pad token of its own (GPT-2, Llama): end-of-text pads
    assert generation["pad_token_id"] == tok.convert_tokens_to_ids(pad or eos)
    assert generation["eos_token_id"] == tok.eos_token_id and generation["min_new_tokens"] == 4
    for p in out["predictions"]:
        assert all(g.startswith(p["prompt"]) and eos not in g for g in p["generations"])
    assert 0 <= read(root, paths.predict_metrics)["copy_share"] <= 1


@pytest.mark.slow
def test_left_padded_batches_equal_one_prompt_at_a_time(built):
    """Position ids must come from the attention mask, for rotary (Llama, Qwen2) and learned
    (GPT-2) positions alike."""
    arch, root, params = built
    model, tokenizer = predict.load_model(root / layout.bot(NAME).model)
    p = make_params(**{"predict.prompts": ["My dream is", "I think that the weather", "Today"],
                       "predict.do_sample": False, "predict.num_sequences": 1,
                       "predict.max_length": 20}).predict
    from dataclasses import replace

    config = predict.generation_config(p, tokenizer)
    batched = predict.sample_ids(model, tokenizer, p, config)
    single = predict.sample_ids(model, tokenizer, replace(p, batch_size=1), config)
    assert batched == single


@pytest.mark.slow
def test_card_describes_the_base_and_front_matter_is_the_hubs(built):
    arch, root, _ = built
    text = (root / layout.bot(NAME).card).read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation"
    assert {"huggingtweets", "tweetlm"} <= set(meta["tags"])
    assert meta["widget"] == [{"text": "My dream is"}, {"text": "Today"}]
    assert "base_model" not in meta  # a local folder is no hub id
    assert meta.get("license") == ("apache-2.0" if arch == "qwen2" else None)
    architecture = read(root, layout.bot(NAME).model / "config.json")["architectures"][0]
    assert f"(`{architecture}`, 2 layers)" in text
    block = min(ARCHITECTURES[arch][3], 1024)
    assert f"| Block size | {block} tokens (train.block_size: auto) |" in text
    assert "| Fine-tuning | full: every weight |" in text
    assert "## Memorization" in text
