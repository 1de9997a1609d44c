"""predict: batched, seeded sampling from a trained bot -> predictions.json, predictions.png and
the generation_config.json that makes `pipeline('text-generation')` sample the same way."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.params import make_params
from helpers.stages import run_stages, write_params, write_tokenize_meta
from helpers.tinymodel import save_tiny_gpt2
from PIL import Image

from tweetlm import predict
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params
from tweetlm.predict import picture
from tweetlm.core import layout

TWEETLM = str(Path(sys.executable).parent / "tweetlm")
PROMPTS = ["My dream is", "I think that the weather", "Today", "Ünïcode 🤖 prompt"]
SAMPLING = {"do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0, "seed": 42,
            "batch_size": 64, "min_new_tokens": 10}
TRAIN_TWEETS = ["My dream is to see the sea", "I think that the weather is fine today lol"]


def build_tiny_model(path: Path) -> Path:
    """A random tiny GPT-2 saved as train saves a model: no generation_config.json; and the
    training tweets tokenize leaves for predict's memorization check."""
    save_tiny_gpt2(path, n_positions=128)
    (path / "generation_config.json").unlink(missing_ok=True)  # predict's to write
    tokenized = path.parents[1] / "data/tokenized" / path.name
    tokenized.mkdir(parents=True, exist_ok=True)
    (tokenized / "train_tweets.json").write_text(json.dumps(TRAIN_TWEETS))
    return path


def predict_params(**predict_fields) -> Params:
    fields = {"prompts": PROMPTS, "num_sequences": 3, "max_length": 40, **SAMPLING,
              **predict_fields}
    return make_params(handles=["alice"], **{f"predict.{k}": v for k, v in fields.items()},
                       **{"card.display_names": {"alice": "Alice Liddell"}})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "models" / "alice")


@pytest.fixture(scope="module")
def loaded(model_dir):
    return predict.load_model(model_dir)


@pytest.fixture(scope="module")
def ran(model_dir):
    """`tweetlm predict alice` run twice in one project folder: the two outputs."""
    root = model_dir.parents[1]
    runs = []
    for _ in range(2):
        run_stages(root, "alice", predict_params(), predict)
        runs.append({name: (root / name).read_bytes() for name in (
            "reports/alice/predictions.json", "reports/alice/predictions.png",
            "models/alice/generation_config.json")})
    return root, runs


def test_predictions_json_has_every_prompt_with_n_generations(ran):
    root, runs = ran
    out = json.loads(runs[0]["reports/alice/predictions.json"])
    assert out["bot"] == "alice" and out["handles"] == ["alice"]
    assert out["sampling"] == {
        "do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0, "max_length": 40,
        "min_new_tokens": 10, "num_return_sequences": 3, "seed": 42, "batch_size": 64,
        "prefix": "<|endoftext|>", "cut_at_newline": True,
    }
    assert [p["prompt"] for p in out["predictions"]] == PROMPTS
    for p in out["predictions"]:
        assert len(p["generations"]) == 3 and len(p["checks"]) == 3
        for text, check in zip(p["generations"], p["checks"]):
            assert text.startswith(p["prompt"]) and "<|endoftext|>" not in text
            assert "\n" not in text  # filter.keep_newlines false: cut at the first newline
            assert check["copy"] is False and check["tries"] == 1  # a random model copies nothing
    m = out["memorization"]
    assert (m["samples"], m["copies"], m["copy_share"], m["training_tweets"]) == (12, 0, 0.0, 2)
    metrics = json.loads((root / layout.bot("alice").predict_metrics).read_text())
    assert metrics == {"copy_share": 0.0, "verbatim_share": 0.0, "copy_share_shown": 0.0,
                       "samples": 12, "resampled": 0}


