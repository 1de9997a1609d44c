"""A farm of bots: one pipeline file per handle and bot, per-handle settings, `tweetlm add` /
`remove` / `sync`, and what DVC's own records then say (docs/many-handles.md).

Fast tests check the generated files, the params checks and the commands in a project copy;
the slow ones run DVC: an override reruns only its handle, a failed handle stops only the bots
that contain it, two machines build disjoint handles and one gathers them, and a project built
with the one-file layout moves over without running anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from helpers.params import make_params, shipped_raw
from helpers.pipeline import SMALL
from helpers.project import ROOT, Project, clone, copy_project, lock_entries, ran_stages
from helpers.tinymodel import tweets
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.layout import stage_id
from tweetlm.core.params import parse_params
from tweetlm.shared import pipelines
from tweetlm.validate import stamps

V1_TWEETS = [  # API v1.1 statuses, the shape `statuses/user_timeline` returns
    {"id_str": str(1000 + i), "created_at": f"Wed Oct 10 2{i % 4}:19:24 +0000 2018",
     "full_text": text, "lang": "en"}
    for i, text in enumerate(["short one", "ok", "a tweet with enough words to keep it",
                              "another tweet with plenty of words in it", "two words"])
]


def write_raw(root, handle: str, statuses=V1_TWEETS) -> None:
    raw = root / layout.raw_dir(handle)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "tweets.json").write_text(json.dumps(statuses))


def many(n: int, seed: int) -> list[dict]:
    """`n` v1.1 statuses of tweet-like text, one a minute."""
    return [{"id_str": str(10_000 * (seed + 1) + i), "full_text": text, "lang": "en",
             "created_at": f"Wed Oct 10 {10 + i // 60:02d}:{i % 60:02d}:00 +0000 2018"}
            for i, text in enumerate(tweets(n, seed))]


# ------------------------------------------------------------------ the generated files

def test_each_handle_and_bot_gets_its_own_file_with_only_its_own_deps():
    params = make_params(handles=["alice", "bob", "carol"], bots={"ab": ["alice", "bob"]})
    files = pipelines.expected_files(params)
    assert set(files) == {layout.pipeline_file(h) for h in ("alice", "bob", "carol")} | \
        {layout.pipeline_file("ab", bot=True)}
    bot = yaml.safe_load(files[layout.pipeline_file("ab", bot=True)])["stages"]
    assert list(bot) == list(layout.BOT_STAGES)
    data = {d for s in bot.values() for d in s["deps"] if not d.startswith("src/")}
    assert not {d for d in data if "carol" in d}, "a bot depends on its own handles only"
    assert {str(layout.processed(h)) for h in ("alice", "bob")} <= data
    alice = yaml.safe_load(files[layout.pipeline_file("alice")])["stages"]
    assert list(alice) == list(layout.HANDLE_STAGES)
    assert all(s["wdir"] == "../.." for s in alice.values())  # paths as at the root
    deps = {d for s in alice.values() for d in s["deps"]}
    assert not {d for d in deps if "bob" in d or "carol" in d}
    assert str(layout.params_stamp("train", "alice")) in alice["train"]["deps"]


def test_sync_writes_what_validate_checks_and_removes_stale_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = make_params(handles=["alice", "bob"])
    assert pipelines.problems(params) == ["handles/alice/dvc.yaml: missing",
                                          "handles/bob/dvc.yaml: missing"]
    assert pipelines.sync(params) == ["wrote handles/alice/dvc.yaml", "wrote handles/bob/dvc.yaml"]
    assert pipelines.problems(params) == [] and pipelines.sync(params) == []
    (tmp_path / "handles/bob/dvc.lock").write_text("schema: '2.0'\n")
    fewer = make_params(handles=["alice"])
    assert pipelines.problems(fewer) == ["handles/bob/dvc.yaml: bob is not in params.yaml"]
    assert pipelines.sync(fewer) == ["removed handles/bob/dvc.yaml"]
    assert not (tmp_path / "handles/bob").exists()  # its lock with it
    path = tmp_path / layout.pipeline_file("alice")
    path.write_text(path.read_text().replace("tweetlm train alice", "tweetlm train bob"))
    assert pipelines.problems(fewer) == ["handles/alice/dvc.yaml: out of date"]


def test_validate_refuses_out_of_date_files_in_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(shipped_raw() | {"handles": ["sample"]}))
    proc = subprocess.run([sys.executable, "-m", "tweetlm.core.cli", "validate"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr == ("tweetlm: error: handles/sample/dvc.yaml: missing: the pipeline files "
                           "do not match params.yaml: run `tweetlm sync`, then commit what it "
                           "writes\n")


def test_the_shipped_pipeline_files_are_in_sync():
    params = parse_params(yaml.safe_load((ROOT / "params.yaml").read_text()))
    for path, text in pipelines.expected_files(params).items():
        assert (ROOT / path).read_text() == text, f"{path}: run `tweetlm sync`"


# ------------------------------------------------------------------ per-handle settings

def test_an_override_changes_that_names_stamps_only():
    raw = shipped_raw() | {"handles": ["alice", "yuki"], "bots": {"duo": ["alice", "yuki"]}}
    base = stamps(parse_params(raw))
    raw["overrides"] = {"yuki": {"filter": {"min_words": 0}},
                        "duo": {"train": {"learning_rate": 1.0e-4}}}
    params = parse_params(raw)
    changed = {str(path) for path, values in stamps(params).items() if base[path] != values}
    # the card shows filter.min_words and the train section: it changes with them
    assert changed == {str(layout.params_stamp(stage, name))
                       for stage, name in [("filter", "yuki"), ("card", "yuki"),
                                           ("train", "duo"), ("card", "duo")]}
    assert params.for_name("yuki").filter.min_words == 0
    assert params.for_name("alice").filter.min_words == params.filter.min_words
    assert params.for_name("duo").train.learning_rate == 1.0e-4


@pytest.mark.parametrize("overrides, line", [
    ({"nobody": {"train": {"epochs": 1}}},
     "overrides.nobody: not in `handles` or `bots`: add it there, or take it out of `overrides`"),
    ({"alice": {"handles": ["x"]}}, "overrides.alice.handles: not a per-handle setting; valid "
     "keys: ingest, filter, tokenize, model, train, predict, card, wandb"),
    ({"alice": {"train": {"learning_rate": -1}}},
     "overrides.alice.train.learning_rate: must be in (0, 1], got -1"),
    ({"alice": {"train": {"epochz": 1}}}, "overrides.alice.train.epochz: unknown key; valid "
     "keys in train: "),
    ({"duo": {"filter": {"min_words": 0}}}, "overrides.duo.filter: a bot trains on its "
     "handles' filtered tweets: set filter under overrides.<handle>"),
    ({"alice": {"train": {"lora": {"enabled": True}}}}, "overrides.alice.train.lora.enabled: "
     "the tiny preset trains every weight from scratch: LoRA needs a pretrained model.base"),
])
def test_a_bad_override_is_one_line_at_its_own_key(overrides, line):
    raw = shipped_raw() | {"handles": ["alice", "bob"], "bots": {"duo": ["alice", "bob"]},
                           "overrides": overrides}
    with pytest.raises(TweetlmError) as e:
        parse_params(raw)
    assert str(e.value).startswith(f"params.yaml: {line}"), str(e.value)


# ------------------------------------------------------------------ add, remove, sync

@pytest.fixture
def bare(tmp_path) -> Project:
    """A project copy with DVC initialised, nothing built."""
    return copy_project(tmp_path / "project")


def test_add_copies_versions_lists_and_writes_the_pipeline_file(bare, tmp_path):
    archive = tmp_path / "downloads"
    write_raw(archive, "x")
    before = (bare.root / "params.yaml").read_text()
    out = bare.tweetlm("add", "alice", str(archive / layout.raw_dir("x") / "tweets.json"))
    assert "copied 1 file(s) into data/raw/alice/" in out.stdout
    assert (bare.root / layout.raw_dir("alice") / "tweets.json").is_file()
    assert (bare.root / layout.raw_dvc_file("alice")).is_file()  # `dvc add`
    # ... which a plain `dvc push` collects (git must not see data/raw/ itself as ignored)
    listed = bare.run(sys.executable, "-c", "from dvc.repo import Repo; "
                      "print([s.addressing for s in Repo('.').index.stages])").stdout
    assert str(layout.raw_dvc_file("alice")) in listed, listed
    after = (bare.root / "params.yaml").read_text()
    assert after.replace("handles: [sample, alice]", "handles: [sample]") == before  # comments kept
    assert (bare.root / layout.pipeline_file("alice")).is_file()
    bare.tweetlm("validate")
    again = bare.tweetlm("add", "alice", str(archive), check=False)
    assert again.returncode == 1 and "alice is already listed" in again.stderr
    missing = bare.tweetlm("add", "bob", str(tmp_path / "nope.zip"), check=False)
    assert missing.stderr.strip().endswith("nope.zip: not found: give the archive .zip, a tweet "
                                           "file or a folder of them")
    assert "handles: [sample, alice]\n" in (bare.root / "params.yaml").read_text()  # no bob
    bare.set_params(bots={"duo": ["sample", "alice"]})
    refused = bare.tweetlm("remove", "alice", check=False)
    assert refused.returncode == 1 and "bots.duo is trained on alice" in refused.stderr
    bare.set_params(bots={}, overrides={"alice": {"filter": {"min_words": 0}}})
    bare.tweetlm("remove", "alice")
    params = yaml.safe_load((bare.root / "params.yaml").read_text())
    assert params["handles"] == ["sample"] and params["overrides"] == {}
    assert not (bare.root / layout.pipeline_file("alice")).exists()
    assert not (bare.root / layout.raw_dvc_file("alice")).exists()
    assert (bare.root / layout.raw_dir("alice") / "tweets.json").is_file()  # left on disk
    bare.tweetlm("validate")


def test_a_handles_stages_run_with_its_own_settings(bare):
    """The same tweets, filtered for two handles: the one with `filter.min_words: 0` keeps
    the short ones."""
    for handle in ("alice", "yuki"):
        write_raw(bare.root, handle)
    bare.set_params(handles=["alice", "yuki"], overrides={"yuki": {"filter": {"min_words": 0}}},
                    **{"filter.min_kept_chars": 0, "filter.warn_kept_chars": 0})
    bare.tweetlm("validate")
    for handle in ("alice", "yuki"):
        bare.tweetlm("ingest", handle)
        bare.tweetlm("filter", handle)
    kept = {h: json.loads((bare.root / layout.stats(h)).read_text())["kept"]
            for h in ("alice", "yuki")}
    assert kept == {"alice": 2, "yuki": 5}


# ------------------------------------------------------------------ under DVC

@pytest.mark.slow
def test_an_override_reruns_only_its_handles_stages(bare):
    """Data stages of two handles built; an override for one: DVC's status names that
    handle's stage alone, with its own stamp as the changed dep."""
    for handle in ("alice", "bob"):
        write_raw(bare.root, handle)
    bare.set_params(handles=["alice", "bob"],
                    **{"filter.min_kept_chars": 0, "filter.warn_kept_chars": 0})
    built = [stage_id(s, h) for h in ("alice", "bob") for s in ("ingest", "filter")]
    bare.dvc("repro", *built)
    assert json.loads(bare.dvc("status", "--json", *built).stdout) == {}
    bare.set_params(overrides={"bob": {"filter": {"min_words": 0}}})
    bare.dvc("repro", "validate")
    changed = json.loads(bare.dvc("status", "--json", *built).stdout)
    assert changed == {stage_id("filter", "bob"): [
        {"changed deps": {str(layout.params_stamp("filter", "bob")): "modified"}}]}
    diff = bare.dvc("params", "diff", "--json").stdout
    assert "overrides.bob.filter.min_words" in diff, diff
    out = bare.dvc("repro", *built)
    assert ran_stages(out.stdout) == {stage_id("filter", "bob")}, out.stdout


