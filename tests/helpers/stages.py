"""Builders for the model stages' tests: a params.yaml the CLI accepts, and what train and
predict leave behind for the card (a stand-in model: the card reads only its config and
the safetensors header)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers.params import shipped_raw
from PIL import Image
from safetensors.numpy import save_file

from tweetlm.shared import pretrained
from tweetlm import tokenize
from tweetlm.core import layout


def write_params(root: Path, **sections) -> Path:
    """root/params.yaml: the shipped params with top-level keys replaced (handles=[...])."""
    path = Path(root) / "params.yaml"
    path.write_text(yaml.safe_dump({**shipped_raw(), **sections}, sort_keys=False))
    return path


def run_stages(root: Path, name: str, params, *stages, wandb: str | None = None) -> None:
    """Each stage's main(name, params), in order, run in the folder `root` (what `tweetlm
    <stage>` does there; module-scoped fixtures have no monkeypatch), W&B in mode `wandb`
    when given."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        if wandb:
            mp.setenv("WANDB_MODE", wandb)
        for stage in stages:
            stage.main(name, params)


def write_card_inputs(root: Path, bot: str, metrics: dict, predictions: dict,
                      vocab_size: int = 10, n_positions: int = 16, n_embd: int = 8) -> None:
    """train_metrics.json, predictions.json and predictions.png under reports/<bot>/, and a
    models/<bot>/ of config.json + model.safetensors (wte and wpe, zeros)."""
    paths = layout.bot(bot)
    reports, model = Path(root) / paths.reports, Path(root) / paths.model
    reports.mkdir(parents=True, exist_ok=True)
    model.mkdir(parents=True, exist_ok=True)
    (Path(root) / paths.train_metrics).write_text(json.dumps(metrics))
    (Path(root) / paths.predictions).write_text(json.dumps(predictions))
    Image.new("RGB", (40, 20), (200, 10, 10)).save(Path(root) / paths.picture)
    (model / "config.json").write_text(json.dumps(
        {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": n_embd,
         "n_positions": n_positions, "vocab_size": vocab_size}))
    save_file({"wte": np.zeros((vocab_size, n_embd), np.float32),
               "wpe": np.zeros((n_positions, n_embd), np.float32)},
              str(model / "model.safetensors"))


def read_splits(tokenized: Path) -> dict[str, dict[str, list]]:
    """tokenize's splits in a tokenized folder, read as its docstring says (pyarrow's IPC
    file reader, nothing of tweetlm's): split -> {"input_ids": rows}."""
    import pyarrow as pa

    return {split: pa.ipc.open_file(str(layout.split_file(Path(tokenized), split))).read_all()
            .to_pydict() for split in layout.SPLITS}


def tokenize_meta(base: str, oversampling: tuple[str, ...] = ()) -> dict:
    """The meta.json fields the card reads, as tokenize records them for `model.base` = `base`
    (a hub id as if in the Hugging Face cache), with its oversampling warnings."""
    if base == pretrained.TINY:
        resolved = pretrained.Base(base)
    elif Path(base).exists():
        resolved = pretrained.Base(base, Path(base).resolve())
    else:
        resolved = pretrained.Base(base, Path("hub-cache") / base, "0" * 40)
    return {**tokenize.base_meta(resolved), "oversampling": list(oversampling)}


def write_tokenize_meta(root: Path, bot: str, base: str, oversampling: tuple[str, ...] = ()
                        ) -> None:
    """data/tokenized/<bot>/meta.json with what the card reads of it (tokenize_meta)."""
    path = Path(root) / layout.bot(bot).tokenized_meta
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tokenize_meta(base, oversampling)))
