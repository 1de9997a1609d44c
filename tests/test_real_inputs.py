"""Real tweets as people have them, in the exact layouts of real files (tests/data/real/).

The fixtures are our own small content written in the byte layouts real ones have:

- archive-2022/: an unpacked Twitter/X archive of late 2022 on (Your archive.html, assets/,
  data/manifest.js `window.__THAR_CONFIG`, data/tweets.js + tweets-part1.js as the manifest
  lists them, deleted-tweets.js, tweet-headers.js, like.js ..., data/*_media/), pretty-printed
  as JackLance/jacklance.github.io's data/ is;
- archive-2020/: the 2020 layout (data/tweet.js `window.YTD.tweet.part0 = [ {`, manifest
  dataTypes `tweet`, tweet_media/), as hotoo/twitter's 2020/data/ is;
- archive-ja/: a Japanese account, whose words are not separated by spaces;
- archive-grailbird/: an archive made before 2019 (index.html, tweets.csv, css/ img/ js/
  lib/, data/js/tweet_index.js, data/csv/, and data/js/tweets/YYYY_MM.js: a line
  `Grailbird.data.tweets_2016_04 =`, then the array as Jackson's pretty printer writes it,
  slashes and markup escaped, created_at '2016-04-18 19:33:02 +0000'), as
  06b/Twitter-Archive's is;
- edits/: an edited tweet as an archive's tweets.js holds it (the first version with
  edit_info.initial, the edit with edit_info.edit, both listing the chain of ids) and as a
  v2 lookup of both versions returns it (edit_history_tweet_ids);
- api/: tweepy's Client.get_tweet / get_tweets with default fields (tweepy's cassettes
  test_client_get_tweet.yaml), a v1.1 user timeline saved with default fields (API.user_timeline
  without tweet_mode='extended': `text` cut to 140 characters, `truncated`: true, as
  json.dump of the statuses' _json writes it), a v2 lookup with includes and errors, a v1.1 search response
  (tweepy's cassettes/testsearch.json), twarc1 and twarc2 timelines, and a twarc2 stream
  killed mid-write.

Every expected figure below is counted by hand from the fixture files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from helpers.params import shipped_raw
from tweetlm import ingest as ig
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.ingest import read

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).resolve().parent / "data" / "real"
ARCHIVE_2022 = REAL / "archive-2022" / "twitter-2023-03-12-5f0c2a9e"
ARCHIVE_2020 = REAL / "archive-2020" / "twitter-2020-10-10-c2d9b0f1e7"
ARCHIVE_JA = REAL / "archive-ja" / "twitter-2021-11-07-7a3e19d2"
GRAILBIRD = REAL / "archive-grailbird" / "tweets"
API = REAL / "api"
TWEETLM = str(Path(sys.executable).parent / "tweetlm")

# archive-2022: the 12 tweets of data/tweets.js (8) and data/tweets-part1.js (4), by date
WREN_KEPT = [  # cleaned, at filter.min_words 3
    "Spent the morning counting wrens along the marsh trail. Seven so far!",
    "@fen_heron thanks, I will bring the spare pair",
    "Tea & toast before the 6am survey > coffee",
    "Heard a bittern booming before sunrise, first one this year \U0001f426",
    "Fog lifted at noon and the whole reed bed lit up gold",
    "Three things I learned today: 1. wrens are loud 2. herons are patient 3. mud is deep",
]
WREN_DELETED_ID = 1634678080926674944  # data/deleted-tweets.js: not a current tweet


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def tree_files(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def raw_with(tmp_path: Path, *copies: tuple[Path, str]) -> Path:
    """A raw folder holding copies of fixture files or folders (source, name in the folder)."""
    raw = tmp_path / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for source, name in copies:
        if source.is_dir():
            shutil.copytree(source, raw / name)
        else:
            (raw / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, raw / name)
    return raw


def by_id(table) -> dict[int, dict]:
    return {r["id"]: r for r in table.to_pylist()}


# ---------------------------------------------------------------- unpacked archives


def test_unpacked_archive_reads_the_manifests_tweet_files_and_passes_over_the_rest(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "twitter-2023-03-12-5f0c2a9e"))
    table, report = ig.ingest(raw, 64)
    assert report.files == ["twitter-2023-03-12-5f0c2a9e/data/tweets-part1.js",  # path order
                            "twitter-2023-03-12-5f0c2a9e/data/tweets.js"]
    assert table.num_rows == 12 and report.duplicates == 0
    # the html, 5 files of assets/, and data/: manifest, README, 6 other .js, 3 media files
    assert report.archive_files == 17 == tree_files(ARCHIVE_2022) - 2
    assert report.archives == ["twitter-2023-03-12-5f0c2a9e"] and report.skipped == []
    assert set(table.column("format").to_pylist()) == {"archive"}
    assert WREN_DELETED_ID not in table.column("id").to_pylist()
    assert not any("never reach the bot" in t for t in table.column("text").to_pylist())
    first = table.slice(0, 1).to_pylist()[0]
    assert first["created_at"] == utc(2023, 3, 4, 7, 12, 9)
    assert first["text"].endswith("Seven so far! https://t.co/AbC123xyzQ")


def test_the_2020_layout_with_tweet_js(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2020, "twitter-2020-10-10-c2d9b0f1e7"))
    table, report = ig.ingest(raw, 64)
    assert report.files == ["twitter-2020-10-10-c2d9b0f1e7/data/tweet.js"]
    assert table.num_rows == 6 and report.archive_files == 9 == tree_files(ARCHIVE_2020) - 1
    rows = table.to_pylist()
    assert [r["is_reply"] for r in rows] == [False, False, True, False, False, False]
    assert rows[1]["text"].startswith("RT @woodwork_daily:")  # the filter's RT rule drops it


@pytest.mark.parametrize("remove, passed_over", [
    (["data/manifest.js"], 16),  # the html still marks the root; tweet files found by name
    (["Your archive.html", "data/manifest.js", "assets"], 10),  # data/ of window.YTD files
    (["Your archive.html"], 16),  # the manifest marks it
], ids=["no-manifest", "only-the-data-folder", "no-html"])
def test_an_archive_root_is_told_by_its_html_manifest_or_data_folder(tmp_path, remove, passed_over):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "archive"))
    for name in remove:
        target = raw / "archive" / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    table, report = ig.ingest(raw, 64)
    assert table.num_rows == 12
    assert report.files == ["archive/data/tweets-part1.js", "archive/data/tweets.js"]
    assert report.archive_files == passed_over


def test_the_archive_unpacked_straight_into_the_handle_folder(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(ARCHIVE_2022, raw)
    table, report = ig.ingest(raw, 64)
    assert table.num_rows == 12 and report.archives == ["."] and report.archive_files == 17


def test_the_manifest_decides_which_files_are_tweets(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "a"))
    manifest = raw / "a/data/manifest.js"
    text = manifest.read_text()
    manifest.write_text(text.replace('"fileName" : "data/tweets-part1.js"',
                                     '"fileName" : "data/tweets-part2.js"'))
    with pytest.raises(TweetlmError, match=r"^a/data/tweets-part2.js: listed in the archive's "
                                           r"data/manifest.js but missing: unpack the whole "
                                           r"archive again$") as e:
        ig.ingest(raw, 64)
    (raw / "a/data/tweets-part1.js").rename(raw / "a/data/tweets-part2.js")
    table, report = ig.ingest(raw, 64)
    assert table.num_rows == 12 and report.files[0] == "a/data/tweets-part2.js"
    assert "\n" not in str(e.value)


def test_a_damaged_manifest_is_an_error_naming_it(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "a"))
    manifest = raw / "a/data/manifest.js"
    manifest.write_text(manifest.read_text()[:500])
    with pytest.raises(TweetlmError, match=r"^a/data/manifest.js: the archive's manifest is not "
                                           r"valid JSON \(.*\): unpack the archive again"):
        ig.ingest(raw, 64)


def test_outside_the_archive_tree_a_non_tweet_file_is_still_an_error(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "archive"))
    (raw / "my notes.html").write_text("<!DOCTYPE html><p>to do</p>")
    with pytest.raises(TweetlmError, match=r"/raw/my notes.html:1:1: not tweet JSON"):
        ig.ingest(raw, 64)
    (raw / "my notes.html").unlink()
    (raw / "archive/data/export.txt").write_text("id text\n1 hello\n")  # not the archive's own
    with pytest.raises(TweetlmError, match=r"/raw/archive/data/export.txt:1:1: not tweet JSON"):
        ig.ingest(raw, 64)


def test_deleted_tweets_away_from_the_archive_are_skipped_too(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022 / "data/tweets.js", "tweets.js"),
                   (ARCHIVE_2022 / "data/deleted-tweets.js", "deleted-tweets.js"))
    table, report = ig.ingest(raw, 64)
    assert table.num_rows == 8 and report.skipped == ["deleted-tweets.js"]
    assert WREN_DELETED_ID not in table.column("id").to_pylist()


def test_a_cut_archive_tweets_js_stays_an_error(tmp_path):
    raw = raw_with(tmp_path, (ARCHIVE_2022, "a"))
    part = raw / "a/data/tweets-part1.js"
    part.write_bytes(part.read_bytes()[:-200])
    with pytest.raises(TweetlmError, match=r"/raw/a/data/tweets-part1.js:.*truncated"):
        ig.ingest(raw, 64)


def zip_of(folder: Path) -> bytes:
    """The archive as Twitter/X delivers it: its tree at the zip's top level."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def test_the_same_archive_zipped_reads_the_same(tmp_path):
    unpacked, _ = ig.ingest(raw_with(tmp_path, (ARCHIVE_2022, "a")), 64)
    zipped_raw = tmp_path / "zipped"
    zipped_raw.mkdir()
    (zipped_raw / "twitter-2023-03-12-5f0c2a9e.zip").write_bytes(zip_of(ARCHIVE_2022))
    zipped, report = ig.ingest(zipped_raw, 64)
    assert report.files == ["twitter-2023-03-12-5f0c2a9e.zip/data/tweets-part1.js",
                            "twitter-2023-03-12-5f0c2a9e.zip/data/tweets.js"]
    assert report.archive_files == 17
    assert zipped.drop_columns(["source"]).equals(unpacked.drop_columns(["source"]))


