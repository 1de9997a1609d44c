"""train: a tiny GPT-2 on a small corpus, CPU; the outputs, metrics, plots, per-epoch packing
and resume."""

from __future__ import annotations

import json
import math
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from helpers.params import make_params
from helpers.stages import run_stages
from helpers.tinymodel import tweets, write_tweets

from tweetlm import tokenize, train
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params
from tweetlm.train.checkpoint import fingerprint
from tweetlm.train.model import hf_loss, lr_at, make_optimizer, train_step

NAME = "alice"
# A tiny GPT-2 that learns something in seconds on a CPU
SMALL = {
    "handles": [NAME], "tokenize.val_fraction": 0.1, "tokenize.seed": 1, "model.base": "tiny",
    "model.tiny.n_layer": 2, "model.tiny.n_head": 2, "model.tiny.n_embd": 32,
    "model.tiny.vocab_size": 400, "model.tiny.n_positions": 32, "model.tiny.dropout": 0.0,
    "train.learning_rate": 3e-3,
    "train.block_size": 32, "train.epochs": 2, "train.batch_size": 8, "train.grad_accum": 1,
    "train.logging_steps": 5, "train.checkpoint_steps": 1000, "train.device": "cpu",
}


def small_params(**overrides) -> Params:
    return make_params(**{**SMALL, **overrides})


@pytest.fixture(scope="module")
def tokenized_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokenized")
    write_tweets(root / layout.processed(NAME), tweets(400, seed=11))
    run_stages(root, NAME, small_params(), tokenize)
    return root / layout.bot(NAME).tokenized


@pytest.fixture
def workdir(tmp_path, monkeypatch, tokenized_once):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    shutil.copytree(tokenized_once, tmp_path / layout.bot(NAME).tokenized)
    return tmp_path


def model_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / layout.bot(NAME).model).iterdir())


def test_train_writes_a_loadable_model_metrics_and_plots(workdir, capsys):
    (workdir / layout.bot(NAME).model).mkdir(parents=True)
    # what predict and card wrote earlier stays untouched
    (workdir / layout.bot(NAME).generation_config).write_text("{}")
    (workdir / layout.bot(NAME).card).write_text("card")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train.main(NAME, small_params())
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr().err == ""  # CPU fallback is quiet: no warnings, no progress bars

    assert model_files(workdir) == sorted([*layout.MODEL_FILES, "README.md", "adapter",
                                           "generation_config.json"])
    assert (workdir / layout.bot(NAME).card).read_text() == "card"
    note = (workdir / layout.bot(NAME).adapter / "README.md").read_text()
    assert "trained from scratch" in note and "fine-tuned" not in note  # the tiny preset
    assert not list((workdir / layout.bot(NAME).model).glob(".*"))  # no staging left behind
    assert not (workdir / "checkpoints").exists()  # removed after success

    from transformers import pipeline

    generator = pipeline("text-generation", model=str(workdir / layout.bot(NAME).model),
                         device="cpu")
    out = generator("My cat", max_new_tokens=8, do_sample=True)
    assert out[0]["generated_text"].startswith("My cat")
    assert generator.model.config.n_positions == 32

    metrics = json.loads((workdir / layout.bot(NAME).train_metrics).read_text())
    for key in ("eval_loss", "perplexity", "initial_eval_loss", "train_loss", "train_runtime_s",
                "tokens_per_s"):
        assert isinstance(metrics[key], float) and math.isfinite(metrics[key]), key
    assert metrics["perplexity"] == pytest.approx(math.exp(metrics["eval_loss"]))
    assert metrics["initial_eval_loss"] == pytest.approx(math.log(400), abs=0.5)
    assert metrics["eval_loss"] < metrics["initial_eval_loss"] - 1.0  # it learned something
    assert metrics["device"] == "cpu" and metrics["precision"] == "fp32"
    assert metrics["training_path"] == "transformers"  # train.fast_gpt2 false, as shipped
    assert metrics["epochs"] == 2 and metrics["steps"] > 0
    assert metrics["learning_rate"] == 3e-3  # train.learning_rate: the tiny preset's too
    meta = json.loads((workdir / layout.bot(NAME).tokenized_meta).read_text())
    assert metrics["tokens_seen"] == 2 * meta["splits"]["train"]["blocks"] * 32
    assert metrics["validation_tokens"] == meta["splits"]["validation"]["tokens_in_blocks"]

    plots = workdir / layout.bot(NAME).train_plots
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