def test_reruns_are_identical_and_the_seed_matters(ran, loaded):
    _, (first, second) = ran
    assert first == second  # json, png and generation_config, byte for byte
    model, tokenizer = loaded
    p = predict_params().predict
    config = predict.generation_config(p, tokenizer)
    again = predict.generate(model, tokenizer, p, config, one_line=True)
    other = predict.generate(model, tokenizer, replace(p, seed=7), config, one_line=True)
    saved = [x["generations"] for x in json.loads(first["reports/alice/predictions.json"])[
        "predictions"]]
    assert again == saved and other != saved


def test_sampling_is_seeded_by_transformers_set_seed(loaded, monkeypatch):
    """Every generate round seeds Python, NumPy and torch through transformers.set_seed, with
    the round's seed."""
    import transformers

    seeds, real = [], transformers.set_seed
    monkeypatch.setattr(transformers, "set_seed", lambda seed, *a, **k: (seeds.append(seed),
                                                                           real(seed, *a, **k)))
    model, tokenizer = loaded
    p = predict_params(num_sequences=2, max_length=20).predict
    config = predict.generation_config(p, tokenizer)
    first = predict.generate_ids(model, predict.prompt_ids(tokenizer, p)[:1], 2, p, config, 1234)
    again = predict.generate_ids(model, predict.prompt_ids(tokenizer, p)[:1], 2, p, config, 1234)
    assert seeds == [1234, 1234] and first == again


def test_samples_stop_at_max_length_or_eos(loaded):
    model, tokenizer = loaded
    p = predict_params(max_length=24).predict
    config = predict.generation_config(p, tokenizer)
    samples = predict.sample_ids(model, tokenizer, p, config)
    lengths = [len(ids) for per_prompt in samples for ids in per_prompt]
    assert len(lengths) == len(PROMPTS) * 3
    assert max(lengths) == 24  # a random model seldom says <|endoftext|>: the limit stops it
    # every prompt, the shortest too, gets the whole budget despite the left padding
    assert all(max(map(len, per_prompt)) == 24 for per_prompt in samples)
    eos = tokenizer.eos_token_id
    for per_prompt in samples:
        for ids in per_prompt:
            assert ids[0] == eos and eos not in ids[1:]  # prefix, then one tweet


def test_left_padded_batch_equals_one_prompt_at_a_time(loaded):
    model, tokenizer = loaded
    p = predict_params(do_sample=False, num_sequences=1, max_length=24).predict  # greedy
    config = predict.generation_config(p, tokenizer)
    batched = predict.sample_ids(model, tokenizer, p, config)
    single = predict.sample_ids(model, tokenizer, replace(p, batch_size=1), config)
    assert batched == single


def test_prompt_too_long_for_max_length_is_a_clean_error(loaded):
    model, tokenizer = loaded
    p = predict_params(prompts=["word " * 30], max_length=10).predict
    with pytest.raises(TweetlmError, match=r"predict.prompts\[0\].*max_length"):
        predict.sample_ids(model, tokenizer, p, predict.generation_config(p, tokenizer))


def test_generation_config_makes_pipeline_sample_like_predict(ran):
    from transformers import pipeline

    root, runs = ran
    saved = json.loads(runs[0]["models/alice/generation_config.json"])
    assert {k: saved[k] for k in ("do_sample", "top_p", "top_k", "temperature", "max_length",
                                  "min_new_tokens")} \
        == {"do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0, "max_length": 40,
            "min_new_tokens": 10}
    assert saved["pad_token_id"] == saved["eos_token_id"] == 0
    generator = pipeline("text-generation", model=str(root / "models" / "alice"), device="cpu")
    out = generator("My dream is", num_return_sequences=2, return_tensors=True)
    assert len(out) == 2
    # The pipeline's own default is 256 new tokens; the saved max_length (40) must win.
    assert all(len(o["generated_token_ids"]) <= 40 for o in out)
    text = generator("My dream is", prefix="<|endoftext|>")[0]["generated_text"]
    assert text.startswith("My dream is")