def test_a_zip_whose_manifest_lists_a_missing_part_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("data/manifest.js", (ARCHIVE_2022 / "data/manifest.js").read_text())
        z.writestr("data/tweets.js", (ARCHIVE_2022 / "data/tweets.js").read_text())
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    with pytest.raises(TweetlmError, match=r"^.*a.zip: data/tweets-part1.js is listed in the "
                                           r"archive's data/manifest.js but not in the zip"):
        ig.ingest(tmp_path, 64)


# ---------------------------------------------------------------- archives made before 2019

ORCHARD_KEPT = [  # archive-grailbird: its 5 tweets by date, cleaned; the RT dropped
    "Frost again last night \u2744 the cider apples don\u2019t mind, the apricot very much does",
    "Pruned the plum before the sap rises. Wrote up what I cut and why:",
    "Blossom on the old Bramley at last, a week later than last year. Bees were out before me "
    "this morning",
    "@quince_grower how long before you saw the first leaves?",
]


def test_a_grailbird_archive_reads_its_month_files_and_passes_over_the_rest(tmp_path):
    table, report = ig.ingest(raw_with(tmp_path, (GRAILBIRD, "tweets")), 64)
    assert report.files == ["tweets/data/js/tweets/2016_03.js", "tweets/data/js/tweets/2016_04.js"]
    # index.html, tweets.csv, css/ js/ lib/ img/ (a file each), data/csv/, data/js/ (3 files)
    assert report.archives == ["tweets"] and report.archive_files == 10 == tree_files(GRAILBIRD) - 2
    rows = table.to_pylist()
    assert [r["created_at"] for r in rows] == [utc(2016, 3, 5, 12, 2, 39), utc(2016, 3, 27, 16, 20, 11),
                                               utc(2016, 4, 2, 7, 48, 50), utc(2016, 4, 11, 9, 15, 27),
                                               utc(2016, 4, 18, 19, 33, 2)]
    assert [(r["is_retweet"], r["is_reply"]) for r in rows] == [
        (False, False), (False, False), (False, False), (True, False), (False, True)]
    assert rows[0]["id"] == 706087524627382273 and rows[0]["text"].startswith("Frost again")
    assert set(table.column("format").to_pylist()) == {"archive"}


