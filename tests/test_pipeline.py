"""The data stages end to end under DVC: validate -> sample -> sample's ingest -> filter.

Each claim is read back from DVC's own records: the "Running stage" lines of `dvc repro`,
`dvc status --json`, and dvc.lock before and after. Model stages are never run here.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml

from helpers.project import lock_entries, Project, clone, copy_project, ran_stages
from helpers.tinymodel import tweets
from tweetlm.core import layout
from tweetlm.filter import language_code
from tweetlm.shared.text import clean_text_reference, is_retweet_reference, is_short_reference
from tweetlm.core.layout import stage_id

pytestmark = pytest.mark.slow  # runs the data stages under DVC, several times

DATA_STAGES = ["validate", "sample", stage_id("ingest", "sample"), stage_id("filter", "sample")]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """A project copy where `dvc repro` of sample's filter has run once (shared, never modified)."""
    project = copy_project(tmp_path_factory.mktemp("built") / "project")
    out = project.dvc("repro", stage_id("filter", "sample"))
    assert ran_stages(out.stdout) == set(DATA_STAGES), out.stdout
    return project


@pytest.fixture
def project_built(built, tmp_path) -> Project:
    """A private copy of `built`: its git repo, DVC cache, lock and outputs."""
    return clone(built, tmp_path / "project")


def lock(project: Project) -> dict:
    return lock_entries(project.root)


def stamp_files(project: Project) -> dict[str, bytes]:
    """validate's output folder: each stamp's bytes."""
    return {p.relative_to(project.root).as_posix(): p.read_bytes()
            for p in (project.root / layout.PARAMS_STAMPS).rglob("*.json")}


def status(project: Project, *targets: str) -> dict:
    return json.loads(project.dvc("status", "--json", *targets).stdout)


def stats(project: Project, handle: str = "sample") -> dict:
    return json.loads((project.root / f"reports/{handle}/stats.json").read_text())


def check_stats(project: Project, handle: str, min_words: int) -> dict:
    """stats.json and the processed tweets agree with the rules applied one tweet at a time."""
    got = stats(project, handle)
    assert list(got) == ["downloaded", "retweets", "short", "kept", "languages"]
    languages = got.pop("languages")
    assert all(type(v) is int and v >= 0 for v in got.values())
    assert got["kept"] == got["downloaded"] - got["retweets"] - got["short"]

    interim = pq.read_table(project.root / f"data/interim/{handle}/tweets.parquet").to_pylist()
    processed = pq.read_table(project.root / f"data/processed/{handle}/tweets.parquet")
    assert processed.num_rows == got["kept"]
    assert got["downloaded"] == len(interim) == len({row["id"] for row in interim})
    originals = [row for row in interim if not is_retweet_reference(row["text"], row["is_retweet"])]
    cleaned = [(row["id"], clean_text_reference(row["text"])) for row in originals]
    kept = [(i, text) for i, text in cleaned if not is_short_reference(text, min_words)]
    assert got["retweets"] == len(interim) - len(originals)
    assert list(zip(processed.column("id").to_pylist(), processed.column("text").to_pylist())) \
        == kept
    codes = [language_code(lang) for lang in processed.column("lang").to_pylist()]
    assert languages == {c: codes.count(c) for c in set(codes) - {None}}
    return got


def test_repro_runs_the_data_stages_then_nothing(project_built):
    got = check_stats(project_built, "sample", min_words=3)
    # the synthetic sample exercises every rule: both kinds of retweet, short tweets
    assert got["retweets"] > 0 and got["short"] > 0 and got["kept"] > got["downloaded"] // 2
    interim = pq.read_table(project_built.root / "data/interim/sample/tweets.parquet")
    flagged = interim.column("is_retweet").to_pylist()
    by_text = [t.startswith("RT @") for t in interim.column("text").to_pylist()]
    assert any(f and t for f, t in zip(flagged, by_text))  # v1.1 / v2 retweets
    assert any(t and not f for f, t in zip(flagged, by_text))  # archive retweets: text only
    assert status(project_built, *DATA_STAGES) == {}

    again = project_built.dvc("repro", stage_id("filter", "sample"))
    assert ran_stages(again.stdout) == set(), again.stdout


