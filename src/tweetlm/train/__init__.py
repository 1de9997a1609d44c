"""train: fine-tune the base model on a bot's packed tweets.

data/tokenized/<bot>/ -> models/<bot>/{config.json, model.safetensors, tokenizer.json,
tokenizer_config.json} (loads with `pipeline('text-generation', model='models/<bot>')`),
models/<bot>/adapter/ (README.md; with train.lora on, peft's adapter beside the merged
weights), reports/<bot>/train_metrics.json (DVC metrics) and the curves under
reports/<bot>/train/plots/metrics/ (dvclive TSVs, a DVC plot with x = step): train/loss and
train/learning_rate at every step, eval/loss before training and after each epoch.

A lean PyTorch loop in the spirit of nanoGPT, with the defaults of the original
(transformers' Trainer). Every epoch packs the training tweets afresh, in a new seeded order,
into blocks of the resolved block size (data.py), as the original wrote each epoch's tweets
shuffled into its training text: new neighbours and block boundaries every epoch. Eval loss
(token-weighted mean cross-entropy on the validation blocks) before training, after every
epoch and at the end; perplexity = exp(eval_loss). The peak learning rate is always
train.learning_rate, and train_metrics.json records it.

Resumable: every train.checkpoint_steps the full state goes to checkpoints/<bot>/. Run
`tweetlm train` again after a crash or Ctrl-C (which finishes the current step and saves
first) and it resumes there; the result is the same as an uninterrupted run.

With train.fast_gpt2 (auto: on CUDA; true: everywhere) a GPT-2 base, the tiny preset too,
trains as the lean GPT-2 of gpt2.py (same maths, fused kernels), its weights copied back into
the transformers model to save. Shipped false, transformers' model, until a GPU run of
benchmarks/device/lean_vs_hf.py shows the lean one matches it and is faster.
`torchrun --nproc_per_node N -m tweetlm.core.cli train NAME` trains data-parallel (dist.py);
rank 0 alone writes and tracks.

`model.base: tiny` builds a small GPT-2 (model.tiny) from scratch, seeded, on the tiny
tokenizer from the tokenize stage.

    loop.py        the run, top to bottom
    data.py        the tokenized tweets, checked against params; each epoch's blocks
    model.py       model, optimizer, lr schedule, one step, eval loss
    lora.py        LoRA adapters with peft, merged at the end
    gpt2.py        the lean GPT-2, trained in place of a GPT-2 base with train.fast_gpt2
    dist.py        data-parallel training under torchrun: ranks, the gradient all-reduce
    checkpoint.py  the resumable State, checkpoint files, Ctrl-C
    save.py        the model folder and the loss plots
"""

from __future__ import annotations

from dataclasses import asdict

from tweetlm.shared import tracking
from tweetlm.core import layout
from tweetlm.core.params import Params
from tweetlm.train.dist import launched
from tweetlm.train.loop import train


def main(name: str, params: Params) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    paths = layout.bot(name)
    if not launched().main:  # torchrun's other ranks: train, write and track nothing
        train(params, paths)
        return
    config = {"train": asdict(params.train), "model": asdict(params.model)}
    with tracking.stage_run("train", name, params, config) as run:
        tracking.use_artifact(run, f"tokenized-{name}", "dataset", paths.tokenized)
        metrics = train(params, paths, run=run)
        tracking.log_summary(run, metrics)
        tracking.log_artifact(run, f"model-{name}", "model", *paths.model_files,
                              metadata=metrics)
    ppl = metrics["perplexity"]
    print(f"train {name}: eval loss {metrics['eval_loss']}, perplexity "
          f"{ppl if ppl is None else round(ppl, 2)}, {metrics['tokens_per_s']} tokens/s, "
          f"{metrics['train_runtime_s']:.1f} s -> {paths.model}")