def test_a_grailbird_archive_zipped_or_a_month_file_alone_reads_the_same(tmp_path):
    unpacked, _ = ig.ingest(raw_with(tmp_path / "a", (GRAILBIRD, "tweets")), 64)
    (tmp_path / "z").mkdir()
    (tmp_path / "z/tweets.zip").write_bytes(zip_of(GRAILBIRD))
    zipped, report = ig.ingest(tmp_path / "z", 64)
    assert report.files == ["tweets.zip/data/js/tweets/2016_03.js",
                            "tweets.zip/data/js/tweets/2016_04.js"] and report.archive_files == 10
    assert zipped.drop_columns(["source"]).equals(unpacked.drop_columns(["source"]))
    alone, _ = ig.ingest(raw_with(tmp_path / "m", (GRAILBIRD / "data/js/tweets/2016_04.js",
                                                  "2016_04.js")), 64)
    assert alone.drop_columns(["source"]).equals(unpacked.slice(2).drop_columns(["source"]))


def test_a_grailbird_month_read_the_exact_way_gives_the_same_rows(tmp_path, monkeypatch):
    fast, _ = ig.ingest(raw_with(tmp_path / "a", (GRAILBIRD, "tweets")), 64)
    real_read = read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: real_read(s, pool, True))
    exact, _ = ig.ingest(raw_with(tmp_path / "b", (GRAILBIRD, "tweets")), 64)
    assert exact.equals(fast)


