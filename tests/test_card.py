"""card: the Hugging Face model card, rendered from card/template.md with the real numbers."""

import hashlib
import os
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.params import make_params
from helpers.stages import (tokenize_meta, write_card_inputs, write_params,
                            write_tokenize_meta)
from huggingface_hub import ModelCard

from helpers.project import markdown_table as table
from tweetlm import card
from tweetlm.shared import identity
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params

TWEETLM = str(Path(sys.executable).parent / "tweetlm")
STATS = {
    "alice": {"downloaded": 3214, "retweets": 1236, "short": 265, "kept": 1713},
    "bob": {"downloaded": 596, "retweets": 102, "short": 112, "kept": 382},
    "sample": {"downloaded": 3200, "retweets": 389, "short": 207, "kept": 2604},
}
METRICS = {  # as train writes it
    "eval_loss": 3.456789, "perplexity": 31.7157, "initial_eval_loss": 10.8251,
    "train_loss": 3.91234, "steps": 1284, "tokens_seen": 1314816, "train_runtime_s": 412.5,
    "device": "NVIDIA H100 80GB HBM3", "precision": "bf16 autocast", "base": "gpt2",
    "base_revision": "607a30d783dfa663caf39e06633721c8d4cfcd7e", "base_license": None,
    "block_size": 1024, "finetuning": "full", "parameters": 124439808,
    "trained_parameters": 124439808, "lora_r": None, "lora_alpha": None, "lora_dropout": None,
    "lora_target_modules": None,
}
LORA = {**METRICS, "finetuning": "lora", "trained_parameters": 811008, "lora_r": 8,
        "lora_alpha": 16.0, "lora_dropout": 0.05, "lora_target_modules": "c_attn"}
MEMORIZATION = {"ngram": 8, "threshold": 0.5, "training_tweets": 1542, "samples": 10,
                "copies": 3, "verbatim": 1, "copy_share": 0.3, "verbatim_share": 0.1,
                "resample": True, "max_tries": 5, "rounds": 2, "resampled": 3,
                "copies_shown": 0, "copy_share_shown": 0.0}
PREDICTIONS = {
    "bot": "alice",
    "handles": ["alice"],
    "sampling": {"do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0,
                 "max_length": 160, "min_new_tokens": 10, "num_return_sequences": 5, "seed": 42,
                 "batch_size": 64, "prefix": "<|endoftext|>", "cut_at_newline": True},
    "memorization": MEMORIZATION,
    "predictions": [
        {"prompt": "My dream is", "generations": ["My dream is <b>big</b> | *really*"] * 5},
        {"prompt": "Today", "generations": ["Today\nis\tfine"] * 5},
    ],
}
WEIGHTS = {"parameters": 124439808, "sha256": "ab" * 32, "n_layer": 12, "n_head": 12,
           "n_embd": 768, "n_positions": 1024, "vocab_size": 50257}


def card_params(base="gpt2", handles=("alice",), block_size=128, **card_fields) -> Params:
    bots = {"-".join(handles): list(handles)} if len(handles) > 1 else {}
    return make_params(
        handles=list(handles), bots=bots, **{
            "model.base": base, "train.epochs": 7, "train.learning_rate": 3.5e-4,
            "train.lr_scheduler": "cosine", "train.warmup_steps": 0, "train.batch_size": 6,
            "train.grad_accum": 3, "train.block_size": block_size, "card.language": "en",
            "card.hub_namespace": "", "card.display_names": {},
            **{f"card.{k}": v for k, v in card_fields.items()}})


def render(base="gpt2", handles=("alice",), template=card.TEMPLATE, metrics=METRICS,
           predictions=PREDICTIONS, weights=WEIGHTS, block_size=128, **card_fields) -> str:
    params = card_params(base, handles, block_size, **card_fields)
    bot = "-".join(handles)
    sources = [(h, STATS[h]) for h in handles]
    return str(card.render_card(bot, sources, metrics, predictions, weights, params,
                                tokenize_meta(base), template))


