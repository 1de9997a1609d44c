"""model.base: a local folder trained for real, the offline HF cache, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.params import make_params
from helpers.tinymodel import save_tiny_gpt2, tweets, write_tweets

from tweetlm.shared import pretrained
from tweetlm import tokenize, train
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError

NAME = "alice"


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory) -> Path:
    return save_tiny_gpt2(tmp_path_factory.mktemp("base") / "tiny-gpt2", vocab_size=350)


def test_local_folder_base_is_fine_tuned_and_loads_in_a_pipeline(base_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    write_tweets(tmp_path / layout.processed(NAME), tweets(300, seed=21))
    params = make_params(handles=[NAME], **{
        "tokenize.val_fraction": 0.1, "model.base": str(base_dir), "train.block_size": 32,
        "train.epochs": 1, "train.batch_size": 8, "train.learning_rate": 1e-3,
        "train.device": "cpu"})
    tokenize.main(NAME, params)
    train.main(NAME, params)

    model_dir = tmp_path / layout.bot(NAME).model
    assert sorted(p.name for p in model_dir.iterdir()) == sorted([*layout.MODEL_FILES, "adapter"])
    assert [p.name for p in (model_dir / "adapter").iterdir()] == ["README.md"]  # no LoRA
    # the base's own tokenizer, byte for byte, and its architecture
    assert (model_dir / "tokenizer.json").read_bytes() == \
        (tmp_path / layout.bot(NAME).tokenized / "tokenizer/tokenizer.json").read_bytes()
    config = json.loads((model_dir / "config.json").read_text())
    assert config["n_embd"] == 32 and config["n_positions"] == 256
    metrics = json.loads((tmp_path / layout.bot(NAME).train_metrics).read_text())
    assert metrics["base"] == str(base_dir) and metrics["learning_rate"] == 1e-3
    assert metrics["eval_loss"] < metrics["initial_eval_loss"]

    from safetensors.torch import load_file

    tuned, original = load_file(model_dir / "model.safetensors"), load_file(
        base_dir / "model.safetensors")
    key = "transformer.h.0.attn.c_attn.weight"
    assert tuned[key].shape == original[key].shape and not (tuned[key] == original[key]).all()

    from transformers import pipeline

    generator = pipeline("text-generation", model=str(model_dir), device="cpu")
    text = generator("Today", max_new_tokens=10, do_sample=True)[0]["generated_text"]
    assert text.startswith("Today") and len(text) > len("Today")


def test_tiny_needs_nothing():
    assert pretrained.resolve("tiny").is_tiny


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TweetlmError) as e:
        pretrained.resolve(str(tmp_path / "no-such-model"))
    assert "model.base" in str(e.value) and "not found" in str(e.value)
    assert "\n" not in str(e.value)


def test_pickle_only_folder_is_refused(base_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled"
    folder.mkdir()
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (folder / f).write_bytes((base_dir / f).read_bytes())
    torch.save(load_file(base_dir / "model.safetensors"), folder / "pytorch_model.bin")
    with pytest.raises(TweetlmError) as e:
        pretrained.resolve(str(folder))
    msg = str(e.value)
    assert "pytorch_model.bin" in msg and "convert" in msg and "safetensors" in msg
    assert "\n" not in msg


def test_remote_code_models_are_refused(base_dir, tmp_path):
    folder = tmp_path / "custom"
    folder.mkdir()
    for f in ("model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        (folder / f).write_bytes((base_dir / f).read_bytes())
    config = json.loads((base_dir / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(TweetlmError, match="trust_remote_code"):
        pretrained.resolve(str(folder))


def test_uncached_hub_id_offline_is_a_clear_error(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(TweetlmError) as e:
        pretrained.resolve("gpt2")
    msg = str(e.value)
    assert "gpt2" in msg and "HF_HUB_OFFLINE" in msg and "hf download gpt2" in msg
    assert "model.base" in msg and "\n" not in msg


def test_hub_id_resolves_from_the_local_cache_offline(base_dir, monkeypatch, tmp_path):
    """The cache layout huggingface_hub writes: models--org--name/{refs/main, snapshots/<sha>/}."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--someone--tiny-gpt2"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for f in base_dir.iterdir():
        (snapshot / f.name).write_bytes(f.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))

    base = pretrained.resolve("someone/tiny-gpt2")
    assert base.path == snapshot and base.revision == commit and not base.is_tiny
    pinned = pretrained.resolve("someone/tiny-gpt2", revision=commit)
    assert pinned.path == snapshot
    with pytest.raises(TweetlmError, match="HF_HUB_OFFLINE"):
        pretrained.resolve("someone/tiny-gpt2", revision="f" * 40)  # not cached: no fallback