# ---------------------------------------------------------------- API responses and twarc


def ingest_one(tmp_path, name: str):
    return ig.ingest(raw_with(tmp_path, (API / name, name)), 64)


def test_tweepy_default_fields_are_dated_by_their_snowflake_ids(tmp_path):
    table, report = ingest_one(tmp_path, "tweepy-get-tweet.json")
    (row,) = table.to_pylist()
    assert row["created_at"] == utc(2022, 10, 6, 21, 49, 2, 417000)
    assert row["text"].endswith("readings make sense now \U0001f327\ufe0f")
    assert row["format"] == "v2" and report.dated_by_id == 1

    table, report = ingest_one(tmp_path / "many", "tweepy-get-tweets.json")
    assert table.column("created_at").to_pylist() == [utc(2022, 10, 7, 8, 15, 40, 902000),
                                                     utc(2022, 10, 7, 9, 1, 12, 56000)]
    assert report.dated_by_id == 2
    assert table.column("text").to_pylist()[1].startswith("RT @storm_desk:")


def test_a_tweet_with_neither_a_date_nor_a_dated_id_is_an_error(tmp_path):
    (tmp_path / "first.json").write_text(json.dumps(
        {"data": {"edit_history_tweet_ids": ["20"], "id": "20", "text": "just setting up my twttr"}}))
    with pytest.raises(TweetlmError) as e:
        ig.ingest(tmp_path, 64)
    assert str(e.value) == (f"{tmp_path}/first.json: tweet 20: created_at is missing, and the id is older than "
                            "2010-11-04 so it holds no time: download with created_at (API v2: "
                            "tweet.fields=created_at)")


def test_v2_lookup_reads_data_and_ignores_includes_and_errors(tmp_path):
    table, report = ingest_one(tmp_path, "v2-tweets-lookup.json")
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [1482291479861809152, 1482299201994907648]
    assert [r["is_reply"] for r in rows] == [False, True]
    assert rows[1]["created_at"] == utc(2022, 1, 15, 10, 30, 44, 200000)
    assert report.dated_by_id == 0


