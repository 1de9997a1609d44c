"""params.yaml validation: every bad key, type and range fails up front with one clear line.

params.yaml is the one source of values: no key has a default, so a missing one fails too.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import tweetlm
from helpers.params import make_params, shipped_raw
from helpers.stages import tokenize_meta
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params, check_name, load_params

ROOT = Path(__file__).resolve().parents[1]
TWEETLM = str(Path(sys.executable).parent / "tweetlm")


def write(tmp_path, data) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def shipped(**replaced) -> dict:
    """The shipped params.yaml as data, with whole top-level keys replaced."""
    return {**shipped_raw(), **replaced}


def leaves(node, prefix=""):
    """(dotted key, value) of every value params.yaml sets; a mapping of names (bots,
    card.display_names) or a list is one value."""
    for key, value in node.items():
        if isinstance(value, dict) and key not in ("bots", "display_names"):
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_shipped_params_load_as_written_into_typed_objects():
    """Every value the shipped params.yaml sets reaches Params as written, with the type its
    field declares (a float where the YAML writes 1 or 2e-3): whatever the values are, so a
    retune of params.yaml loads the same way."""
    import dataclasses
    import typing

    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    found = list(leaves(shipped_raw()))
    assert len(found) > 30  # every section walked
    floats = 0
    for dotted, value in found:
        *parents, last = dotted.split(".")
        node = params
        for part in parents:
            node = getattr(node, part)
        hint = typing.get_type_hints(type(node))[last]
        assert last in {f.name for f in dataclasses.fields(node)}, dotted
        got = getattr(node, last)
        assert got == value, dotted
        if hint is float:  # an int in the YAML becomes a float, a float stays one
            assert type(got) is float, dotted
            floats += 1
    assert floats > 3


MISSING = "missing: every key is required (see the shipped params.yaml)"


def without(data: dict, dotted: str) -> dict:
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[part]
    del node[last]
    return data


@pytest.mark.parametrize("key", ["train", "bots", "handles", "train.epochs", "model.tiny.vocab_size",
                                 "card.display_names", "wandb.mode"],
                         ids=lambda key: f"no-{key}")
def test_a_missing_section_or_key_fails_in_one_line(tmp_path, key):
    path = write(tmp_path, without(shipped(), key))
    with pytest.raises(TweetlmError) as err:
        load_params(path)
    assert str(err.value) == f"{path}: {key}: {MISSING}"


def test_handles_alone_are_not_enough(tmp_path):
    """No defaults fill what params.yaml leaves out: the first missing section is named."""
    path = write(tmp_path, {"handles": ["alice"], "bots": {}})
    with pytest.raises(TweetlmError) as err:
        load_params(path)
    assert str(err.value) == f"{path}: ingest: {MISSING}"


def test_ints_are_accepted_where_floats_are_wanted(tmp_path):
    data = shipped()
    data["train"]["epochs"] = 2
    assert load_params(write(tmp_path, data)).train.epochs == 2.0


BAD_VALUES = [
        ("filter", "min_wrds", 5, "filter.min_wrds: unknown key; valid keys in filter: min_words"),
        ("filter", "min_words", "five", "filter.min_words: expected an integer, got string 'five'"),
        ("filter", "min_words", True, "filter.min_words: expected an integer, got boolean True"),
        ("filter", "min_words", 2.5, "filter.min_words: expected an integer, got number 2.5"),
        ("filter", "min_words", -1, "filter.min_words: must be in [0, 1000], got -1"),
        ("filter", "keep_newlines", "yes please", "filter.keep_newlines: expected true or false"),
        ("train", "learning_rate", 0, "train.learning_rate: must be in (0, 1], got 0"),
        ("train", "lr_scheduler", "cosin", "train.lr_scheduler: must be one of cosine, linear"),
        ("tokenize", "val_fraction", 1.5, "tokenize.val_fraction: must be in [0, 1)"),
        ("predict", "top_p", 0, "predict.top_p: must be in (0, 1]"),
        ("predict", "prompts", "My dream is", "predict.prompts: expected a list"),
        ("wandb", "mode", "cloud", "wandb.mode: must be one of offline, online or disabled, got 'cloud'"),
        ("train", "learning_rate", float("inf"), "train.learning_rate: must be a finite number, got inf"),
        ("train", "batch_size", 10**9, "train.batch_size: must be in [1, 1024], got 1000000000"),
        ("train", "seed", -1, "train.seed: must be in [0, 4294967295], got -1"),
]


@pytest.mark.parametrize("section, key, value, expect", BAD_VALUES,
                         ids=[f"{s}.{k}={v!r}" for s, k, v, _ in BAD_VALUES])
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


def numeric_leaves(node, prefix=""):
    """Every key of the shipped params.yaml whose value is a number (bools aside)."""
    for key, value in node.items():
        if isinstance(value, dict):
            yield from numeric_leaves(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}"


@pytest.mark.parametrize("key", list(numeric_leaves(shipped_raw())))
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 10**12, -(10**12)],
                         ids=["inf", "-inf", "nan", "1e12", "-1e12"])
def test_every_number_has_a_range_a_real_run_can_use(key, value):
    """No infinity, no NaN, nothing absurdly large or negative: each is one line naming
    the key and the range (`train.batch_size: must be in [1, 1024], got 1000000000`)."""
    with pytest.raises(TweetlmError) as err:
        make_params(**{key: value})
    message = str(err.value)
    problem = message.removeprefix(f"params.yaml: {key}: ")
    assert problem.startswith(("must be ", "expected an integer")) and "\n" not in message


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


UNSAFE_HANDLES = {"parent": "../x", "slash": "a/b", "hidden": ".hidden", "empty": "",
                  "option": "-rf", "65-chars": "a" * 65, "at-sign": "x@y",
                  "backslash": "a\\b", "non-ascii": "é"}


@pytest.mark.parametrize("handle", UNSAFE_HANDLES.values(), ids=UNSAFE_HANDLES.keys())
def test_unsafe_handles_are_refused(tmp_path, handle):
    with pytest.raises(TweetlmError, match=r"handles\[0\]: invalid handle"):
        load_params(write(tmp_path, shipped(handles=[handle])))
    with pytest.raises(TweetlmError, match="invalid handle"):
        check_name(handle)


@pytest.mark.parametrize("name", ["params", "benchmarks", "gallery"])
def test_names_that_reports_already_uses_are_refused(tmp_path, name):
    """reports/params/ holds validate's stamps and reports/benchmarks/ committed figures: a
    handle or bot named so would mix its outputs in (and git does not ignore the second)."""
    with pytest.raises(TweetlmError, match=rf"handles\[0\]: invalid handle '{name}': "
                                           rf"reports/{name}/ holds tweetlm's own files"):
        load_params(write(tmp_path, shipped(handles=[name])))
    with pytest.raises(TweetlmError, match=rf"bots\.{name}: invalid bot name"):
        load_params(write(tmp_path, shipped(handles=["alice"], bots={name: ["alice"]})))
    assert {layout.PARAMS_STAMPS.name, "benchmarks", layout.GALLERY.name} == \
        set(layout.RESERVED_NAMES)


def test_bots_must_name_known_handles(tmp_path):
    with pytest.raises(TweetlmError, match=r"bots\.ab: carol not in `handles`"):
        load_params(write(tmp_path, shipped(handles=["alice", "bob"],
                                            bots={"ab": ["alice", "carol"]})))
    with pytest.raises(TweetlmError, match=r"bots\.\.\./x: invalid bot name"):
        load_params(write(tmp_path, shipped(handles=["alice"], bots={"../x": ["alice"]})))
    params = load_params(write(tmp_path, shipped(handles=["alice", "bob"],
                                                 bots={"alice-bob": ["alice", "bob"]})))
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
    assert not (tmp_path / "reports").exists()  # no stamp written
    assert elapsed < 5  # validation imports no ML library


def test_cli_validate_writes_each_stages_params(tmp_path):
    """reports/params/<name>/<stage>.json: the stage's keys as validated. Changing a key
    changes the stamps of the stages that read it and leaves the others byte for byte (DVC
    reruns a stage when its stamp's hash changes)."""
    handle = shipped()["handles"][0]

    def stamps() -> dict[str, bytes]:
        subprocess.run([TWEETLM, "sync"], cwd=tmp_path, check=True, capture_output=True)
        subprocess.run([TWEETLM, "validate"], cwd=tmp_path, check=True)
        return {stage: (tmp_path / layout.params_stamp(stage, handle)).read_bytes()
                for stage in layout.STAGE_PARAMS}

    write(tmp_path, shipped())
    first = stamps()
    assert json.loads(first["train"]) == {"train": shipped()["train"], "model": shipped()["model"]}
    tokenize = json.loads(first["tokenize"])
    assert tokenize["model.tiny.n_positions"] == shipped()["model"]["tiny"]["n_positions"]
    assert set(tokenize) == set(layout.STAGE_PARAMS["tokenize"])

    data = shipped()
    epochs = data["train"]["epochs"] + 1  # another value than the shipped one, whatever it is
    data["train"]["epochs"] = epochs
    write(tmp_path, data)
    second = stamps()
    assert {s for s in first if first[s] != second[s]} == {"train", "card"}
    assert json.loads(second["card"])["train"]["epochs"] == epochs

    data["model"]["tiny"]["n_layer"] += 1  # train reads all of model; tokenize not n_layer
    data["handles"] = [*data["handles"], "someone"]  # what the graph holds, no stage's input
    (tmp_path / "data/raw/someone").mkdir(parents=True)
    write(tmp_path, data)
    third = stamps()
    assert {s for s in first if second[s] != third[s]} == {"train"}


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


def test_validate_refuses_a_handle_without_a_raw_folder(tmp_path):
    """Each handle but the sample needs data/raw/<handle>/, or its `dvc add` record (pulled
    later); one line names the handle and the fix. `@alice` is told to drop the @."""
    def validate(*handles):
        write(tmp_path, shipped(handles=list(handles)))
        subprocess.run([TWEETLM, "sync"], cwd=tmp_path, capture_output=True)  # pipeline files
        return subprocess.run([TWEETLM, "validate"], cwd=tmp_path, capture_output=True, text=True)

    proc = validate("sample", "alice")
    assert proc.returncode == 1
    assert proc.stderr == ("tweetlm: error: params.yaml: handles: alice: data/raw/alice/ not "
                           "found: put the account's tweet files there (README: Bring "
                           "tweets), or take alice out of `handles`\n")
    assert not (tmp_path / "reports").exists()
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/raw/alice").write_text("a file")
    assert "data/raw/alice/ is not a folder" in validate("alice").stderr
    (tmp_path / "data/raw/alice").unlink()
    (tmp_path / "data/raw/alice.dvc").write_text("outs: []\n")  # versioned, not pulled yet
    assert validate("sample", "alice").returncode == 0
    (tmp_path / "data/raw/alice.dvc").unlink()
    (tmp_path / "data/raw/alice").mkdir()
    assert validate("sample", "alice").returncode == 0

    proc = validate("sample", "@alice")
    assert proc.stderr == ("tweetlm: error: params.yaml: handles[1]: invalid handle '@alice': "
                           "write it without the '@': alice\n")


def test_every_command_says_what_it_reads_writes_and_each_option():
    """`tweetlm COMMAND --help`: what it reads, what it writes (the paths of core/layout.py),
    and a line for every argument and option."""
    import argparse

    from tweetlm.core.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(commands.choices) == {"validate", "sample", "compare", "gallery-page", "serve",
                                     "space", "add", "remove", "sync", "migrate",
                                     *layout.STAGE_PARAMS}
    for name, sub in commands.choices.items():
        text = " ".join(sub.format_help().split())
        assert "Reads: " in text and "Writes: " in text, name
        for action in sub._actions:
            assert action.help, f"tweetlm {name} {action.option_strings or action.dest}"
        if name in layout.STAGE_PARAMS:
            assert "--params FILE" in text, name
    for action in parser._actions:
        assert action.help, action.option_strings
    helps = {name: " ".join(sub.format_help().split()) for name, sub in commands.choices.items()}
    bot = layout.bot("BOT")
    assert str(layout.interim("HANDLE")) in helps["ingest"].split("Writes: ")[1]
    assert str(layout.stats("HANDLE")) in helps["filter"].split("Writes: ")[1]
    for f in (*layout.MODEL_FILES, bot.train_metrics.as_posix()):
        assert f in helps["train"].split("Writes: ")[1], f
    for path in (bot.predictions, bot.predict_metrics, bot.picture, bot.generation_config):
        assert str(path) in helps["predict"].split("Writes: ")[1], path
    assert str(bot.card) in helps["card"].split("Writes: ")[1]
    assert str(layout.params_stamp("STAGE", "HANDLE")) in helps["validate"]
    assert "--seed SEED seed of the generator" in helps["sample"]
    for stage, keys in layout.STAGE_PARAMS.items():  # the keys it reads, from their one home
        assert f"from params.yaml: {', '.join(keys)}." in helps[stage], stage
    out = subprocess.run([TWEETLM, "tokenize", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Reads: data/processed/HANDLE/tweets.parquet" in out.stdout


def test_the_readmes_own_tweets_params_are_the_gpt2_recipe(tmp_path):
    """"Bring tweets" step 3: what it sets is valid, and is, for alice only, the recipe for a
    pretrained GPT-2 (huggingtweets' learning rate, one 1024-token block a step), not the
    tiny preset's 2e-3 x 8 blocks; `sample` keeps the tiny preset (it is not retrained)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring tweets")[1].split("\n## ")[0]
    block = yaml.safe_load(section.split("```yaml")[1].split("```")[0].replace("\n   ", "\n"))

    def merge(into: dict, new: dict) -> dict:
        for key, value in new.items():
            into[key] = merge(into.get(key, {}), value) if isinstance(value, dict) else value
        return into

    (tmp_path / "data/raw/alice").mkdir(parents=True)  # what `tweetlm add alice` leaves
    params = load_params(write(tmp_path, merge(shipped(handles=["sample", "alice"]), block)))
    alice = params.for_name("alice")
    assert alice.model.base == "gpt2"
    assert alice.train.learning_rate == 1.372e-4 and alice.train.batch_size == 1
    assert params.for_name("sample").model.base == shipped()["model"]["base"]
    assert params.for_name("sample").train == load_params(write(tmp_path, shipped())).train


def test_the_installed_package_is_this_version():
    """pyproject takes its version from tweetlm.__version__: what pip installed (the
    metadata `tweetlm --version` and the card report) is this source's."""
    from importlib.metadata import version

    assert version("tweetlm") == tweetlm.__version__ and tweetlm.__version__[0].isdigit()


def test_the_learning_rate_is_train_learning_rate_for_every_base(tmp_path):
    """One key for the peak learning rate, whatever the base: model.tiny has none, and the
    card (the model's README.md) reports train.learning_rate."""
    from tweetlm import card

    assert "learning_rate" not in shipped()["model"]["tiny"]
    data = shipped()
    data["model"]["tiny"]["learning_rate"] = 1e-3
    with pytest.raises(TweetlmError, match=r"model\.tiny\.learning_rate: unknown key"):
        load_params(write(tmp_path, data))

    params = make_params(**{"model.base": "tiny", "train.learning_rate": 5e-4})
    assert params.train.learning_rate == 5e-4
    stats = {"downloaded": 10, "retweets": 2, "short": 1, "kept": 7}
    metrics = {"eval_loss": 3.5, "perplexity": 33.1, "initial_eval_loss": 7.6, "train_loss": 3.9,
               "steps": 12, "tokens_seen": 12288, "train_runtime_s": 4.2, "device": "cpu",
               "precision": "fp32", "base": "tiny", "base_revision": None}
    predictions = {"bot": "sample", "handles": ["sample"],
                   "sampling": {"do_sample": True, "top_p": 0.95, "top_k": 0, "temperature": 1.0,
                                "max_length": 160, "num_return_sequences": 1, "seed": 42,
                                "batch_size": 64, "prefix": "<|endoftext|>"},
                   "predictions": [{"prompt": "Today", "generations": ["Today is fine"]}]}
    weights = {"parameters": 1000, "sha256": "ab" * 32, "n_layer": 2, "n_head": 2, "n_embd": 128,
               "n_positions": 128, "vocab_size": 2048}
    text = str(card.render_card("sample", [("sample", stats)], metrics, predictions, weights,
                                params, tokenize_meta("tiny")))
    (row,) = [line for line in text.splitlines() if line.startswith("| Learning rate |")]
    assert "0.0005" in row, row