def front_matter(text: str) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "no YAML front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_is_valid_hub_metadata():
    text = render()
    meta = front_matter(text)
    assert meta["language"] == "en"
    assert meta["pipeline_tag"] == "text-generation" and meta["library_name"] == "transformers"
    assert {"huggingtweets", "tweetlm", "text-generation"} <= set(meta["tags"])
    assert meta["widget"] == [{"text": "My dream is"}, {"text": "Today"}]  # every prompt
    assert meta["thumbnail"] == "predictions.png"
    assert meta["base_model"] == "openai-community/gpt2"
    assert meta["license"] == "mit"  # GPT-2's, known without its README
    data = ModelCard(text).data  # what the Hub's library makes of it
    assert data.base_model == "openai-community/gpt2" and data.language == "en"
    assert data.widget == [{"text": "My dream is"}, {"text": "Today"}]
    assert data.license == "mit" and data.library_name == "transformers"
    data.to_dict()  # huggingface_hub's own validation of the fields passes


def test_hub_namespace_sets_thumbnail_url_and_model_id():
    text = render(hub_namespace="huggingtweets")
    assert front_matter(text)["thumbnail"] == \
        "https://huggingface.co/huggingtweets/alice/resolve/main/predictions.png"
    assert "model='huggingtweets/alice'" in text
    assert "model='<user>/alice'" in render()


def test_stats_table_is_stats_json():
    rows = table(render(), "Data")
    assert rows[0] == ["Data", "Quantity"] and rows[1] == ["---", "---"]
    assert rows[2:] == [[label, str(STATS["alice"][key])]
                        for key, label in card.STATS_ROWS.items()]


def test_hyperparameters_and_metrics_appear():
    text = render()
    hyper = dict(table(text, "Hyperparameter")[2:])
    assert hyper["Fine-tuning"] == "full: every weight"
    assert hyper["Epochs"] == "7, each packing the tweets afresh in a new order"
    assert hyper["Learning rate"].startswith("0.00035, cosine schedule")
    # the block size train resolved and recorded, not params.yaml's
    assert hyper["Block size"] == "1024 tokens"
    assert hyper["Batch size"] == "6 blocks x 3 accumulation steps = 18 blocks of 1024 tokens"
    metrics = dict(table(text, "Metric")[2:])
    assert metrics == {"Eval loss before training": "10.8251",
                       "Eval loss (cross-entropy, nats per token)": "3.4568",
                       "Perplexity": "31.72", "Train loss (mean over all steps)": "3.9123"}
    assert "measured on the 10% of tweets held out" in text
    assert ("Training took 1,284 steps (1,314,816 tokens) in 412 s on NVIDIA H100 80GB HBM3 "
            "(bf16 autocast).") in text
    assert "at revision `607a30d783df`" in text
    assert "124,439,808 parameters" in text and WEIGHTS["sha256"] in text
    assert "model='models/alice'" in text and 'generator("My dream is", num_return_sequences=5)' \
        in text


def test_unmeasured_metrics_say_so():
    # tokenize.val_fraction 0: train writes null eval metrics and nothing before training
    metrics = {"eval_loss": None, "perplexity": None, "initial_eval_loss": None, "train_loss": 2}
    text = render(metrics=metrics)
    assert dict(table(text, "Metric")[2:]) == {
        "Eval loss (cross-entropy, nats per token)": "not measured",
        "Perplexity": "not measured", "Train loss (mean over all steps)": "2.0000"}
    assert "No tweets were held out" in text and "Training took" not in text


def test_gpt2_card_makes_no_tiny_or_synthetic_claims():
    text = render(base="gpt2")
    assert "pre-trained [GPT-2](https://huggingface.co/openai-community/gpt2)" in text
    assert "same limitations and bias as GPT-2" in text
    assert "from scratch" not in text and "Not GPT-2" not in text
    assert "ynthetic" not in text
    assert "[@alice's tweets](https://x.com/alice)" in text


def test_tiny_synthetic_card_says_so():
    text = render(base="tiny", handles=("sample",))
    assert "base_model" not in front_matter(text)
    assert "**Not GPT-2.**" in text and "trained from scratch" in text
    assert "12 layers, 12 attention heads, 768-dimensional embeddings" in text
    assert "same limitations and bias as GPT-2" not in text
    assert "**Synthetic data.** @sample is not a real Twitter user" in text
    assert "license" not in front_matter(text)
    assert "x.com/sample" not in text  # no link to a real account
    assert "Trained from scratch on 2,604 tweets" in text


