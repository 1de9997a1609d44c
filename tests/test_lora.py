"""LoRA (train.lora): adapters on a frozen base learn, only they change, the merged folder loads
with transformers' pipeline, the adapter loads with peft, resume is exact, and the DVC outs hold
with LoRA on or off (the run-cache brings either back)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.params import make_params
from helpers.stages import run_stages
from helpers.tinymodel import save_tiny_causal_lm, tweets, write_tweets

from tweetlm import tokenize, train
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.train import lora
from tweetlm.core.layout import stage_id

NAME = "alice"


def lora_params(base: Path, **overrides):
    return make_params(handles=[NAME], **{
        "model.base": str(base), "train.block_size": "auto", "train.epochs": 3,
        "train.batch_size": 4, "train.learning_rate": 2e-2, "train.device": "cpu",
        "train.logging_steps": 10, "train.lora.enabled": True, "train.lora.r": 8,
        "train.lora.alpha": 16, "train.lora.target_modules": [], **overrides})


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A random tiny GPT-2 with embeddings as large as a trained model's (LoRA leaves them)."""
    return save_tiny_causal_lm(tmp_path_factory.mktemp("base") / "gpt2", "gpt2",
                               embedding_scale=5)


@pytest.fixture(scope="module")
def tokenized(base, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tokenized")
    write_tweets(root / layout.processed(NAME), tweets(300, seed=41))
    run_stages(root, NAME, lora_params(base), tokenize, wandb="disabled")
    return root / layout.bot(NAME).tokenized


@pytest.fixture
def workdir(tmp_path, monkeypatch, tokenized) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    shutil.copytree(tokenized, tmp_path / layout.bot(NAME).tokenized)
    return tmp_path


@pytest.fixture(scope="module")
def trained(base, tokenized, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(tokenized, root / layout.bot(NAME).tokenized)
    run_stages(root, NAME, lora_params(base), train, wandb="disabled")
    return root


@pytest.mark.slow
def test_lora_learns_and_says_so(trained):
    import math

    metrics = json.loads((trained / layout.bot(NAME).train_metrics).read_text())
    assert metrics["eval_loss"] < metrics["initial_eval_loss"] - 0.2, metrics
    assert metrics["eval_loss"] < math.log(400) - 0.1  # better than uniform: it learned tweets
    assert metrics["finetuning"] == "lora" and metrics["lora_target_modules"] == "c_attn"
    assert (metrics["lora_r"], metrics["lora_alpha"], metrics["lora_dropout"]) == (8, 16, 0)
    # 2 layers x c_attn (32 -> 96): A is 8 x 32, B is 96 x 8
    assert metrics["trained_parameters"] == 2 * (8 * 32 + 96 * 8)
    assert metrics["parameters"] > 10 * metrics["trained_parameters"]  # the merged model's


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_only_the_adapter_was_trained_and_it_is_merged(trained, base):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    paths = layout.bot(NAME)
    merged = load_file(trained / paths.model / "model.safetensors")
    original = load_file(base / "model.safetensors")
    assert merged.keys() == original.keys()  # plain weights: no lora_A/lora_B, no wrapper
    changed = {k for k in merged if not torch.equal(merged[k], original[k])}
    assert changed == {f"transformer.h.{i}.attn.c_attn.weight" for i in range(2)}
    adapter = trained / paths.adapter
    assert sorted(p.name for p in adapter.iterdir()) == sorted([*layout.ADAPTER_FILES,
                                                                "README.md"])
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base) and config["r"] == 8
    # base + adapter, merged by peft here, is exactly the model.safetensors train wrote
    again = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter)
    remerged = again.merge_and_unload().state_dict()
    for key in changed:
        assert torch.allclose(remerged[key], merged[key], atol=1e-6), key


@pytest.mark.slow
def test_the_merged_folder_loads_with_the_pipeline(trained):
    from transformers import pipeline

    generator = pipeline("text-generation", model=str(trained / layout.bot(NAME).model),
                         device="cpu")
    text = generator("My dream is", max_new_tokens=6, do_sample=True)[0]["generated_text"]
    assert text.startswith("My dream is")
    assert type(generator.model).__name__ == "GPT2LMHeadModel"


@pytest.mark.slow
def test_an_interrupted_lora_run_resumes_to_identical_files(workdir, base, trained, capsys):
    import torch

    params = lora_params(base, **{"train.checkpoint_steps": 5, "train.lora.dropout": 0.1})

    class Crash(Exception):
        pass

    def crash_at_13(step):
        if step == 13:
            raise Crash

    reference = workdir / "reference"
    shutil.copytree(workdir / "data", reference / "data")
    with pytest.MonkeyPatch().context() as mp:
        mp.chdir(reference)
        train.main(NAME, params)
    with pytest.raises(Crash):
        train.train(params, layout.bot(NAME), on_step=crash_at_13)
    (saved,) = (workdir / "checkpoints" / NAME).glob("*/last.pt")
    weights = torch.load(saved, weights_only=True)["model"]
    assert weights and all("lora_" in k for k in weights)  # the frozen base is not copied
    capsys.readouterr()
    train.main(NAME, params)
    assert "resuming at step 10/" in capsys.readouterr().out
    paths = layout.bot(NAME)
    for f in [*paths.model_files, *(paths.adapter / a for a in layout.ADAPTER_FILES)]:
        assert (workdir / f).read_bytes() == (reference / f).read_bytes(), f
    got, want = (json.loads((root / paths.train_metrics).read_text())
                 for root in (workdir, reference))
    for timing in ("train_runtime_s", "tokens_per_s"):
        got.pop(timing), want.pop(timing)
    assert got == want