def test_v1_search_response_reads_its_statuses(tmp_path):
    table, _ = ingest_one(tmp_path, "v1-search-tweets.json")
    rows = by_id(table)
    assert sorted(rows) == [539120826184683520, 539135472694231040, 539154753909694464]
    assert [(r["is_retweet"], r["is_reply"]) for r in table.to_pylist()] == [
        (False, True), (True, False), (False, False)]  # by date: reply, retweet, plain
    assert {r["format"] for r in rows.values()} == {"v1.1"}
    assert 538995852702650368 not in rows  # the retweeted original is someone else's


def test_twarc1_and_twarc2_timelines(tmp_path):
    table, _ = ingest_one(tmp_path, "twarc1-timeline.jsonl")
    assert table.column("text").to_pylist() == [
        "Tomatoes are in the ground, fingers crossed for no late frost",
        "RT @allotment_news: Water butts half price this weekend",
        "Slugs ate two lettuces overnight &amp; left the weeds alone"]  # entities: the filter's
    assert table.column("is_retweet").to_pylist() == [False, True, False]

    table, _ = ingest_one(tmp_path / "2", "twarc2-timeline.jsonl")
    assert table.num_rows == 5  # 3 + 2 per page; includes.tweets are other people's
    rows = table.to_pylist()
    assert rows[2]["text"] == ("Found a starfish missing one arm, they grow it back apparently. "
                               "Took about a year for the one at the aquarium.")  # note_tweet
    assert [(r["is_retweet"], r["is_reply"]) for r in rows] == [
        (False, False), (False, True), (False, False), (True, False), (False, False)]


def test_a_twarc2_stream_killed_mid_write_keeps_every_complete_page(tmp_path, capsys, monkeypatch):
    reads = []
    real_read = read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: reads.append(exact)
                        or real_read(s, pool, exact))
    table, report = ingest_one(tmp_path, "twarc2-killed.jsonl")
    assert table.num_rows == 5 and report.cut_lines == {"twarc2-killed.jsonl": 3}
    assert reads == [False]  # dropped on the fast path: the file is not read twice
    err = capsys.readouterr().err.strip()
    assert err == (f"tweetlm: warning: {tmp_path}/raw/twarc2-killed.jsonl:3: the last line is cut mid-record (the "
                   "stream or download stopped while writing it): dropped it, read the 5 complete "
                   "record(s) before it")


@pytest.mark.parametrize("chunk", [7, 100, 1 << 20], ids=["chunk-7", "chunk-100", "chunk-1MiB"])
def test_the_cut_line_is_found_whatever_the_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(read, "CHUNK", chunk)
    table, report = ingest_one(tmp_path, "twarc2-killed.jsonl")
    assert table.num_rows == 5 and report.cut_lines == {"twarc2-killed.jsonl": 3}


LINES = (API / "twarc1-timeline.jsonl").read_text().splitlines()


@pytest.mark.parametrize("content, outcome", [
    ("\n".join(LINES[:2]) + "\n" + LINES[2][:40], 2),  # cut inside a string
    ("\n".join(LINES[:2]) + "\n" + LINES[2][:LINES[2].index('"entities"') - 1], 2),  # after a ','
    ("\r\n".join(LINES[:2]) + "\r\n" + LINES[2][:25], 2),  # Windows line ends
    ("\n".join(LINES[:2]) + "\n" + LINES[2][:40] + "\n", "truncated"),  # unclosed, line ended
    (LINES[0][:60], "truncated"),  # the only record is cut: a truncated file
    (json.dumps(json.loads(LINES[0]), indent=2) + "\n" + json.dumps(json.loads(LINES[1]),
                                                                   indent=2)[:300],
     "truncated"),  # pretty-printed records are not JSON Lines
    (LINES[0] + LINES[1][:50], "truncated"),  # glued to the record before it, no newline
    (LINES[0] + "\n" + LINES[1] + LINES[2][:50], "truncated"),  # a whole record glued before it
], ids=["cut-in-a-string", "cut-after-a-comma", "crlf-lines", "unclosed-line-ends-with-newline",
        "only-record-cut", "pretty-printed-cut", "glued-records-cut", "cut-after-a-glued-record"])