@pytest.mark.slow
def test_a_failed_handle_skips_only_the_bots_that_contain_it(bare):
    write_raw(bare.root, "alice", many(60, 0))
    write_raw(bare.root, "bob", many(60, 1))
    (bare.root / layout.raw_dir("bad") / "tweets.json").parent.mkdir(parents=True)
    (bare.root / layout.raw_dir("bad") / "tweets.json").write_text('{"not": "tweets"}')
    bare.set_params(handles=["alice", "bob", "bad"],
                    bots={"duo": ["alice", "bob"], "mixed": ["alice", "bad"]},
                    **{"filter.min_kept_chars": 0, "filter.warn_kept_chars": 0})
    targets = [stage_id("tokenize", b, bot=True) for b in ("duo", "mixed")]
    proc = bare.dvc("repro", "--keep-going", *targets, check=False)
    assert proc.returncode != 0
    ran = ran_stages(proc.stdout)
    assert stage_id("tokenize", "duo", bot=True) in ran
    assert stage_id("ingest", "bad") in ran  # it ran, and failed
    assert stage_id("tokenize", "mixed", bot=True) not in ran
    assert (bare.root / layout.bot("duo").tokenized).is_dir()
    assert not (bare.root / layout.bot("mixed").tokenized).exists()


def _clone(origin: Project, dest) -> Project:
    """A machine's clone of the pinned commit, with the shared remote configured."""
    subprocess.run(["git", "clone", "-q", str(origin.root), str(dest)], check=True)
    shutil.copy(origin.root / ".dvc/config.local", dest / ".dvc/config.local")
    return Project(dest, {**origin.env, "PYTHONPATH": str(dest / "src")})