TARGETS = {"gpt2": ["c_attn"], "llama": ["q_proj", "v_proj"], "qwen2": ["q_proj", "v_proj"]}


def test_the_train_log_and_the_card_count_the_same_parameters(workdir, base, capsys):
    """`N adapter parameters trained on a frozen base of M`: the same N and M in train's
    log and on the card (the log once counted the base with the adapters in it)."""
    import re

    from tweetlm import card

    train.main(NAME, lora_params(base, **{"train.epochs": 0.2}))
    log = capsys.readouterr().out
    said = re.search(r"([\d,]+) adapter parameters trained on a frozen base of ([\d,]+)", log)
    assert said, log
    metrics = json.loads((workdir / layout.bot(NAME).train_metrics).read_text())
    assert said.groups() == (f"{metrics['trained_parameters']:,}", f"{metrics['parameters']:,}")
    assert f"{said.group(1)} adapter parameters trained on a frozen base of {said.group(2)}" \
        in card.finetuning(metrics, "local")


@pytest.mark.parametrize("arch", TARGETS, ids=list(TARGETS))
def test_target_modules_default_to_peft_per_architecture(arch, tmp_path):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(save_tiny_causal_lm(tmp_path / arch, arch))
    assert lora.targets(model, []) == TARGETS[arch]
    assert lora.targets(model, ["o_proj"]) == ["o_proj"]
    _, used = lora.wrap(model, make_params().train.lora)
    assert used == TARGETS[arch]


def test_an_architecture_peft_has_no_default_for_names_its_layers():
    from transformers import Phi3Config, Phi3ForCausalLM

    model = Phi3ForCausalLM(Phi3Config(vocab_size=64, hidden_size=32, intermediate_size=64,
                                       num_hidden_layers=1, num_attention_heads=4,
                                       num_key_value_heads=4, pad_token_id=0, bos_token_id=1,
                                       eos_token_id=2))
    with pytest.raises(TweetlmError) as e:
        lora.targets(model, [])
    assert str(e.value) == ("params.yaml: train.lora.target_modules: peft has no default for "
                            "phi3 models: name the layers to adapt, from down_proj, "
                            "gate_up_proj, o_proj, qkv_proj")


def test_unknown_target_modules_are_a_one_line_error(workdir, base):
    with pytest.raises(TweetlmError) as e:
        train.main(NAME, lora_params(base, **{"train.lora.target_modules": ["q_proj"]}))
    assert str(e.value).startswith("params.yaml: train.lora.target_modules: ")
    assert "\n" not in str(e.value)


def test_lora_needs_a_pretrained_base():
    with pytest.raises(TweetlmError) as e:
        make_params(**{"model.base": "tiny", "train.lora.enabled": True})
    assert "train.lora.enabled: the tiny preset trains every weight from scratch" in str(e.value)


@pytest.mark.slow
def test_dvc_outs_hold_with_lora_on_or_off_and_the_run_cache_restores_either(project, base):
    """The adapter folder is one static out: train writes it either way; flipping
    train.lora.enabled back restores the earlier run's outputs from the run-cache."""
    from helpers.project import ran_stages

    project.set_params(**{"model.base": str(base), "train.epochs": 0.3,
                          "predict.num_sequences": 1, "predict.max_length": 24,
                          "train.lora.enabled": True})
    out = project.dvc("repro", stage_id("train", "sample")).stdout
    assert stage_id("train", "sample") in ran_stages(out)
    adapter = project.root / layout.bot("sample").adapter
    lora_files = {p.name: p.read_bytes() for p in adapter.iterdir()}
    assert set(lora_files) == {*layout.ADAPTER_FILES, "README.md"}
    project.set_params(**{"train.lora.enabled": False})
    assert stage_id("train", "sample") in ran_stages(project.dvc("repro", stage_id("train", "sample")).stdout)
    assert [p.name for p in adapter.iterdir()] == ["README.md"]
    project.set_params(**{"train.lora.enabled": True})
    out = project.dvc("repro", stage_id("train", "sample")).stdout
    assert f"Stage '{stage_id('train', 'sample')}' is cached - skipping run" in out, out
    assert {p.name: p.read_bytes() for p in adapter.iterdir()} == lora_files