def test_only_a_cut_last_line_of_json_lines_is_dropped(tmp_path, content, outcome):
    (tmp_path / "timeline.jsonl").write_text(content)
    if outcome == "truncated":
        with pytest.raises(TweetlmError, match=r"/timeline.jsonl:\d+:\d+: the file ends .*truncated"):
            ig.ingest(tmp_path, 64)
        return
    table, report = ig.ingest(tmp_path, 64)
    assert table.num_rows == outcome and report.cut_lines == {"timeline.jsonl": 3}


STARS = 1455923253343159273  # tweepy-user-timeline.json: saved without tweet_mode='extended'
STARS_FULL = ("Counted 31 ochre stars on the north reef this morning, up from 12 last spring. "
              "Wasting disease seems to be easing off, fingers crossed it holds through the summer")


@pytest.mark.parametrize("way", ["fast", "exact"])
def test_a_timeline_saved_with_default_fields_warns_about_its_cut_texts(tmp_path, monkeypatch,
                                                                        capsys, way):
    real_read = read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: real_read(s, pool,
                                                                        exact or way == "exact"))
    table, report = ingest_one(tmp_path, "tweepy-user-timeline.json")
    rows = by_id(table)
    assert table.num_rows == 3 and report.truncated == {"tweepy-user-timeline.json": 1}
    assert rows[STARS]["text"] == STARS_FULL[:115] + "\u2026 https://t.co/Q7wKp2ZrXa"  # kept as cut
    assert capsys.readouterr().err == (
        f"tweetlm: warning: {tmp_path}/raw/tweepy-user-timeline.json: 1 tweet(s) have text cut "
        "short ('truncated': true): kept as cut; a v1.1 timeline saved without "
        "tweet_mode='extended' has them, save it again with tweet_mode='extended' to train on "
        "their full text\n")


def test_a_full_copy_of_a_cut_tweet_wins_and_silences_the_warning(tmp_path, capsys):
    statuses = json.loads((API / "tweepy-user-timeline.json").read_text())
    extended = {k: v for k, v in statuses[0].items() if k != "text"}  # tweet_mode='extended'
    extended.update(full_text=STARS_FULL, truncated=False, display_text_range=[0, len(STARS_FULL)])
    raw = raw_with(tmp_path, (API / "tweepy-user-timeline.json", "a-default.json"))
    (raw / "b-extended.json").write_text(json.dumps([extended]))
    table, report = ig.ingest(raw, 64)
    assert by_id(table)[STARS]["text"] == STARS_FULL and report.duplicates == 1
    assert report.truncated == {} and capsys.readouterr().err == ""


def test_read_each_api_file_exactly_as_counted(tmp_path):
    raw = raw_with(tmp_path, *((p, p.name) for p in sorted(API.iterdir())))
    found = ig.find_sources(raw, 64)
    counts = {}
    with ThreadPoolExecutor(2) as pool:
        for source in found.sources:
            result = read.read_source(source, pool)
            counts[source.name] = (result.rows.num_rows, result.dated_by_id, result.cut_line)
    assert counts == {
        "tweepy-get-tweet.json": (1, 1, None), "tweepy-get-tweets.json": (2, 2, None),
        "twarc1-timeline.jsonl": (3, 0, None), "twarc2-killed.jsonl": (5, 0, 3),
        "twarc2-timeline.jsonl": (5, 0, None), "tweepy-user-timeline.json": (3, 0, None),
        "v1-search-tweets.json": (3, 0, None),
        "v2-tweets-lookup.json": (2, 0, None)}


# ---------------------------------------------------------------- edited tweets

EDITS = REAL / "edits"  # tweets.js: the archive's entries of an edited tweet (B, then C)
DRAGONFLIES, HERON_TYPO, HERON, SURVEY = (1632320043217969728, 1632808281175089728,
                                          1632811196216369728, 1633010895418417728)


