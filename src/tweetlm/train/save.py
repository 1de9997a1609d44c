"""What train leaves behind: the model folder (exactly MODEL_FILES, and the adapter/ folder)
and the loss curves."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tweetlm.core.errors import TweetlmError
from tweetlm.core.layout import ADAPTER_FILES, MODEL_FILES
from tweetlm.core.outputs import atomic_path


def save_model(model, tokenizer_dir: Path, model_dir: Path) -> None:
    """Write exactly MODEL_FILES into `model_dir`, each replaced in one rename, leaving
    what other stages wrote there (generation_config.json, README.md) alone."""
    from transformers import AutoTokenizer

    model_dir.mkdir(parents=True, exist_ok=True)
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
    """Replay the loss history through dvclive into `dest` (TSVs: step, value).

    dvclive writes into a scratch folder outside the repository (so it never touches
    dvc.yaml, git or experiments) and the result replaces `dest` in one rename.
    """
    from dvclive import Live

    with tempfile.TemporaryDirectory(prefix="tweetlm-dvclive-") as scratch:
        live = Live(dir=scratch, save_dvc_exp=False, dvcyaml=None, report=None)
        for entry in history:
            live.step = entry["step"]
            if "loss" in entry:
                live.log_metric("train/loss", entry["loss"])
                live.log_metric("train/learning_rate", entry["learning_rate"])
            if "eval_loss" in entry:
                live.log_metric("eval/loss", entry["eval_loss"])
        live.end()
        with atomic_path(dest, directory=True) as tmp:
            shutil.copytree(Path(scratch) / "plots" / "metrics", tmp, dirs_exist_ok=True)
