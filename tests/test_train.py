"""train: a tiny GPT-2 on a small corpus, CPU; the outputs, metrics, plots and resume."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.tinymodel import tweets, write_tweets

from tweetlm import tokenize, train
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import ModelParams, Params, TinyParams, TokenizeParams, TrainParams

NAME = "alice"


def make_params(train_=None, tiny=None) -> Params:
    return Params(
        handles=[NAME],
        tokenize=TokenizeParams(val_fraction=0.1, seed=1),
        model=ModelParams(base="tiny", tiny=tiny or TinyParams(
            n_layer=2, n_head=2, n_embd=32, vocab_size=400, learning_rate=3e-3)),
        train=train_ or TrainParams(block_size=32, epochs=2, batch_size=8, logging_steps=5,
                                    checkpoint_steps=1000, device="cpu"),
    )


@pytest.fixture(scope="module")
def tokenized_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenized")
    write_tweets(root / "data/processed" / NAME / "tweets.parquet", tweets(400, seed=11))
    cwd = Path.cwd()
    import os

    os.chdir(root)
    try:
        tokenize.main(NAME, make_params())
    finally:
        os.chdir(cwd)
    return root / "data/tokenized" / NAME


@pytest.fixture
def workdir(tmp_path, monkeypatch, tokenized_once):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    shutil.copytree(tokenized_once, tmp_path / "data/tokenized" / NAME)
    return tmp_path


def model_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "models" / NAME).iterdir())


def test_train_writes_a_loadable_model_metrics_and_plots(workdir, capsys):
    (workdir / "models" / NAME).mkdir(parents=True)
    # what predict and card wrote earlier stays untouched
    (workdir / "models" / NAME / "generation_config.json").write_text("{}")
    (workdir / "models" / NAME / "README.md").write_text("card")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train.main(NAME, make_params())
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr().err == ""  # CPU fallback is quiet: no warnings, no progress bars

    assert model_files(workdir) == sorted([*train.MODEL_FILES, "README.md",
                                           "generation_config.json"])
    assert (workdir / "models" / NAME / "README.md").read_text() == "card"
    assert not list((workdir / "models" / NAME).glob(".*"))  # no staging left behind
    assert not (workdir / "checkpoints").exists()  # removed after success

    from transformers import pipeline

    generator = pipeline("text-generation", model=str(workdir / "models" / NAME), device="cpu")
    out = generator("My cat", max_new_tokens=8, do_sample=True)
    assert out[0]["generated_text"].startswith("My cat")
    assert generator.model.config.n_positions == 32

    metrics = json.loads((workdir / "reports" / NAME / "train_metrics.json").read_text())
    for key in ("eval_loss", "perplexity", "initial_eval_loss", "train_loss", "train_runtime_s",
                "tokens_per_s"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["eval_loss"]))
    assert metrics["initial_eval_loss"] == pytest.approx(math.log(400), abs=0.5)
    assert metrics["eval_loss"] < metrics["initial_eval_loss"] - 1.0  # it learned something
    assert metrics["device"] == "cpu" and metrics["precision"] == "fp32"
    assert metrics["epochs"] == 2 and metrics["steps"] > 0
    meta = json.loads((workdir / "data/tokenized" / NAME / "meta.json").read_text())
    assert metrics["tokens_seen"] == 2 * meta["splits"]["train"]["blocks"] * 32
    assert metrics["validation_tokens"] == meta["splits"]["validation"]["tokens_in_blocks"]

    plots = workdir / "reports" / NAME / "train/plots/metrics"
    loss = (plots / "train/loss.tsv").read_text().splitlines()
    assert loss[0] == "step\tloss" and len(loss) > 3
    steps = [int(line.split("\t")[0]) for line in loss[1:]]
    assert steps == list(range(1, metrics["steps"] + 1))  # every step, not every log line
    mean = sum(float(line.split("\t")[1]) for line in loss[1:]) / metrics["steps"]
    assert mean == pytest.approx(metrics["train_loss"])
    evals = (plots / "eval/loss.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in evals[1:]][0] == "0"  # the initial evaluation
    assert float(evals[-1].split("\t")[1]) == pytest.approx(metrics["eval_loss"])
    assert (plots / "train/learning_rate.tsv").is_file()
    assert not (workdir / "dvc.yaml").exists()  # dvclive left the pipeline alone


def test_interrupted_run_resumes_to_identical_results(workdir, tmp_path_factory, monkeypatch,
                                                      capsys):
    # dropout on, so the resumed run must also restore the RNG to match
    params = make_params(
        TrainParams(block_size=32, epochs=2, batch_size=8, logging_steps=4, checkpoint_steps=3,
                    device="cpu"),
        TinyParams(n_layer=2, n_head=2, n_embd=32, vocab_size=400, learning_rate=3e-3,
                   dropout=0.1),
    )
    reference = tmp_path_factory.mktemp("reference")
    shutil.copytree(workdir / "data", reference / "data")
    monkeypatch.chdir(reference)
    train.main(NAME, params)
    expected = _metrics(reference)

    monkeypatch.chdir(workdir)

    class Crash(Exception):
        pass

    def crash_at_7(step):
        if step == 7:
            raise Crash

    tokenized = workdir / "data/tokenized" / NAME
    with pytest.raises(Crash):
        train.train(NAME, params, tokenized, workdir / "models" / NAME, workdir / "reports" / NAME,
                    on_step=crash_at_7)
    saved = list((workdir / "checkpoints" / NAME).glob("*/last.pt"))
    assert len(saved) == 1  # step 6: steps 7.. are redone
    assert (workdir / "checkpoints/.gitignore").read_text().strip().endswith("*")
    assert not (workdir / "models" / NAME).exists()
    stale = workdir / "checkpoints" / NAME / "0123456789abcdef"
    stale.mkdir()
    capsys.readouterr()
    train.main(NAME, params)
    assert "resuming at step 6/" in capsys.readouterr().out
    assert not (workdir / "checkpoints").exists()

    got = _metrics(workdir)
    for timing in ("train_runtime_s", "tokens_per_s"):
        expected.pop(timing), got.pop(timing)
    assert got == expected
    for f in train.MODEL_FILES:
        assert (workdir / "models" / NAME / f).read_bytes() == \
            (reference / "models" / NAME / f).read_bytes(), f
    plots = "train/plots/metrics/train/loss.tsv"
    assert (workdir / "reports" / NAME / plots).read_text() == \
        (reference / "reports" / NAME / plots).read_text()


def _metrics(root: Path) -> dict:
    return json.loads((root / "reports" / NAME / "train_metrics.json").read_text())


def test_checkpoint_of_other_params_is_not_resumed(workdir):
    params = make_params()
    tokenized = workdir / "data/tokenized" / NAME
    other = replace(params, train=replace(params.train, learning_rate=1e-3))
    fp_other = train.fingerprint(tokenized, other, "cpu")
    assert fp_other != train.fingerprint(tokenized, params, "cpu")
    assert train.fingerprint(tokenized, params, "cpu") == train.fingerprint(tokenized, params, "cpu")
    stale = workdir / "checkpoints" / NAME / fp_other
    stale.mkdir(parents=True)
    (stale / "last.pt").write_bytes(b"not a checkpoint")
    train.main(NAME, params)
    assert not stale.exists()


def test_learning_rate_schedule_matches_transformers():
    from transformers import get_scheduler
    import torch

    for name, warmup in (("cosine", 0), ("cosine", 5), ("linear", 3), ("constant", 4)):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = get_scheduler(name if name != "constant" else "constant_with_warmup", opt,
                              num_warmup_steps=warmup, num_training_steps=20)
        for step in range(20):
            assert train.lr_at(step, 20, 1.0, warmup, name) == pytest.approx(
                sched.get_last_lr()[0], abs=1e-12), (name, step)
            opt.step()
            sched.step()


def test_cuda_requested_without_a_gpu_is_a_clear_error(workdir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    params = make_params()
    with pytest.raises(TweetlmError, match="train.device: cuda"):
        train.main(NAME, replace(params, train=replace(params.train, device="cuda")))


def test_missing_tokenized_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with pytest.raises(TweetlmError, match="data/tokenized/alice"):
        train.main(NAME, make_params())


def test_block_size_change_without_retokenizing_is_caught(workdir):
    params = make_params()
    with pytest.raises(TweetlmError, match="train.block_size"):
        train.main(NAME, replace(params, train=replace(params.train, block_size=64)))


def wandb_records(run_file: Path):
    """The protobuf records of an offline run file (LevelDB-log framing: 7-byte file
    header, 32 KiB blocks, 7-byte record headers, FULL/FIRST/MIDDLE/LAST chunks)."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, buf = run_file.read_bytes(), 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(buf + chunk if kind == 4 else chunk)
            yield record
            buf = b""
        elif kind in (2, 3):
            buf = buf + chunk if kind == 3 else chunk