def test_several_handles_render_one_column_each():
    text = render(handles=("alice", "bob"), display_names={"alice": "Alice Liddell"})
    rows = table(text, "Data")
    assert rows[0] == ["Data", "Alice Liddell", "bob"] and rows[1] == ["---"] * 3
    assert rows[2:] == [[label, str(STATS["alice"][key]), str(STATS["bob"][key])]
                        for key, label in card.STATS_ROWS.items()]
    assert "🤖 AI CYBORG 🤖" in text and "Alice Liddell &amp; bob" in text
    assert text.count("border-radius: 50%") == 2
    assert "tweets from @alice and @bob" in text
    single = render()
    assert "🤖 AI BOT 🤖" in single and single.count("border-radius: 50%") == 1


def test_names_and_generated_text_cannot_inject_html():
    text = render(display_names={"alice": "<script>x</script>"})
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "<b>big</b>" not in text  # the sampled tweet is escaped Markdown
    assert r"> My dream is \<b\>big\</b\> \| \*really\*" in text
    assert "> Today is fine" in text


SAMPLED = ["exhausting & so are you: I'll (maybe) go... 100% sure! @some_user #AI",
           "# not a heading", "- not a list", "+ nor this", "> nor a quote", "1. not a list",
           "2) nor this", "_under_ *star* `code` [link](x) ![img](y) ~~gone~~ a|b",
           "&amp; stays &amp; &#169; &copy", "<i>no html</i> \\backslash\\", "___", "***"]


@pytest.mark.parametrize("text", SAMPLED)
def test_sampled_tweets_read_as_written_in_markdown_and_in_the_source(text):
    """Rendered by a CommonMark parser, the escaped text is exactly the tweet, in one
    paragraph (no markup, no HTML, no entity). The source escapes only what needs it:
    not `exhausting \\& so are you\\: I\\'ll`."""
    from markdown_it import MarkdownIt

    escaped = card.markdown_text(text)
    tokens = MarkdownIt("commonmark").enable("strikethrough").enable("table").parse(escaped)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"], escaped
    (inline,) = [t for t in tokens if t.type == "inline"]
    assert [c.type for c in inline.children] == ["text"] * len(inline.children), escaped
    assert "".join(c.content for c in inline.children) == text
    if text == SAMPLED[0]:
        assert escaped == text  # nothing in it could become markup


def test_a_bot_of_the_sample_and_a_real_handle_imitates_the_real_one():
    text = render(handles=("sample", "alice"))
    assert "@sample is not a real Twitter user" in text
    assert "This bot imitates @alice and made-up tweets." in text
    assert "imitates no one" not in text
    from tweetlm.predict import picture

    both = picture.footer("gpt2", 0.95, 1.0, ["sample"], ["sample", "alice"])
    assert both.endswith("|  @sample is synthetic sample data") and "not a real user" not in both
    alone = picture.footer("tiny", 0.95, 1.0, ["sample"], ["sample"])
    assert alone.endswith("synthetic sample data, not a real user")
    assert "ynthetic" not in picture.footer("gpt2", 0.95, 1.0, [], ["alice"])


def test_a_local_base_is_named_by_its_folder_not_this_machines_path(tmp_path):
    folder = tmp_path / "models" / "my-gpt2"
    folder.mkdir(parents=True)
    text = render(base=str(folder))
    assert "local pre-trained model `my-gpt2`" in text
    assert str(tmp_path) not in text
    from tweetlm.shared import pretrained
    from tweetlm.train import lora

    assert pretrained.shown_name(str(folder)) == "my-gpt2"
    assert pretrained.shown_name("gpt2") == "gpt2" and pretrained.shown_name("tiny") == "tiny"
    note = lora.readme("models/alice/adapter", ["c_attn"], str(folder), 8, 16)
    assert "`my-gpt2`" in note and str(tmp_path) not in note


def test_the_adapter_note_of_a_model_trained_from_scratch_does_not_say_fine_tuned():
    from tweetlm.train import lora

    scratch = lora.readme("models/sample/adapter", None, "tiny", from_scratch=True)
    assert "trained from scratch" in scratch and "fine-tuned" not in scratch
    assert "fully fine-tuned" in lora.readme("models/alice/adapter", None, "gpt2")


def test_avatar_is_stable_and_distinct_per_handle():
    """The same colour in every process (Python's own str hash changes per process)."""
    code = "from tweetlm.shared import identity; print(identity.avatar_color('alice'))"
    seen = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
            for seed in ("1", "2")}
    assert seen == {str(identity.avatar_color("alice"))}
    assert identity.avatar_color("alice") != identity.avatar_color("bob")
    assert identity.initials("Alice Liddell") == "AL"
    assert identity.initials("sample") == "SA"
    assert identity.initials("__") == "?"