@pytest.mark.parametrize("way", ["fast", "exact"])
@pytest.mark.parametrize("name", ["tweets.js", "v2-lookup-edited.json"])
def test_an_edited_tweet_is_kept_once_as_its_latest_version(tmp_path, monkeypatch, way, name):
    reads, real_read = [], read._read  # the exact way: record by record, never the fast path
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: reads.append(exact)
                        or real_read(s, pool, exact or way == "exact"))
    table, report = ig.ingest(raw_with(tmp_path, (EDITS / name, name)), 64)
    assert reads == [False]  # no fallback: each way read the file once
    rows = by_id(table)
    assert HERON_TYPO not in rows and report.edits == 1
    assert rows[HERON]["text"].startswith("The heron came back")
    assert DRAGONFLIES in rows
    # the survey tweet's chain ends in an id no file holds: the version read is kept
    assert (SURVEY in rows) == (name == "tweets.js")
    assert report.tweets == table.num_rows == (3 if name == "tweets.js" else 2)


def test_the_earlier_version_stays_when_the_latest_was_not_read(tmp_path):
    entries = json.loads((EDITS / "tweets.js").read_text().split("= ", 1)[1])
    latest = [e for e in entries if e["tweet"]["id"] != str(HERON)]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(latest, indent=2))
    table, report = ig.ingest(raw, 64)
    assert HERON_TYPO in by_id(table) and report.edits == 0


def test_the_summary_line_counts_the_earlier_versions(tmp_path):
    out = stage(project(tmp_path, "heron", (EDITS / "tweets.js", "tweets.js")), "ingest", "heron")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("ingest heron: 3 tweets from 1 file(s) (0 duplicates; 1 earlier "
                                  "version(s) of edited tweets, the latest kept) -> "
                                  "data/interim/heron/tweets.parquet")


# ---------------------------------------------------------------- the stages, as a user runs them


