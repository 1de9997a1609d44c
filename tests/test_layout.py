"""dvc.yaml and the pipeline files spell every path that src/tweetlm/core/layout.py builds.

The stages write where layout says; DVC tracks, caches and hands on what the pipeline files
name. If the two drifted, DVC would cache an empty or stale output and skip a stage that
should run. Here DVC itself resolves the root dvc.yaml and the files `tweetlm sync` writes
for two handles and a bot of both, and each stage's outs, metrics, plots and data deps must
be exactly the paths layout builds (a bot's: exactly its own handles' files).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from helpers.params import shipped_raw
from helpers.project import ROOT, stage_address
from tweetlm.core import layout
from tweetlm.core.cli import build_parser

# DVC's own graph code warns about pygtrie internals; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")

HANDLE, OTHER, BOT = "alice", "bob", "alice-bob"


def paths(*items) -> set[str]:
    """POSIX strings of paths and lists of paths."""
    found = set()
    for item in items:
        found.update(p.as_posix() for p in (item if isinstance(item, list) else [item]))
    return found


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict[str, dict]:
    """Stage name -> {cmd, outs, metrics, plots, deps}, as DVC resolves the shipped dvc.yaml
    with handles [alice, bob] and the bot alice-bob."""
    from dvc.repo import Repo

    work = tmp_path_factory.mktemp("layout")
    shutil.copy(ROOT / "dvc.yaml", work / "dvc.yaml")
    params = shipped_raw() | {"handles": [HANDLE, OTHER], "bots": {BOT: [HANDLE, OTHER]}}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    subprocess.run([sys.executable, "-m", "tweetlm.core.cli", "sync"], cwd=work, check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    Repo.init(str(work), no_scm=True)
    stages = {}
    with Repo(str(work)) as repo:
        for stage in repo.index.stages:
            outs = stage.outs
            stages[stage_address(stage)] = {
                "cmd": stage.cmd,
                "outs": {o.def_path for o in outs if not o.metric and not o.plot},
                "metrics": {o.def_path for o in outs if o.metric},
                "plots": {o.def_path for o in outs if o.plot},
                "deps": {d.def_path for d in stage.deps
                         if type(d).__name__ != "ParamsDependency"
                         and not d.def_path.startswith("src/")},
            }
    return stages


def model_stages(name: str, accounts: list[Path]) -> dict[str, dict]:
    """What layout says the model stages of a handle or a bot write and read (`accounts`:
    the data/accounts/<h>.json of its handles)."""
    b = layout.bot(name)

    def stamp(stage: str) -> Path:
        return layout.params_stamp(stage, name)

    return {
        "train": {"outs": paths(b.model_files, b.adapter), "metrics": paths(b.train_metrics),
                  "plots": paths(b.train_plots), "deps": paths(stamp("train"), b.tokenized)},
        "predict": {"outs": paths(b.generation_config, b.predictions, b.picture),
                    "metrics": paths(b.predict_metrics), "plots": set(),
                    "deps": paths(stamp("predict"), b.model_files, b.train_tweets, accounts)},
        "card": {"outs": paths(b.card, b.thumbnail), "metrics": set(), "plots": set(),
                 "deps": paths(stamp("card"), b.stats, b.train_metrics, b.predictions,
                               b.picture, accounts, b.tokenized_meta,
                               [b.model / "config.json", b.model / "model.safetensors"])},
        "gallery": {"outs": paths(b.gallery_entry), "metrics": set(), "plots": set(),
                    "deps": paths(stamp("gallery"), b.stats, b.train_metrics, b.train_plots,
                                  b.predictions, b.picture, b.predict_metrics, b.card, accounts)},
    }


def expected_for(h: str) -> dict[str, dict]:
    """Stage name -> its outs, metrics, plots and data deps, built from layout alone, for
    the stages of handle `h`, the bot's and the two that run once."""
    b = layout.bot(h)

    def stamp(stage: str) -> Path:  # a stage's params dependency, written by validate
        return layout.params_stamp(stage, h)

    def at(stage: str, name: str = h) -> str:
        return layout.stage_id(stage, name, bot=name == BOT)

    stages = {
        "validate": {"outs": paths(layout.PARAMS_STAMPS), "metrics": set(), "plots": set(),
                     "deps": set()},
        "sample": {"outs": paths(layout.raw_dir(layout.SAMPLE_HANDLE)), "metrics": set(),
                   "plots": set(), "deps": set()},
        "gallery-page": {"outs": paths(layout.GALLERY_PAGE), "metrics": set(), "plots": set(),
                         "deps": paths(layout.GALLERY)},
        at("ingest"): {"outs": paths(layout.interim(h), layout.account(h)), "metrics": set(),
                       "plots": set(), "deps": paths(stamp("ingest"), layout.raw_dir(h))},
        at("filter"): {"outs": paths(layout.processed(h)), "metrics": paths(layout.stats(h)),
                       "plots": set(), "deps": paths(stamp("filter"), layout.interim(h))},
        at("tokenize"): {"outs": paths(b.tokenized), "metrics": set(), "plots": set(),
                         "deps": paths(stamp("tokenize"), layout.processed(h))},
    }
    stages.update({at(stage): spec
                   for stage, spec in model_stages(h, [layout.account(h)]).items()})
    bot = layout.bot(BOT)
    members = (HANDLE, OTHER)
    # a bot's tokenize reads exactly its handles' kept tweets and counts
    stages[at("tokenize", BOT)] = {
        "outs": paths(bot.tokenized), "metrics": paths(bot.stats), "plots": set(),
        "deps": paths(layout.params_stamp("tokenize", BOT), *map(layout.processed, members),
                      *map(layout.stats, members)),
    }
    stages.update({at(stage, BOT): spec for stage, spec in
                   model_stages(BOT, list(map(layout.account, members))).items()})
    return stages


def expected() -> dict[str, dict]:
    return expected_for(HANDLE) | expected_for(OTHER)


STAGES = list(expected())


@pytest.mark.parametrize("stage", STAGES, ids=STAGES)
def test_dvc_yaml_paths_are_layouts_paths(stage, resolved):
    assert stage in resolved, f"DVC resolves no stage {stage!r}: {sorted(resolved)}"
    got = {kind: resolved[stage][kind] for kind in ("outs", "metrics", "plots", "deps")}
    assert got == expected()[stage]


def test_every_resolved_stage_is_checked(resolved):
    assert set(resolved) == set(STAGES)


def test_stage_commands_name_the_layouts_paths(resolved):
    """Each stage's command is `tweetlm STAGE NAME`; the sample stage writes where its out is,
    which is also the CLI's default."""
    for stage, spec in resolved.items():
        if ":" in stage:  # handles/<name>/dvc.yaml:<stage>, bots/<name>/dvc.yaml:<stage>
            path, kind = stage.split(":")
            assert spec["cmd"] == f"tweetlm {kind} {Path(path).parent.name}", stage
    raw = layout.raw_dir(layout.SAMPLE_HANDLE).as_posix()
    assert resolved["sample"]["cmd"] == f"tweetlm sample --out {raw}"
    assert build_parser().parse_args(["sample"]).out == raw
    assert resolved["validate"]["cmd"] == "tweetlm validate"