def test_png_is_the_card_picture(ran):
    root, runs = ran
    with Image.open(root / layout.bot("alice").picture) as img:
        img.verify()
    with Image.open(root / layout.bot("alice").picture) as img:
        assert img.format == "PNG" and img.size == (picture.WIDTH, picture.HEIGHT)
        assert img.mode == "RGB"
        assert len(img.getcolors(1 << 16)) > 10  # text and avatar drawn, not a blank page


def test_picture_shows_its_input_and_survives_unrenderable_text():
    tweets = [("My dream is", "My dream is to see the sea")]
    base = picture.draw_card(["Alice"], ["alice"], tweets, "footer")
    assert picture.draw_card(["Alice"], ["alice"], tweets, "footer").tobytes() == base.tobytes()
    other = picture.draw_card(["Alice"], ["alice"], [("My dream is", "My dream is cake")], "f")
    assert other.tobytes() != base.tobytes()
    # emoji, CJK, accents, a huge word and several handles: drawn without error or boxes
    odd = [("Today", "Today 🤖🔥 日本語 café — " + "x" * 500)] * 6
    img = picture.draw_card(["Zoë", "🤖", "bob"], ["zoe", "robot", "bob"], odd, "f")
    assert img.size == (picture.WIDTH, picture.HEIGHT)
    assert picture.drawable("café 🤖 — naïve\u200d\ufe0f") == "café 🤖 — naïve"  # joiners go
    assert picture.drawable("\U000e0100a \u0378 \U0010fffd b") == "a b"  # invisible, no font


MIXED = ("Grüße für Zoë, Привет мир, Γειά σου, 日本語とひらがな、한국어 🤖🌧\ufe0f👍🏽 café — "
         "naïve ½ € 10°C")


def test_every_character_of_a_mixed_script_tweet_is_drawn_by_a_font_that_has_its_glyph():
    from fontTools.ttLib import TTFont  # the fonts' own character maps, read independently

    cmaps = [TTFont(picture.FONTS / name, lazy=True)["cmap"].getBestCmap()
             for name in picture.FONT_FILES]
    shown = picture.drawable(MIXED)
    # nothing visible is lost or transliterated: only the variation selector goes
    assert shown == MIXED.replace("\ufe0f", "")
    runs = picture.runs(shown)
    assert "".join(chars for chars, _ in runs) == shown
    for chars, font in runs:
        for ch in chars.replace(" ", ""):
            assert ord(ch) in cmaps[font], f"{ch!r} drawn with {picture.FONT_FILES[font]}"
    used = {picture.FONT_FILES[font] for _, font in runs}
    assert used == set(picture.FONT_FILES)  # Latin, CJK, Hangul and emoji each need their font


def test_a_code_point_no_fonts_character_map_has_is_never_drawn():
    """Coverage is the fonts' own character maps (fontTools), not a rendering compared to the
    missing-glyph box, which took the stand-ins the shaper draws (for an unassigned code point,
    a lone Hebrew accent) for glyphs."""
    assert picture.font_for("\u05c8") is None and picture.drawable("a\u05c8b") == "ab"
    assert picture.font_for("\u0591") is None
    assert picture.font_for("a") == 0 and picture.font_for("\u4e2d") == 1  # DejaVu, Droid
    assert picture.drawable("\ufa2e") == "\u90de"  # a compatibility ideograph: its NFKD form


def test_a_continuation_without_a_space_is_drawn_without_one():
    glued = picture.tweet_words("I think that", "I think that's great")
    assert glued == [[("I", True)], [("think", True)], [("that", True), ("'s", False)],
                     [("great", False)]]
    spaced = picture.tweet_words("I think that", "I think that it is")
    assert spaced[2:] == [[("that", True)], [("it", False)], [("is", False)]]
    # drawn: "that's" takes the width of "that's", not of "that 's"
    line = picture._wrap(glued, 26, 2000, 1)[0]
    assert "".join(t for t, _ in line[2]) == "that's"
    a = picture.draw_card(["A"], ["a"], [("I think that", "I think that's great")], "f")
    b = picture.draw_card(["A"], ["a"], [("I think that", "I think that 's great")], "f")
    assert a.tobytes() != b.tobytes()


