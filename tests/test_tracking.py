"""W&B tracking: artifacts reference the files DVC already stores, they never copy them."""

from __future__ import annotations

import os

import pytest

from helpers.params import make_params
from tweetlm.shared import tracking


@pytest.fixture
def wandb_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return tmp_path


def _files_under(folder):
    return [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files]


def test_artifacts_are_references_not_copies(wandb_home):
    model = wandb_home / "models" / "alice"
    model.mkdir(parents=True)
    payload = os.urandom(4 << 20)  # big enough to notice a copy anywhere
    (model / "model.safetensors").write_bytes(payload)
    (model / "config.json").write_text("{}")
    params = make_params(handles=["alice"])

    with tracking.stage_run("train", "alice", params) as run:
        assert run is not None
        tracking.log_artifact(run, "model-alice", "model", model / "model.safetensors",
                              model / "config.json")
        artifact = tracking._artifact("model-alice", "model", [model / "model.safetensors"], None)
        entry = artifact.manifest.entries["model.safetensors"]
        assert entry.ref == (model / "model.safetensors").resolve().as_uri()
        assert entry.size == len(payload)

    # Nothing of the model's size was written anywhere but the model folder itself.
    big = [p for p in _files_under(wandb_home) if os.path.getsize(p) >= len(payload)
           and not p.startswith(str(model))]
    assert big == []


def test_an_input_and_the_output_it_came_from_have_one_digest(wandb_home):
    data = wandb_home / "data" / "tokenized" / "alice"
    data.mkdir(parents=True)
    (data / "train.arrow").write_bytes(b"blocks")
    (data / "meta.json").write_text('{"a": 1}')
    out = tracking._artifact("tokenized-alice", "dataset", [data], None)
    again = tracking._artifact("tokenized-alice", "dataset", [data], None)
    assert out.digest == again.digest
    assert sorted(out.manifest.entries) == ["meta.json", "train.arrow"]
    (data / "meta.json").write_text('{"a": 2}')
    assert tracking._artifact("tokenized-alice", "dataset", [data], None).digest != out.digest
