"""params.yaml validation: every bad key, type and range fails up front with one clear line."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params, check_name, load_params

ROOT = Path(__file__).resolve().parents[1]
TWEETLM = str(Path(sys.executable).parent / "tweetlm")


def write(tmp_path, data) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def shipped() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_shipped_params_load_into_typed_objects():
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert params.handles == ["sample"]
    assert isinstance(params.train.learning_rate, float)
    assert params.train.learning_rate == pytest.approx(1.372e-4)
    assert params.train.lr_scheduler == "cosine" and params.train.warmup_steps == 0
    assert params.filter.min_words == 3


def test_defaults_fill_missing_sections(tmp_path):
    params = load_params(write(tmp_path, {"handles": ["alice"]}))
    assert params.model.base == "gpt2"  # the documented default, not the shipped tiny preset
    assert params.train.epochs == 4.0
    assert params.tokenize.val_fraction == 0.1
    assert params.predict.prompts[0] == "My dream is"


def test_ints_are_accepted_where_floats_are_wanted(tmp_path):
    data = shipped()
    data["train"]["epochs"] = 2
    assert load_params(write(tmp_path, data)).train.epochs == 2.0


@pytest.mark.parametrize(
    "section, key, value, expect",
    [
        ("filter", "min_wrds", 5, "filter.min_wrds: unknown key; valid keys in filter: min_words"),
        ("filter", "min_words", "five", "filter.min_words: expected an integer, got string 'five'"),
        ("filter", "min_words", True, "filter.min_words: expected an integer, got boolean True"),
        ("filter", "min_words", 2.5, "filter.min_words: expected an integer, got number 2.5"),
        ("filter", "min_words", -1, "filter.min_words: must be >= 0"),
        ("filter", "keep_newlines", "yes please", "filter.keep_newlines: expected true or false"),
        ("train", "learning_rate", 0, "train.learning_rate: must be > 0"),
        ("train", "lr_scheduler", "cosin", "train.lr_scheduler: must be one of cosine, linear"),
        ("tokenize", "val_fraction", 1.5, "tokenize.val_fraction: must be in [0, 1)"),
        ("predict", "top_p", 0, "predict.top_p: must be in (0, 1]"),
        ("predict", "prompts", "My dream is", "predict.prompts: expected a list"),
        ("wandb", "mode", "cloud", "wandb.mode: must be offline, online or disabled"),
    ],
)
def test_bad_values_name_the_key_and_the_fix(tmp_path, section, key, value, expect):
    data = shipped()
    data[section][key] = value
    path = write(tmp_path, data)
    with pytest.raises(TweetlmError) as err:
        load_params(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ")
    assert expect in message
    assert "\n" not in message


def test_unknown_top_level_section_lists_the_valid_ones(tmp_path):
    data = shipped()
    data["trian"] = {"epochs": 2}
    with pytest.raises(TweetlmError, match=r"trian: unknown key; valid keys: handles, bots, ingest"):
        load_params(write(tmp_path, data))


def test_nested_unknown_key(tmp_path):
    data = shipped()
    data["model"]["tiny"]["layers"] = 4
    with pytest.raises(TweetlmError, match=r"model\.tiny\.layers: unknown key; valid keys in model\.tiny: n_layer"):
        load_params(write(tmp_path, data))


@pytest.mark.parametrize("handle", ["../x", "a/b", ".hidden", "", "-rf", "a" * 65, "x@y", "a\\b", "é"])
def test_unsafe_handles_are_refused(tmp_path, handle):
    with pytest.raises(TweetlmError, match=r"handles\[0\]: invalid handle"):
        load_params(write(tmp_path, {"handles": [handle]}))
    with pytest.raises(TweetlmError, match="invalid handle"):
        check_name(handle)


def test_bots_must_name_known_handles(tmp_path):
    with pytest.raises(TweetlmError, match=r"bots\.ab: carol not in `handles`"):
        load_params(write(tmp_path, {"handles": ["alice", "bob"], "bots": {"ab": ["alice", "carol"]}}))
    with pytest.raises(TweetlmError, match=r"bots\.\.\./x: invalid bot name"):
        load_params(write(tmp_path, {"handles": ["alice"], "bots": {"../x": ["alice"]}}))
    params = load_params(write(tmp_path, {"handles": ["alice", "bob"], "bots": {"alice-bob": ["alice", "bob"]}}))
    assert params.bot_handles("alice-bob") == ["alice", "bob"]
    assert params.bot_handles("alice") == ["alice"]


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = write(tmp_path, "handles: [sample]\nfilter:\n  min_words: [3\n")
    with pytest.raises(TweetlmError, match=r"params\.yaml: line \d+ not valid YAML"):
        load_params(path)


def test_cli_rejects_bad_params_in_a_second_without_traceback(tmp_path):
    data = shipped()
    data["train"]["epochs"] = "four"
    write(tmp_path, data)
    start = time.monotonic()
    proc = subprocess.run([TWEETLM, "validate"], cwd=tmp_path, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    assert proc.stderr.strip() == "tweetlm: error: params.yaml: train.epochs: expected a number, got string 'four'"
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "reports" / "params.ok").exists()
    assert elapsed < 5  # validation imports no ML library


def test_cli_validate_writes_the_gate_stamp(tmp_path):
    write(tmp_path, shipped())
    subprocess.run([TWEETLM, "validate"], cwd=tmp_path, check=True)
    first = (tmp_path / "reports" / "params.ok").read_bytes()
    data = shipped()
    data["train"]["epochs"] = 2
    write(tmp_path, data)
    subprocess.run([TWEETLM, "validate"], cwd=tmp_path, check=True)
    # Constant content: passing validation never changes the hash stages depend on.
    assert (tmp_path / "reports" / "params.ok").read_bytes() == first


def test_cli_refuses_unsafe_names_before_touching_paths(tmp_path):
    write(tmp_path, shipped())
    for name in ["../x", "a/b", ".git"]:
        proc = subprocess.run([TWEETLM, "ingest", name], cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 1
        assert proc.stderr.startswith("tweetlm: error: invalid handle")
        assert "Traceback" not in proc.stderr
    proc = subprocess.run([TWEETLM, "ingest", "bob"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "handle 'bob' is not listed under `handles`" in proc.stderr
    assert not (tmp_path / "data").exists()