def test_corrupt_weights_are_a_clean_error(model_dir, tmp_path):
    import shutil

    broken = Path(shutil.copytree(model_dir, tmp_path / "alice"))
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(TweetlmError, match=r"alice: cannot load the model \(.*\): rerun train"):
        predict.load_model(broken)


def test_missing_model_is_one_line_error(tmp_path):
    write_params(tmp_path, handles=["alice"])
    proc = subprocess.run([TWEETLM, "predict", "alice"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("tweetlm: error: models/alice: no trained model")
    assert "dvc repro handles/alice/dvc.yaml:train" in proc.stderr
    assert not (tmp_path / "reports").exists()


def test_card_reads_what_predict_writes(ran, monkeypatch):
    from tweetlm import card

    root, runs = ran
    monkeypatch.chdir(root)
    (root / layout.bot("alice").stats).write_text(
        json.dumps({"downloaded": 10, "retweets": 2, "short": 1, "kept": 7}))
    (root / layout.bot("alice").train_metrics).write_text(
        json.dumps({"eval_loss": 5.0, "perplexity": 148.4}))
    write_tokenize_meta(root, "alice", predict_params().model.base)
    card.main("alice", predict_params())
    text = (root / layout.bot("alice").card).read_text()
    first = json.loads(runs[0]["reports/alice/predictions.json"])["predictions"][0]
    assert f"> {card.markdown_text(first['generations'][0])}\n" in text
    assert "(top-p 0.95, temperature 1.0, at most 40 tokens, at least 10 new)" in text
    assert (root / layout.bot("alice").thumbnail).read_bytes() == \
        runs[0]["reports/alice/predictions.png"]
    assert "## Memorization" in text and "**0%** (0) copy one of the 2 training tweets" in text


def test_min_new_tokens_bars_end_of_text(loaded):
    model, tokenizer = loaded
    eager = _ending(model, tokenizer.eos_token_id)
    for wanted, shortest in ((0, 0), (10, 10)):
        p = predict_params(min_new_tokens=wanted, max_length=40).predict
        samples = predict.sample_ids(eager, tokenizer, p, predict.generation_config(p, tokenizer))
        prompt_lengths = [len(ids) for ids in predict.prompt_ids(tokenizer, p)]
        new = [len(ids) - n for per, n in zip(samples, prompt_lengths) for ids in per]
        assert min(new) == shortest and max(new) <= max(shortest, 1), (wanted, new)


def _ending(model, token_id):
    """A model that wants to say `token_id` at every step: its logit is made the largest."""
    import copy

    out = copy.deepcopy(model)
    original = out.lm_head.forward

    def forward(hidden):
        logits = original(hidden)
        logits[..., token_id] = logits.max() + 50
        return logits

    out.lm_head.forward = forward
    return out


def test_a_sample_ends_at_its_first_newline_when_tweets_had_none(loaded):
    model, tokenizer = loaded
    newline = tokenizer.convert_tokens_to_ids("\u010a")  # byte-level BPE's "\n"
    chatty = _ending(model, newline)
    p = predict_params(max_length=24, min_new_tokens=5).predict
    config = predict.generation_config(p, tokenizer)
    ids = predict.sample_ids(chatty, tokenizer, p, config)
    assert all(tokenizer.decode(x).count("\n") >= 5 for per in ids for x in per)
    cut = predict.generate(chatty, tokenizer, p, config, one_line=True)
    assert cut == [[prompt] * 3 for prompt in PROMPTS]  # nothing before the newline
    two = tokenizer("My dream is\nto fly", add_special_tokens=False)["input_ids"]
    assert predict.decode(tokenizer, two, one_line=True) == "My dream is"
    assert predict.decode(tokenizer, two, one_line=False) == "My dream is\nto fly"