def project(tmp_path: Path, handle: str, *copies: tuple[Path, str], **filter_params) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    params = shipped_raw()
    params["handles"] = [handle]
    params["filter"].update(filter_params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    raw = tmp_path / "data/raw" / handle
    raw.mkdir(parents=True)
    for source, name in copies:
        (shutil.copytree if source.is_dir() else shutil.copy)(source, raw / name)
    return tmp_path


def stage(cwd: Path, name: str, handle: str) -> subprocess.CompletedProcess:
    return subprocess.run([TWEETLM, name, handle], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


def stats_of(cwd: Path, handle: str) -> dict:
    """What filter wrote to the handle's stats.json."""
    return json.loads((cwd / layout.stats(handle)).read_text())


def kept_texts(cwd: Path, handle: str) -> list[str]:
    """The texts filter kept, in order."""
    return pq.read_table(cwd / layout.processed(handle)).column("text").to_pylist()


def test_an_unpacked_archive_through_ingest_and_filter(tmp_path):
    cwd = project(tmp_path, "wren", (ARCHIVE_2022, "twitter-2023-03-12-5f0c2a9e"),
                  min_kept_chars=0, warn_kept_chars=0)
    out = stage(cwd, "ingest", "wren")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("ingest wren: 12 tweets from 2 file(s) (0 duplicates; passed "
                                  "over 17 other archive file(s)) -> "
                                  "data/interim/wren/tweets.parquet")
    out = stage(cwd, "filter", "wren")
    assert out.returncode == 0, out.stderr
    stats = stats_of(cwd, "wren")
    assert stats == {"downloaded": 12, "retweets": 2, "short": 4, "kept": 6,
                     "languages": {"en": 6}}
    assert kept_texts(cwd, "wren") == WREN_KEPT
    assert out.stderr == ""


def test_a_grailbird_archive_through_ingest_and_filter(tmp_path):
    cwd = project(tmp_path, "orchard", (GRAILBIRD, "tweets"), min_kept_chars=0, warn_kept_chars=0)
    out = stage(cwd, "ingest", "orchard")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("ingest orchard: 5 tweets from 2 file(s) (0 duplicates; passed "
                                  "over 10 other archive file(s)) -> "
                                  "data/interim/orchard/tweets.parquet")
    out = stage(cwd, "filter", "orchard")
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert stats_of(cwd, "orchard") == {
        "downloaded": 5, "retweets": 1, "short": 0, "kept": 4, "languages": {}}  # no `lang`
    assert kept_texts(cwd, "orchard") == ORCHARD_KEPT


def test_every_api_file_through_ingest_and_filter(tmp_path):
    cwd = project(tmp_path, "api", *((p, p.name) for p in sorted(API.iterdir())),
                  min_kept_chars=0, warn_kept_chars=0)
    out = stage(cwd, "ingest", "api")
    assert out.returncode == 0, out.stderr
    # 1 + 2 + 2 + 3 + 3 + 3 + 5 tweets; the killed stream repeats the timeline's 5
    assert out.stdout.strip() == ("ingest api: 19 tweets from 8 file(s) (5 duplicates; 3 dated by "
                                  "their id (no created_at); dropped the cut last line of 1 "
                                  "file(s)) -> data/interim/api/tweets.parquet")
    assert out.stderr.count("\n") == 2 and "twarc2-killed.jsonl:3: the last line is cut" in out.stderr
    assert "tweepy-user-timeline.json: 1 tweet(s) have text cut short" in out.stderr
    out = stage(cwd, "filter", "api")
    assert out.returncode == 0, out.stderr
    stats = stats_of(cwd, "api")
    # tweepy's Client saved 3 tweets with default fields, no `lang`: 2 kept, 1 a retweet
    assert stats == {"downloaded": 19, "retweets": 4, "short": 0, "kept": 15,
                     "languages": {"en": 13}}


def test_a_japanese_archive_warns_about_min_words(tmp_path):
    cwd = project(tmp_path, "ame", (ARCHIVE_JA, "twitter-2021-11-07-7a3e19d2"))
    assert stage(cwd, "ingest", "ame").returncode == 0
    out = stage(cwd, "filter", "ame")  # shipped thresholds: 62 characters kept is too little
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr == (
        "tweetlm: error: data/raw/ame: only 62 characters of text kept (2 of 10 tweets), under "
        "filter.min_kept_chars=6,000: too little to train a bot on; 8 of 10 tweets were dropped "
        "as short (fewer than filter.min_words=3 words; words are counted by spaces, so a "
        "Japanese or Chinese tweet is one word): lower filter.min_words in params.yaml\n")
    assert not (cwd / layout.stats("ame")).exists()

    project(tmp_path / "no-min", "ame", (ARCHIVE_JA, "a"), min_kept_chars=0)
    cwd = tmp_path / "no-min"
    assert stage(cwd, "ingest", "ame").returncode == 0
    out = stage(cwd, "filter", "ame")
    assert out.returncode == 0, out.stderr
    warnings = out.stderr.splitlines()
    assert len(warnings) == 2 and all(w.startswith("tweetlm: warning: data/raw/ame: ")
                                      for w in warnings)
    assert "8 of 10 tweets were dropped as short" in warnings[0]
    assert "lower filter.min_words in params.yaml (0 keeps every tweet)" in warnings[0]
    assert "62 characters of text kept (2 tweets), under filter.warn_kept_chars=40,000" in warnings[1]

    assert stats_of(cwd, "ame") == {
        "downloaded": 10, "retweets": 0, "short": 8, "kept": 2, "languages": {"ja": 1, "en": 1}}

    project(tmp_path / "every-word", "ame", (ARCHIVE_JA, "a"), min_words=0, min_kept_chars=0)
    cwd = tmp_path / "every-word"
    assert stage(cwd, "ingest", "ame").returncode == 0 and stage(cwd, "filter", "ame").returncode == 0
    stats = stats_of(cwd, "ame")
    assert stats["kept"] == 10 and stats["languages"] == {"ja": 9, "en": 1}  # the card says ja
