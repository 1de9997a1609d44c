"""Hostile model folders and names: weights load only from safetensors, never with remote
code, and no handle or bot name reaches a path before it is validated.

Every planted payload writes a marker file when it runs: a pickle that would run on
`torch.load`, Python modules that would run on import. Each test first shows that the payload
is live (it does run when loaded unsafely), then that tweetlm refuses the folder with a clear
TweetlmError and the marker never appears.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.tinymodel import save_tiny_gpt2

from tweetlm import predict
from tweetlm.shared import pretrained
from tweetlm.core import cli
from tweetlm.core.errors import TweetlmError
from tweetlm.core import layout

ROOT = Path(__file__).resolve().parents[1]
TWEETLM = str(Path(sys.executable).parent / "tweetlm")


class Payload:
    """Pickled, it calls exec() when unpickled: what a hostile pytorch_model.bin does."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'a').write('pickle ran\\n')",)


def evil_module(marker: Path, body: str = "") -> str:
    return f"open({str(marker)!r}, 'a').write(__name__ + ' ran\\n')\n{body}"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A genuine tiny GPT-2 folder, as save_pretrained writes it (safetensors)."""
    return save_tiny_gpt2(tmp_path_factory.mktemp("good") / "gpt2", vocab_size=350)


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PAYLOAD_RAN"


def variant(good: Path, dest: Path, drop: tuple[str, ...] = ()) -> Path:
    shutil.copytree(good, dest)
    for name in drop:
        (dest / name).unlink()
    return dest


def pickle_weights(folder: Path, marker: Path) -> Path:
    """A pytorch_model.bin as torch.save writes it, whose unpickling runs the payload."""
    import torch

    torch.save({"transformer.wte.weight": Payload(marker)}, folder / "pytorch_model.bin")
    return folder / "pytorch_model.bin"


def assert_payload_is_live(path: Path, marker: Path) -> None:
    """Loading the planted weights the unsafe way does run the payload (then reset)."""
    import torch

    torch.load(path, weights_only=False)
    assert marker.read_text() == "pickle ran\n"
    marker.unlink()


# ---------------------------------------------------------------- pickle weights


def test_base_with_only_pickle_weights_is_refused(good, tmp_path, marker):
    base = variant(good, tmp_path / "base", drop=("model.safetensors",))
    assert_payload_is_live(pickle_weights(base, marker), marker)
    with pytest.raises(TweetlmError, match=r"holds only pickle weights \(pytorch_model.bin\)"):
        pretrained.resolve(str(base))
    with pytest.raises(TweetlmError):  # even if a caller skipped resolve(): safetensors only
        pretrained.load_model(base)
    assert not marker.exists()


def test_pickle_next_to_safetensors_is_never_loaded(good, tmp_path, marker):
    base = variant(good, tmp_path / "base")
    pickle_weights(base, marker)
    assert pretrained.resolve(str(base)).path == base.resolve()
    model = pretrained.load_model(base)
    assert model.num_parameters() > 0
    assert not marker.exists()


def test_predict_refuses_a_model_folder_with_pickle_weights(good, tmp_path, marker):
    model_dir = variant(good, tmp_path / layout.bot("alice").model, drop=("model.safetensors",))
    assert_payload_is_live(pickle_weights(model_dir, marker), marker)
    with pytest.raises(TweetlmError, match=r"models/alice: no trained model \(model.safetensors"):
        predict.load_model(model_dir)
    # corrupt safetensors beside the pickle: an error, not a fall back to the pickle
    (model_dir / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(TweetlmError, match=r"models/alice: cannot load the model"):
        predict.load_model(model_dir)
    assert not marker.exists()


def test_a_hostile_training_checkpoint_is_ignored_not_run(tmp_path, marker, capsys):
    import torch

    from tweetlm.train.checkpoint import Checkpoints

    ckpt = Checkpoints(tmp_path / "checkpoints" / "alice", "0123456789abcdef")
    ckpt.dir.mkdir(parents=True)
    torch.save({"step": 5, "model": Payload(marker)}, ckpt.path)
    model = torch.nn.Linear(2, 2)
    # weights_only: the unpickler refuses the call; nothing is restored into the model
    assert ckpt.load(model, torch.optim.AdamW(model.parameters())) is None
    assert "ignoring unreadable checkpoint" in capsys.readouterr().err
    assert not marker.exists()


# ---------------------------------------------------------------- remote code


def remote_code_folder(good: Path, dest: Path, marker: Path, where: str) -> Path:
    """A model folder whose config.json or tokenizer_config.json maps to its own code."""
    folder = variant(good, dest)
    (folder / "configuration_evil.py").write_text(evil_module(marker, (
        "from transformers import GPT2Config\n"
        "class EvilConfig(GPT2Config):\n    model_type = 'evil'\n")))
    (folder / "modeling_evil.py").write_text(evil_module(marker, (
        "from transformers import GPT2LMHeadModel\n"
        "class EvilModel(GPT2LMHeadModel):\n    pass\n")))
    (folder / "tokenization_evil.py").write_text(evil_module(marker, (
        "from transformers import GPT2TokenizerFast\n"
        "class EvilTokenizer(GPT2TokenizerFast):\n    pass\n")))
    name = "config.json" if where == "config" else "tokenizer_config.json"
    data = json.loads((folder / name).read_text())
    if where == "config":
        data["auto_map"] = {"AutoConfig": "configuration_evil.EvilConfig",
                            "AutoModelForCausalLM": "modeling_evil.EvilModel"}
    else:
        data["auto_map"] = {"AutoTokenizer": ["tokenization_evil.EvilTokenizer",
                                              "tokenization_evil.EvilTokenizer"]}
        data["tokenizer_class"] = "EvilTokenizer"
    (folder / name).write_text(json.dumps(data))
    return folder


def test_remote_code_payload_is_live_when_trusted(good, tmp_path, marker):
    """The planted code runs as soon as transformers is allowed to (in a throwaway process,
    with its module cache in tmp_path): the refusals below are not vacuous."""
    folder = remote_code_folder(good, tmp_path / "evil", marker, "config")
    code = ("import sys; from transformers import AutoConfig; "
            "AutoConfig.from_pretrained(sys.argv[1], trust_remote_code=True)")
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, capture_output=True,
                   env={**os.environ, "HF_HOME": str(tmp_path / "hf"),
                        "HF_MODULES_CACHE": str(tmp_path / "hf/modules")}, timeout=300)
    assert "configuration_evil ran" in marker.read_text()


def test_auto_map_in_config_is_refused_before_any_import(good, tmp_path, marker):
    folder = remote_code_folder(good, tmp_path / "evil", marker, "config")
    with pytest.raises(TweetlmError, match=r"config.json: auto_map: .*never runs"):
        pretrained.resolve(str(folder))
    # Called directly, the loaders ignore the map (trust_remote_code=False): native classes
    assert type(pretrained.load_model(folder)).__name__ == "GPT2LMHeadModel"
    assert type(predict.load_model(folder)[0]).__name__ == "GPT2LMHeadModel"
    assert not marker.exists()
    assert not list(tmp_path.rglob("__pycache__"))  # not even compiled


def test_auto_map_in_tokenizer_config_runs_nothing(good, tmp_path, marker):
    """config.json is clean, tokenizer_config.json asks for custom code: the tokenizer
    loads as the native class or is refused; its module is never imported."""
    folder = remote_code_folder(good, tmp_path / "evil", marker, "tokenizer")
    for load in (lambda: pretrained.load_tokenizer(pretrained.resolve(str(folder)).path),
                 lambda: predict.load_model(folder)):
        try:
            load()
        except TweetlmError:
            pass
    assert not marker.exists()


# ---------------------------------------------------------------- corrupt safetensors


def corruptions(good: Path) -> dict[str, bytes]:
    import torch
    from safetensors.torch import load_file, save

    data = (good / "model.safetensors").read_bytes()
    weights = load_file(good / "model.safetensors")
    first = sorted(weights)[0]
    return {
        "empty": b"",
        "garbage": os.urandom(4096),
        "truncated": data[: len(data) // 2],
        "huge header length": (1 << 62).to_bytes(8, "little") + data[8:],
        "no tensors": save({"x": torch.zeros(1)}),  # valid file: transformers would fill
        "one tensor missing": save({k: v for k, v in weights.items() if k != first}),  # in noise
        "wrong shape": save({**weights, first: torch.zeros(3, 3)}),
    }


def test_corrupt_safetensors_are_a_clear_error_in_train_and_predict(good, tmp_path):
    for i, (what, data) in enumerate(corruptions(good).items()):
        folder = variant(good, tmp_path / f"m{i}")
        (folder / "model.safetensors").write_bytes(data)
        for load in (pretrained.load_model, predict.load_model):
            with pytest.raises(TweetlmError) as e:
                load(folder)
            message = str(e.value)
            assert str(folder) in message and "\n" not in message, (what, message)


# ---------------------------------------------------------------- names


@pytest.fixture
def workspace(tmp_path) -> Path:
    """tmp_path/ws/project: a project folder with params for handle `sample`."""
    project = tmp_path / "ws" / "project"
    project.mkdir(parents=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    return project


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


STAGES = ["ingest", "filter", "tokenize", "train", "predict", "card"]
# name -> what is wrong with it (the test id)
UNSAFE = {"../x": "parent-path", "..": "dot-dot", ".hidden": "leading-dot", "a/b": "slash",
          "/tmp/x": "absolute", "a\\b": "backslash", "x" * 65: "65-chars", "x@y": "at-sign",
          "~": "tilde", "a\x00b": "nul-byte", "": "empty"}


@pytest.mark.parametrize("stage", STAGES)
def test_cli_refuses_a_path_as_name_for_every_stage(workspace, stage):
    before = tree(workspace.parents[1])
    proc = subprocess.run([TWEETLM, stage, "../x"], cwd=workspace, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    what = "handle" if stage in ("ingest", "filter") else "bot"
    assert proc.stderr == f"tweetlm: error: invalid {what} '../x': use 1-64 letters, digits, " \
        "'_' or '-', not starting with '-'\n"
    assert tree(workspace.parents[1]) == before  # nothing created, inside or outside


@pytest.mark.parametrize("name", list(UNSAFE), ids=list(UNSAFE.values()))
def test_every_unsafe_name_is_refused_before_any_stage_code_loads(workspace, name, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(workspace)
    imported = []
    monkeypatch.setattr(cli.importlib, "import_module", imported.append)  # the stage's code
    before = tree(workspace.parents[1])
    for stage in STAGES:
        assert cli.main([stage, name]) == 1
        assert capsys.readouterr().err.startswith("tweetlm: error: invalid ")
    assert imported == []
    assert tree(workspace.parents[1]) == before


@pytest.mark.parametrize("bots", [{"../x": ["sample"]}, {".x": ["sample"]},
                                  {"a/b": ["sample"]}, {"ok": ["../sample"]}],
                         ids=["parent-path-bot", "leading-dot-bot", "slash-bot",
                              "path-as-member"])
def test_unsafe_bot_names_in_params_fail_validation(workspace, bots, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["bots"] = bots
    (workspace / "params.yaml").write_text(yaml.safe_dump(params))
    before = tree(workspace.parents[1])
    assert cli.main(["validate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tweetlm: error: params.yaml: bots.") and err.count("\n") == 1, err
    assert tree(workspace.parents[1]) == before  # not even reports/params/