def test_template_edit_changes_the_card(tmp_path):
    edited = tmp_path / "card_template.md"
    edited.write_text(card.TEMPLATE.read_text().replace("## How to use", "## Using the bot"))
    before, after = render(), render(template=edited)
    assert "## How to use" in before and "## Using the bot" not in before
    assert "## Using the bot" in after and after != before


def write_project(root: Path, handle="alice") -> None:
    """What filter, train and predict leave for the card of `handle`, and a params.yaml."""
    (root / layout.bot(handle).reports).mkdir(parents=True)
    (root / layout.bot(handle).stats).write_text(json.dumps(STATS[handle]))
    write_card_inputs(root, handle, METRICS, PREDICTIONS)
    write_tokenize_meta(root, handle, "gpt2")  # card_params' base
    write_params(root, handles=[handle])


def test_main_writes_a_self_contained_model_folder(tmp_path, monkeypatch):
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    card.main("alice", card_params())
    model = tmp_path / "models" / "alice"
    loaded = ModelCard.load(model / "README.md")
    assert loaded.data.thumbnail == "predictions.png"
    assert (model / "predictions.png").read_bytes() == \
        (tmp_path / layout.bot("alice").picture).read_bytes()
    weights = card.describe_weights(model)
    assert weights["parameters"] == 10 * 8 + 16 * 8
    assert weights["sha256"] == hashlib.sha256((model / "model.safetensors").read_bytes()) \
        .hexdigest()
    assert weights["sha256"] in loaded.text


ALICE = layout.bot("alice")


