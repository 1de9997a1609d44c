"""What train leaves behind: the model folder (exactly MODEL_FILES, and the adapter/ folder)
and the loss curves."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tweetlm.core.errors import TweetlmError
from tweetlm.core.layout import ADAPTER_FILES, MODEL_FILES
from tweetlm.core.outputs import atomic_path, remove_leftovers


def save_model(model, tokenizer_dir: Path, model_dir: Path) -> None:
    """Write exactly MODEL_FILES into `model_dir`, each replaced in one rename, leaving
    what other stages wrote there (generation_config.json, README.md) alone."""
    from transformers import AutoTokenizer

    model_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(model_dir, ".train.*.tmp")  # a killed run's: `hf upload` would publish it
    staging = Path(tempfile.mkdtemp(prefix=".train.", suffix=".tmp", dir=model_dir))
    try:
        model.save_pretrained(staging)  # config.json, model.safetensors (+ generation_config)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            if not (tokenizer_dir / f).is_file():
                raise TweetlmError(f"{tokenizer_dir}: no {f}: this base has no fast tokenizer; "
                                   "rerun `dvc repro` (tokenize) with another model.base")
            shutil.copyfile(tokenizer_dir / f, staging / f)
        missing = [f for f in MODEL_FILES if not (staging / f).is_file()]
        if missing:
            raise TweetlmError(f"{model_dir}: save_pretrained wrote no {missing[0]} (a sharded "
                               "model?): use a base under 50 GB")
        # The two tokenizer files alone must load to the same tokenizer tokenize used.
        probe = "Hello @world, #tweets are fun 🙂 https://t.co/x\n"
        want = AutoTokenizer.from_pretrained(tokenizer_dir)(probe)["input_ids"]
        got = AutoTokenizer.from_pretrained(staging)(probe)["input_ids"]
        if got != want:
            raise TweetlmError(f"{tokenizer_dir}: the tokenizer needs files beyond "
                               "tokenizer.json and tokenizer_config.json: pick another model.base")
        for f in MODEL_FILES:
            os.replace(staging / f, model_dir / f)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_adapter(peft_model, folder: Path, readme: str, base, revision) -> None:
    """Replace `folder` with README.md `readme`, plus peft's ADAPTER_FILES when `peft_model`
    (LoRA) is given: one DVC out, valid with LoRA on or off."""
    with atomic_path(folder, directory=True) as tmp:
        if peft_model is not None:
            config = peft_model.peft_config["default"]
            # the base as params.yaml names it, not this machine's cache path
            config.base_model_name_or_path, config.revision = base, revision
            peft_model.save_pretrained(tmp)
            missing = [f for f in ADAPTER_FILES if not (tmp / f).is_file()]
            if missing:
                raise TweetlmError(f"{folder}: peft wrote no {missing[0]}")
        (tmp / "README.md").write_text(readme, encoding="utf-8")  # peft's own card: replaced


def save_plots(history: list[dict], dest: Path) -> None:
    """The loss curves into `dest` as dvclive writes them: <metric>.tsv, a header `step\t<name>`
    then one `step\tvalue` row per logged value (train/loss, train/learning_rate, eval/loss;
    a metric never logged has no file), replacing `dest` in one rename. Written here rather
    than through dvclive, whose import (it loads DVC) cost train about half a second."""
    series: dict[str, list] = {"train/loss": [], "train/learning_rate": [], "eval/loss": []}
    for entry in history:
        if "loss" in entry:
            series["train/loss"].append((entry["step"], entry["loss"]))
            series["train/learning_rate"].append((entry["step"], entry["learning_rate"]))
        if "eval_loss" in entry:
            series["eval/loss"].append((entry["step"], entry["eval_loss"]))
    with atomic_path(dest, directory=True) as tmp:
        for metric, rows in series.items():
            if not rows:
                continue
            path = tmp / f"{metric}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"step\t{metric.rsplit('/', 1)[1]}"] + [f"{s}\t{v}" for s, v in rows]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