@pytest.mark.slow
def test_two_machines_build_disjoint_handles_and_a_gather_step_commits_them(tmp_path):
    """farm/task.sh on two clones (one handle each, one shared remote), farm/gather.sh on the
    first: the handles are not rebuilt there, and a third clone's `dvc pull` restores
    everything with nothing left to run."""
    origin = copy_project(tmp_path / "origin")
    (origin.root / ".dvc/config.local").write_text(
        f"[core]\n    remote = shared\n['remote \"shared\"']\n    url = {tmp_path / 'remote'}\n")
    handles = ["alice", "bob"]
    for seed, handle in enumerate(handles):
        write_raw(origin.root, handle, many(120, seed))
        origin.dvc("add", str(layout.raw_dir(handle)))
    origin.set_params(handles=handles, bots={"duo": handles}, **SMALL,
                      **{"filter.min_kept_chars": 0, "filter.warn_kept_chars": 0,
                         "predict.prompts": ["Hi"]})
    origin.dvc("push")
    origin.git("add", "-A")
    origin.git("commit", "-q", "-m", "two handles")
    locks = tmp_path / "locks"
    for handle in handles:
        task = _clone(origin, tmp_path / f"machine-{handle}")
        task.run("bash", "farm/task.sh", handle, str(locks))
        assert not (task.root / layout.bot("duo").tokenized).exists()  # its handle only
    gather = origin.run("bash", "farm/gather.sh", str(locks))
    ran = ran_stages(gather.stdout)
    assert not {s for s in ran if s.startswith(str(layout.HANDLE_PIPELINES))}, gather.stdout
    assert stage_id("train", "duo", bot=True) in ran and "gallery-page" in ran
    third = _clone(origin, tmp_path / "third")
    third.dvc("pull")
    assert json.loads(third.dvc("status", "--json").stdout) == {}
    assert ran_stages(third.dvc("repro").stdout) == set()
    assert set(lock_entries(third.root)) >= {stage_id("card", h) for h in handles}