def test_lean_gpt2_trains_as_the_transformers_model_and_saves_the_same_folder(workdir):
    """train.fast_gpt2: true on a CPU (fp32): the lean GPT-2 (vocabulary padded from 400 to
    448) follows the transformers run to fp32 rounding and saves a plain GPT-2 folder."""
    import torch
    from safetensors.torch import load_file
    from transformers import pipeline

    runs = {}
    for fast in (False, True):
        train.main(NAME, small_params(**{"train.fast_gpt2": fast}))
        metrics = json.loads((workdir / layout.bot(NAME).train_metrics).read_text())
        runs[fast] = metrics, load_file(workdir / layout.bot(NAME).model / "model.safetensors")
    (hf, hf_weights), (lean, lean_weights) = runs[False], runs[True]
    assert (hf["training_path"], lean["training_path"]) == ("transformers", "lean GPT-2")
    assert lean["parameters"] == hf["parameters"] and lean["steps"] == hf["steps"]
    assert lean["initial_eval_loss"] == pytest.approx(hf["initial_eval_loss"], rel=1e-6)
    assert lean["eval_loss"] == pytest.approx(hf["eval_loss"], rel=1e-4)
    assert lean["train_loss"] == pytest.approx(hf["train_loss"], rel=1e-4)
    assert lean_weights.keys() == hf_weights.keys()
    for key, value in hf_weights.items():
        assert lean_weights[key].shape == value.shape, key  # padded rows sliced off
        torch.testing.assert_close(lean_weights[key], value, rtol=1e-3, atol=1e-4, msg=key)
    generator = pipeline("text-generation", model=str(workdir / layout.bot(NAME).model),
                         device="cpu")
    assert generator("My cat", max_new_tokens=4)[0]["generated_text"].startswith("My cat")


@pytest.mark.slow
def test_interrupted_run_resumes_to_identical_results(workdir, tmp_path_factory, monkeypatch,
                                                      capsys):
    # dropout on, so the resumed run must also restore the RNG to match
    params = small_params(**{"train.logging_steps": 4, "train.checkpoint_steps": 3,
                             "model.tiny.dropout": 0.1})
    reference = tmp_path_factory.mktemp("reference")
    shutil.copytree(workdir / "data", reference / "data")
    monkeypatch.chdir(reference)
    train.main(NAME, params)
    expected = _metrics(reference)

    monkeypatch.chdir(workdir)

    class Crash(Exception):
        pass

    def crash_at_31(step):  # in the second epoch (27 steps each): its own packing
        if step == 31:
            raise Crash

    with pytest.raises(Crash):
        train.train(params, layout.bot(NAME), on_step=crash_at_31)
    assert expected["steps"] == 54
    saved = list((workdir / "checkpoints" / NAME).glob("*/last.pt"))
    assert len(saved) == 1  # step 30: steps 31.. are redone
    assert (workdir / "checkpoints/.gitignore").read_text().strip().endswith("*")
    assert not (workdir / layout.bot(NAME).model).exists()
    stale = workdir / "checkpoints" / NAME / "0123456789abcdef"
    stale.mkdir()
    capsys.readouterr()
    train.main(NAME, params)
    assert "resuming at step 30/" in capsys.readouterr().out
    assert not (workdir / "checkpoints").exists()

    got = _metrics(workdir)
    for timing in ("train_runtime_s", "tokens_per_s"):
        expected.pop(timing), got.pop(timing)
    assert got == expected
    for f in layout.MODEL_FILES:
        assert (workdir / layout.bot(NAME).model / f).read_bytes() == \
            (reference / layout.bot(NAME).model / f).read_bytes(), f
    plots = "train/plots/metrics/train/loss.tsv"
    assert (workdir / layout.bot(NAME).reports / plots).read_text() == \
        (reference / layout.bot(NAME).reports / plots).read_text()