def test_offline_wandb_runs_form_the_lineage(workdir, monkeypatch, tmp_path_factory):
    """tokenize logs the dataset; train names it (by digest) as its input and logs the model."""
    scratch = tmp_path_factory.mktemp("wandb-home")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(scratch / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    shutil.rmtree(workdir / "data/tokenized")
    write_tweets(workdir / "data/processed" / NAME / "tweets.parquet", tweets(400, seed=11))
    tokenize.main(NAME, make_params())
    train.main(NAME, make_params())

    runs = {}
    for run_file in (workdir / "wandb").glob("offline-run-*/run-*.wandb"):
        records = list(wandb_records(run_file))
        run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
        config = {i.key: json.loads(i.value_json) for r in records
                  if r.WhichOneof("record_type") == "config" for i in r.config.update}
        artifacts = {r.artifact.name: r.artifact for r in records
                     if r.WhichOneof("record_type") == "artifact"}
        runs[run.job_type] = (run, config, artifacts)
    assert set(runs) == {"tokenize", "train"}
    _, tok_config, tok_artifacts = runs["tokenize"]
    assert set(tok_config["inputs"]) == {f"processed-{NAME}"}
    dataset = tok_artifacts[f"tokenized-{NAME}"]
    assert dataset.type == "dataset"
    train_run, train_config, train_artifacts = runs["train"]
    assert train_run.display_name == f"train-{NAME}"
    assert train_config["inputs"] == {f"tokenized-{NAME}": dataset.digest}
    model = train_artifacts[f"model-{NAME}"]
    assert model.type == "model"
    assert sorted(e.path for e in model.manifest.contents) == sorted(train.MODEL_FILES)


def test_no_validation_split_trains_without_eval_metrics(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    params = make_params()
    params = replace(params, tokenize=replace(params.tokenize, val_fraction=0.0),
                     train=replace(params.train, epochs=1))
    write_tweets(tmp_path / "data/processed" / NAME / "tweets.parquet", tweets(200, seed=12))
    tokenize.main(NAME, params)
    train.main(NAME, params)
    metrics = _metrics(tmp_path)
    assert metrics["eval_loss"] is None and metrics["perplexity"] is None
    assert metrics["validation_tokens"] == 0 and math.isfinite(metrics["train_loss"])
    assert not (tmp_path / "reports" / NAME / "train/plots/metrics/eval").exists()


def test_gradient_accumulation_equals_one_big_batch():
    import copy
    from contextlib import nullcontext

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_positions=16, n_embd=16, n_layer=1, n_head=2,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    one = GPT2LMHeadModel(config)
    two = copy.deepcopy(one)
    x = torch.randint(0, 64, (8, 16))
    losses = []
    for model, batches in ((one, [x]), (two, [x[:3], x[3:]])):  # unequal micro-batches
        optimizer = train.make_optimizer(model, 1e-2, 0.1, fused=False)
        losses.append(train.train_step(model, model, optimizer, batches, 1e-2, 1.0,
                                       nullcontext()).item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for a, b in zip(one.parameters(), two.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