def test_changing_min_words_reruns_only_validate_and_filter(project_built):
    before_lock, before_stats = lock(project_built), stats(project_built)
    before_stamps = stamp_files(project_built)
    project_built.set_params(**{"filter.min_words": 6})

    # DVC names the key; validate is the one stage that reads params.yaml itself
    changed = status(project_built, *DATA_STAGES)
    assert changed == {"validate": [{"changed deps": {"params.yaml": {"filter": "modified"}}}]}
    project_built.dvc("repro", "validate")
    # ... and its stamps say which stages read it: filter's changed, ingest's did not
    changed = status(project_built, *DATA_STAGES)
    assert changed == {stage_id("filter", "sample"): [
        {"changed deps": {str(layout.params_stamp("filter", "sample")): "modified"}}]}, changed

    out = project_built.dvc("repro", stage_id("filter", "sample"))
    assert ran_stages(out.stdout) == {stage_id("filter", "sample")}, out.stdout

    after_lock = lock(project_built)
    for stage in ("sample", stage_id("ingest", "sample")):
        assert after_lock[stage] == before_lock[stage]
    stamp = json.loads((project_built.root / layout.params_stamp("filter", "sample")).read_text())
    assert stamp["filter"]["min_words"] == 6
    assert after_lock[stage_id("filter", "sample")]["outs"] != before_lock[stage_id("filter", "sample")]["outs"]
    # validate rewrote every stamp; only those of the stages reading filter.min_words changed
    after_stamps = stamp_files(project_built)
    assert after_stamps.keys() == before_stamps.keys()
    assert {p for p in after_stamps if after_stamps[p] != before_stamps[p]} == {
        str(layout.params_stamp(s, "sample")) for s in ("filter", "card")}

    after = check_stats(project_built, "sample", min_words=6)
    assert after["downloaded"] == before_stats["downloaded"]
    assert after["retweets"] == before_stats["retweets"]
    assert after["short"] > before_stats["short"] and after["kept"] < before_stats["kept"]
    assert status(project_built, *DATA_STAGES) == {}


V1_TWEETS = [
    {"id_str": "2001", "created_at": "Thu Oct 11 20:19:24 +0000 2018",
     "full_text": "first of alice's own tweets https://t.co/x", "lang": "en"},
    {"id_str": "2002", "created_at": "Thu Oct 11 21:19:24 +0000 2018",
     "full_text": "RT @bob: his words, not hers", "retweeted_status": {"id_str": "1"},
     "lang": "en"},
    {"id_str": "2003", "created_at": "Thu Oct 11 22:19:24 +0000 2018",
     "full_text": "@bob thanks!", "lang": "en"},
]
# ... and enough of her own to train on (over filter.min_kept_chars), none of them short
ALICE_OWN = 400
ALICE_TWEETS = V1_TWEETS + [
    {"id_str": str(3000 + i), "created_at": "Fri Oct 12 10:00:00 +0000 2018", "full_text": text,
     "lang": "en"} for i, text in enumerate(tweets(ALICE_OWN, seed=7))
]


def test_adding_a_handle_runs_only_its_stages(project_built):
    before = lock(project_built)
    raw = project_built.root / "data/raw/alice"
    raw.mkdir(parents=True)
    (raw / "timeline.json").write_text(json.dumps(ALICE_TWEETS))
    project_built.set_params(handles=["sample", "alice"])

    targets = [*DATA_STAGES, stage_id("ingest", "alice"), stage_id("filter", "alice")]
    assert set(status(project_built, *targets)) == {"validate", stage_id("ingest", "alice"), stage_id("filter", "alice")}
    out = project_built.dvc("repro", stage_id("filter", "sample"), stage_id("filter", "alice"))
    assert ran_stages(out.stdout) == {"validate", stage_id("ingest", "alice"), stage_id("filter", "alice")}, out.stdout

    after = lock(project_built)
    for stage in ("sample", stage_id("ingest", "sample"), stage_id("filter", "sample")):
        assert after[stage] == before[stage]
    assert check_stats(project_built, "alice", 3) == {
        "downloaded": 3 + ALICE_OWN, "retweets": 1, "short": 1, "kept": 1 + ALICE_OWN
    }


def test_bad_raw_json_fails_in_one_line_and_keeps_earlier_outputs(project_built):
    before = lock(project_built)
    raw = project_built.root / "data/raw/bad"
    raw.mkdir(parents=True)
    (raw / "tweets.json").write_text('[{"id_str": "1", "full_text": "cut off here",\n  "lang": ')
    project_built.set_params(handles=["sample", "bad"])

    proc = project_built.dvc("repro", stage_id("ingest", "bad"), check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    errors = [line for line in output.splitlines() if line.startswith("tweetlm: error: ")]
    assert len(errors) == 1 and "tweets.json" in errors[0], output
    assert "Traceback" not in output
    assert not (project_built.root / "data/interim/bad").exists()

    after = lock(project_built)
    assert stage_id("ingest", "bad") not in after
    # (validate did rerun and pass: adding the handle changed params.yaml)
    for stage in ("sample", stage_id("ingest", "sample"), stage_id("filter", "sample")):
        assert after[stage] == before[stage]

    # the good outputs are still in DVC's cache: delete them and check them out again
    outputs = ["data/interim/sample/tweets.parquet", "data/processed/sample/tweets.parquet",
               "reports/sample/stats.json"]
    saved = {p: (project_built.root / p).read_bytes() for p in outputs}
    for p in outputs:
        (project_built.root / p).unlink()
    project_built.dvc("checkout", stage_id("ingest", "sample"), stage_id("filter", "sample"))
    assert {p: (project_built.root / p).read_bytes() for p in outputs} == saved