def _one_file_layout(project: Project) -> None:
    """Today's project as the one-file layout had it: every handle's stages in the root
    dvc.yaml under `foreach: ${handles}` (same commands, paths and deps)."""
    root = yaml.safe_load((project.root / "dvc.yaml").read_text())
    for stage, spec in pipelines.handle_stages("${item}").items():
        root["stages"][stage] = {"foreach": "${handles}", "do": spec}
    # its validate wrote the stamps, and knew no pipeline files
    root["stages"]["validate"]["cmd"] = (
        "python -c 'from tweetlm.core.params import load_params; "
        "from tweetlm.validate import write_stamps; write_stamps(load_params())'")
    (project.root / "dvc.yaml").write_text(yaml.safe_dump(root, sort_keys=False))
    shutil.rmtree(project.root / layout.HANDLE_PIPELINES)


@pytest.mark.slow
def test_a_project_of_the_one_file_layout_migrates_without_rerunning(tmp_path):
    old = copy_project(tmp_path / "old")
    old.set_params(**SMALL)
    new_dvc_yaml = (old.root / "dvc.yaml").read_text()
    _one_file_layout(old)
    old.git("add", "-A")
    old.git("commit", "-q", "-m", "the one-file layout")
    built = old.dvc("repro", "train@sample")
    assert "train@sample" in ran_stages(built.stdout)
    model = (old.root / layout.bot("sample").model / "model.safetensors").read_bytes()
    stale = clone(old, tmp_path / "stale")
    # the new tweetlm: its dvc.yaml, and `tweetlm migrate`
    for project in (old, stale):
        (project.root / "dvc.yaml").write_text(new_dvc_yaml)
    (stale.root / layout.processed("sample")).write_bytes(b"edited by hand")
    refused = stale.tweetlm("migrate", check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "filter@sample: data/processed/sample/tweets.parquet is not what was recorded" \
        in refused.stderr
    assert not (stale.root / layout.pipeline_file("sample")).exists()  # nothing written
    out = old.tweetlm("migrate")
    assert "recorded 4 built stages" in out.stdout, out.stdout  # ingest ... train
    status = json.loads(old.dvc("status", "--json", str(layout.pipeline_file("sample"))).stdout)
    assert set(status) <= {stage_id(s, "sample") for s in ("predict", "card", "gallery")}
    again = old.dvc("repro", stage_id("train", "sample"))
    assert ran_stages(again.stdout) == set(), again.stdout  # nothing retrained
    assert (old.root / layout.bot("sample").model / "model.safetensors").read_bytes() == model
    assert not [k for k in yaml.safe_load((old.root / "dvc.lock").read_text())["stages"]
                if "@" in k]