@pytest.mark.parametrize("poison", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_a_diverged_run_fails_in_one_line_and_saves_nothing(workdir, poison):
    """Weights gone NaN/infinite at step 3: step 4's loss is not finite. The stage fails
    before the step-4 checkpoint, with one line; no model, no metrics; step 2's checkpoint
    stays. Without the check, train wrote `eval loss nan` and DVC recorded a good build."""
    params = small_params(**{"train.checkpoint_steps": 2, "train.logging_steps": 5})

    def diverge_at_3(step):
        if step == 3:
            with torch.no_grad():
                next(iter(model_params)).fill_(poison)

    model_params = []
    real_make = train.loop.make_optimizer

    def keep_params(model, *args, **kwargs):  # the model being trained, for the poison
        model_params.extend(model.parameters())
        return real_make(model, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train.loop, "make_optimizer", keep_params)
        with pytest.raises(TweetlmError) as err:
            train.train(params, layout.bot(NAME), on_step=diverge_at_3)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"train {NAME}: the loss is ") and " at step 4: " in message
    assert "lower train.learning_rate" in message
    assert not (workdir / layout.bot(NAME).model).exists()
    assert not (workdir / layout.bot(NAME).train_metrics).exists()
    (saved,) = (workdir / "checkpoints" / NAME).glob("*/last.pt")
    assert torch.load(saved, weights_only=True)["step"] == 2  # the last good one


def test_a_batch_larger_than_the_data_warns_in_one_line(workdir, capsys):
    """train.batch_size 1024 (its most) on a few dozen blocks: one step an epoch, the whole
    data in memory at once. Trains, and says so once."""
    train.main(NAME, small_params(**{"train.batch_size": 1024, "train.epochs": 1}))
    (line,) = [x for x in capsys.readouterr().err.splitlines() if "warning" in x]
    assert line.startswith(f"tweetlm: warning: train {NAME}: train.batch_size 1024 x grad_accum 1 "
                           "is more than the ") and line.endswith("lower train.batch_size")
    assert json.loads((workdir / layout.bot(NAME).train_metrics).read_text())["steps"] == 1


def _metrics(root: Path) -> dict:
    return json.loads((root / layout.bot(NAME).train_metrics).read_text())


@pytest.mark.slow
def test_checkpoint_of_other_params_is_not_resumed(workdir):
    params = small_params()
    tokenized = workdir / layout.bot(NAME).tokenized
    other = small_params(**{"train.learning_rate": 1e-3})
    fp_other = fingerprint(tokenized, other, "cpu")
    assert fp_other != fingerprint(tokenized, params, "cpu")
    assert fingerprint(tokenized, params, "cpu") == fingerprint(tokenized, params, "cpu")
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
            assert lr_at(step, 20, 1.0, warmup, name) == pytest.approx(
                sched.get_last_lr()[0], abs=1e-12), (name, step)
            opt.step()
            sched.step()