def test_cached_but_pickle_only_hub_base_is_refused(base_dir, monkeypatch, tmp_path):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    commit = "a" * 40
    repo = cache / "models--someone--old-gpt2"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_bytes((base_dir / "config.json").read_bytes())
    (snapshot / "pytorch_model.bin").write_bytes(b"pickle")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    with pytest.raises(TweetlmError) as e:
        pretrained.resolve("someone/old-gpt2")
    assert "pytorch_model.bin" in str(e.value) and "safetensors" in str(e.value)


def test_block_size_beyond_the_base_context_is_caught(base_dir, tmp_path):
    def params(block_size: int):
        return make_params(handles=[NAME], **{"model.base": str(base_dir),
                                              "train.block_size": block_size})

    with pytest.raises(TweetlmError, match="train.block_size: 512 is longer than .* "
                                           r"\(256 tokens\)"):
        tokenize.tokenize({NAME: tweets(50)}, params(512), pretrained.resolve(str(base_dir)))
    tokenize.tokenize({NAME: tweets(200)}, params(256), pretrained.resolve(str(base_dir)))


def test_context_length_reads_a_config_or_its_json():
    from transformers import GPT2Config, LlamaConfig

    assert pretrained.context_length(GPT2Config(n_positions=64)) == 64
    assert pretrained.context_length(LlamaConfig(max_position_embeddings=96)) == 96
    assert pretrained.context_length({"n_positions": 32}) == 32
    assert pretrained.context_length({}) is None


def test_saved_tokenizer_does_not_depend_on_how_it_was_loaded(base_dir, tmp_path, monkeypatch):
    saved = {}
    for offline in ("1", "0"):
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)
        tokenize.save_tokenizer(pretrained.load_tokenizer(base_dir), tmp_path / offline)
        saved[offline] = (tmp_path / offline / "tokenizer_config.json").read_text()
    assert saved["1"] == saved["0"]
    assert "local_files_only" not in saved["1"] and "is_local" not in saved["1"]


def test_a_bases_license_is_read_from_its_model_card(base_dir, tmp_path):
    import shutil

    folder = Path(shutil.copytree(base_dir, tmp_path / "licensed"))
    assert pretrained.resolve(str(folder)).describe()["base_license"] is None
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags: [x]\n---\n# A model\n")
    assert pretrained.resolve(str(folder)).describe()["base_license"] == "apache-2.0"
    (folder / "README.md").write_text("# no front matter\n---\n")
    assert pretrained.license_of(folder) is None
    assert pretrained.resolve("tiny").describe()["base_license"] is None
    for broken in ("---\n- a list\n---\n", "---\nlicense: [unclosed\n---\n", "\udcff"):
        (folder / "README.md").write_text(broken, errors="surrogateescape")
        assert pretrained.license_of(folder) is None, broken
    (folder / "README.md").write_text("\ufeff---\r\nlicense: mit\r\n---\r\n")  # BOM, CRLF
    assert pretrained.license_of(folder) == "mit"


def test_a_base_says_what_kind_it_is(base_dir):
    """The card's classification of model.base, made where it is resolved."""
    tiny, local = pretrained.resolve("tiny"), pretrained.resolve(str(base_dir))
    assert (tiny.kind, tiny.hub_id) == ("tiny", None)
    assert (local.kind, local.hub_id) == ("local", None)
    cached = base_dir  # a hub base is a snapshot folder with its commit: resolve's _cached
    for name, kind, hub_id in [("gpt2", "gpt2", "openai-community/gpt2"),
                               ("distilbert/distilgpt2", "gpt2", "distilbert/distilgpt2"),
                               ("HuggingFaceTB/SmolLM2-135M", "hub", "HuggingFaceTB/SmolLM2-135M")]:
        base = pretrained.Base(name, cached, "0" * 40)
        assert (base.kind, base.hub_id) == (kind, hub_id), name


def test_block_size_resolution():
    from tweetlm.shared.pretrained import AUTO_BLOCK_LIMIT, Base, block_size

    assert AUTO_BLOCK_LIMIT == 1024
    assert block_size(Base("tiny"), "auto", 128) == 128
    assert block_size(Base("tiny"), 64, 128) == 64
    with pytest.raises(TweetlmError, match=r"train.block_size: 256 is longer than tiny can "
                                           r"attend to \(128 tokens\)"):
        block_size(Base("tiny"), 256, 128)