@pytest.mark.parametrize("broken, stage", [
    (ALICE.stats, "handles/alice/dvc.yaml:filter"),
    (ALICE.train_metrics, "handles/alice/dvc.yaml:train"),
    (ALICE.predictions, "handles/alice/dvc.yaml:predict"),
    (ALICE.picture, "handles/alice/dvc.yaml:predict"),
    (ALICE.model / "model.safetensors", "handles/alice/dvc.yaml:train"),
], ids=["stats", "train-metrics", "predictions", "picture", "weights"])
def test_missing_input_is_one_line_error_and_keeps_the_old_card(tmp_path, broken, stage):
    write_project(tmp_path)
    subprocess.run([TWEETLM, "card", "alice"], cwd=tmp_path, check=True, capture_output=True)
    old = (tmp_path / ALICE.card).read_bytes()
    (tmp_path / broken).unlink()
    proc = subprocess.run([TWEETLM, "card", "alice"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr == f"tweetlm: error: {broken}: not found: run `dvc repro {stage}` first\n"
    assert (tmp_path / ALICE.card).read_bytes() == old


def test_auto_block_size_and_lora_are_on_the_card():
    text = render(metrics=LORA, block_size="auto")
    hyper = dict(table(text, "Hyperparameter")[2:])
    assert hyper["Block size"] == "1024 tokens (train.block_size: auto)"
    assert hyper["Fine-tuning"] == ("LoRA, r=8, alpha=16, dropout 0.05, on c_attn; 811,008 "
                                    "adapter parameters trained on a frozen base of "
                                    "124,439,808; merged into the weights")
    assert {"lora", "peft"} <= set(front_matter(text)["tags"])
    assert "Only low-rank adapters" in text and "`adapter/`" in text
    assert "AutoPeftModelForCausalLM.from_pretrained('models/alice/adapter')" in text
    assert "lora" not in front_matter(render())["tags"] and "adapter/" not in render()


MEMORIZED = {
    "resampled": ({}, "**30%** (3) copy one of the 1,542 training tweets, 1 of them word for "
                      "word", "resampled before they were shown (up to 5 more tries each): 3 "
                      "tweets drawn again, none of those shown is a copy"),
    "left": ({"copies_shown": 1}, "**30%**", "3 tweets drawn again, 1 still a copy after that"),
    "not-resampled": ({"resample": False, "resampled": 0, "copies_shown": 3}, "**30%**",
                      "not resampled (`predict.memorization.resample: false`)"),
    "no-copies": ({"copies": 0, "verbatim": 0, "copy_share": 0.0, "resampled": 0,
                   "rounds": 0}, "**0%** (0) copy one", "none was needed"),
}


@pytest.mark.parametrize("case", MEMORIZED, ids=list(MEMORIZED))
def test_memorization_share_and_what_was_done_are_on_the_card(case):
    change, share, done = MEMORIZED[case]
    predictions = {**PREDICTIONS, "memorization": {**MEMORIZATION, **change}}
    text = render(predictions=predictions)
    section = text.split("## Memorization")[1].split("## Limitations")[0]
    assert share in section and done in section
    assert "more than 50% of its 8-word sequences" in section


def test_a_llama_base_is_described_from_its_config_and_license():
    weights = {**WEIGHTS, "architecture": "LlamaForCausalLM", "n_layer": 30}
    metrics = {**METRICS, "base": "HuggingFaceTB/SmolLM2-135M", "base_license": "apache-2.0"}
    text = render(base="HuggingFaceTB/SmolLM2-135M", metrics=metrics, weights=weights)
    meta = front_matter(text)
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M" and meta["license"] == "apache-2.0"
    assert "pre-trained [HuggingFaceTB/SmolLM2-135M]" in text
    assert "parameters (`LlamaForCausalLM`, 30 layers)" in text


def test_describe_weights_reads_llama_style_configs(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    (tmp_path / "config.json").write_text(json.dumps({
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "num_hidden_layers": 3,
        "num_attention_heads": 4, "hidden_size": 64, "max_position_embeddings": 512,
        "vocab_size": 300}))
    save_file({"w": np.zeros((3, 4), np.float32)}, str(tmp_path / "model.safetensors"))
    weights = card.describe_weights(tmp_path)
    assert weights["architecture"] == "Qwen2ForCausalLM" and weights["parameters"] == 12
    assert (weights["n_layer"], weights["n_head"], weights["n_embd"], weights["n_positions"]) \
        == (3, 4, 64, 512)


@pytest.mark.parametrize("setting, languages, expected", [
    ("auto", [{"ja": 90, "en": 5}], "ja"),  # en is under a tenth
    ("auto", [{"en": 60}, {"de": 30, "en": 10}], ["en", "de"]),  # a bot: its handles together
    ("auto", [{}], None),  # no tweet said its language (v2 saved with default fields)
    ("en", [{"ja": 90}], "en"),  # the param wins
], ids=["one", "two-handles", "none", "set"])
def test_the_cards_language_is_the_tweets_unless_set(setting, languages, expected):
    sources = [(f"h{i}", {**STATS["alice"], "languages": found}) for i, found in enumerate(languages)]
    assert card.card_language(setting, sources) == expected
    params = card_params(handles=tuple(h for h, _ in sources), **{"language": setting})
    rendered = card.render_card("-".join(h for h, _ in sources), sources, METRICS, PREDICTIONS,
                                WEIGHTS, params, tokenize_meta("gpt2"))
    assert front_matter(str(rendered)).get("language") == expected


def test_the_card_says_what_tokenize_recorded(tmp_path, monkeypatch):
    """The base's kind and the oversampling warnings come from tokenize's meta.json as tokenize
    gave them (the params it ran with), not worked out again from the card's params."""
    warning = "bot alice: @alice, 3 training tweets repeated 40x (as recorded)"
    text = str(card.render_card("alice", [("alice", STATS["alice"])], METRICS, PREDICTIONS,
                                WEIGHTS, card_params(base="gpt2"),
                                {**tokenize_meta("gpt2", (warning,)), "base_kind": "local",
                                 "base_hub_id": None}))
    assert f"> **Warning:** {warning}.\n" in text
    assert "The model is based on the local pre-trained model `gpt2`" in text
    assert "base_model" not in front_matter(text)


def test_a_card_from_an_older_tokenize_says_to_rerun_it(tmp_path, monkeypatch):
    write_project(tmp_path)
    meta = tmp_path / layout.bot("alice").tokenized_meta
    meta.write_text(json.dumps({"base": "gpt2", "base_revision": None}))  # no base_kind
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TweetlmError, match=r"^data/tokenized/alice/meta.json: written by an "
                                           r"older tweetlm: rerun `dvc repro -f handles/alice/dvc.yaml:tokenize`$"):
        card.main("alice", card_params())
    meta.unlink()
    with pytest.raises(TweetlmError, match=r"^data/tokenized/alice/meta.json: not found: "
                                           r"run `dvc repro handles/alice/dvc.yaml:tokenize` first$"):
        card.main("alice", card_params())