def test_cuda_requested_without_a_gpu_is_a_clear_error(workdir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(TweetlmError, match="train.device: cuda"):
        train.main(NAME, small_params(**{"train.device": "cuda"}))


def test_missing_tokenized_data_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with pytest.raises(TweetlmError, match="data/tokenized/alice"):
        train.main(NAME, small_params())


def test_block_size_change_without_retokenizing_is_caught(workdir):
    params = small_params(**{"train.block_size": 16})
    with pytest.raises(TweetlmError, match=r"blocks of 32 tokens but train.block_size is 16"):
        train.main(NAME, params)


def test_every_epoch_packs_the_tweets_afresh():
    """group_texts over a new order of the same tweets: new neighbours and block boundaries
    every epoch, the same for the same (seed, epoch), as many blocks every epoch."""
    import numpy as np

    from tweetlm.train.data import Tweets

    lengths = [3, 5, 2, 7, 4, 6, 1, 8]
    rows = [np.full(n, i, dtype=np.int64) for i, n in enumerate(lengths)]  # tweet i is i's
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    tweets = Tweets(np.concatenate(rows), offsets, block_size=4, seed=3)
    assert tweets.blocks == sum(lengths) // 4 == 9
    epochs = [tweets.epoch(e) for e in range(4)]
    for blocks in epochs:
        assert blocks.shape == (9, 4)
        flat = blocks.flatten().tolist()
        # whole tweets back to back (the order's last one may be cut): a run per tweet
        runs = [k for i, k in enumerate(flat) if i == 0 or flat[i - 1] != k]
        assert len(runs) == len(set(runs)) and flat == [k for k in runs
                                                       for _ in range(lengths[k])][:36]
    orders = {tuple(b.flatten().tolist()) for b in epochs}
    assert len(orders) == 4  # a new order every epoch
    again = Tweets(np.concatenate(rows), offsets, block_size=4, seed=3)
    assert all((again.epoch(e) == epochs[e]).all() for e in range(4))  # (seed, epoch) alone
    other = Tweets(np.concatenate(rows), offsets, block_size=4, seed=4)
    assert not (other.epoch(0) == epochs[0]).all()


def test_auto_block_size_is_resolved_and_recorded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    params = small_params(**{"train.block_size": "auto", "model.tiny.n_positions": 48,
                             "train.epochs": 0.2})
    write_tweets(tmp_path / layout.processed(NAME), tweets(200, seed=13))
    tokenize.main(NAME, params)
    train.main(NAME, params)
    metrics = _metrics(tmp_path)
    assert metrics["block_size"] == 48 and metrics["finetuning"] == "from scratch"
    assert metrics["lora_r"] is None and metrics["trained_parameters"] == metrics["parameters"]
    config = json.loads((tmp_path / layout.bot(NAME).model / "config.json").read_text())
    assert config["n_positions"] == 48


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


@pytest.mark.slow
def test_offline_wandb_runs_form_the_lineage(workdir, monkeypatch, tmp_path_factory):
    """tokenize logs the dataset; train names it (by digest) as its input and logs the model."""
    scratch = tmp_path_factory.mktemp("wandb-home")
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(scratch / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    shutil.rmtree(workdir / "data/tokenized")
    write_tweets(workdir / layout.processed(NAME), tweets(400, seed=11))
    tokenize.main(NAME, small_params())
    train.main(NAME, small_params())
    # run.finish() only informs W&B's service process, which closes the run file later; a
    # stage's process exit waits for it (wandb's atexit teardown), so do what exit does.
    import wandb
    wandb.teardown()

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
    artifact = train_artifacts[f"model-{NAME}"]
    assert artifact.type == "model"
    assert sorted(e.path for e in artifact.manifest.contents) == sorted(layout.MODEL_FILES)


def test_no_validation_split_trains_without_eval_metrics(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    params = small_params(**{"tokenize.val_fraction": 0.0, "train.epochs": 1})
    write_tweets(tmp_path / layout.processed(NAME), tweets(200, seed=12))
    tokenize.main(NAME, params)
    train.main(NAME, params)
    metrics = _metrics(tmp_path)
    assert metrics["eval_loss"] is None and metrics["perplexity"] is None
    assert metrics["validation_tokens"] == 0 and math.isfinite(metrics["train_loss"])
    assert not (tmp_path / layout.bot(NAME).train_plots / "eval").exists()


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
    for gpt, batches in ((one, [x]), (two, [x[:3], x[3:]])):  # unequal micro-batches
        optimizer = make_optimizer(gpt, 1e-2, 0.1, fused=False)
        losses.append(train_step(hf_loss(gpt, nullcontext()), gpt, optimizer, batches, 1e-2,
                                 1.0).item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    for a, b in zip(one.parameters(), two.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_clearing_a_bots_checkpoints_leaves_other_bots_and_then_the_folder(tmp_path):
    """checkpoints/ is shared by every bot: clear() removes this bot's, and the shared folder
    only once nothing else is in it (another handle's run may be writing there)."""
    from tweetlm.train.checkpoint import Checkpoints, State

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    alice = Checkpoints(tmp_path / "checkpoints" / "alice", "a" * 16)
    bob = Checkpoints(tmp_path / "checkpoints" / "bob", "b" * 16)
    alice.save(State(step=1), model, optimizer)
    bob.save(State(step=2), model, optimizer)

    alice.clear()
    assert not alice.folder.exists() and bob.path.is_file()
    bob.clear()
    assert not (tmp_path / "checkpoints").exists()
