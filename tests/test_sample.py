"""The synthetic sample: deterministic, every raw format, every tricky case, labelled synthetic."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from helpers.big_archive import gaps, write_archive
from tweetlm import ingest, sample
from tweetlm.core.errors import TweetlmError


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "raw"
    sample.main(str(out), 3200, 0)
    return out


@pytest.fixture(scope="module")
def ingested(sample_dir):
    return ingest.ingest(sample_dir, 64)


def test_same_seed_same_bytes_other_seed_other_tweets(sample_dir, tmp_path):
    sample.main(str(tmp_path / "again"), 3200, 0)
    assert files(tmp_path / "again") == files(sample_dir)
    sample.main(str(tmp_path / "other"), 3200, 1)
    other = files(tmp_path / "other")
    assert other.keys() == files(sample_dir).keys()
    assert all(other[name] != data for name, data in files(sample_dir).items())


def test_rewrite_replaces_the_folder(tmp_path):
    out = tmp_path / "raw"
    sample.main(str(out), 200, 0)
    (out / "stale.json").write_text("[]")
    sample.main(str(out), 200, 0)
    assert not (out / "stale.json").exists()
    with pytest.raises(TweetlmError, match="at least 50"):
        sample.main(str(out), 10, 0)
    assert (out / "twitter-archive.zip").exists()  # a refused run leaves the old sample


def test_every_format_is_there(sample_dir, ingested):
    table, report = ingested
    assert set(table.column("format").to_pylist()) == {"archive", "v1.1", "v2"}
    assert set(report.files) == {
        "archive-2019/tweet.js", "statuses_user_timeline.json", "stream.jsonl", "twarc2.jsonl",
        "twitter-archive.zip/data/tweets.js", "twitter-archive.zip/data/tweets-part1.js",
        "v2/users_tweets_page1.json", "v2/users_tweets_page2.json",
    }
    head = lambda name: (sample_dir / name).read_bytes()[:40]  # noqa: E731
    assert head("archive-2019/tweet.js").startswith(b"window.YTD.tweet.part0 = [ {")
    assert head("statuses_user_timeline.json").startswith(b'[{"created_at":')
    with zipfile.ZipFile(sample_dir / "twitter-archive.zip") as z:
        assert z.read("data/tweets.js").startswith(b"window.YTD.tweets.part0 = [\n  {\n    \"tweet\" : {")
        assert {"data/like.js", "data/account.js"} <= set(z.namelist())
    pages = [json.loads((sample_dir / f"v2/users_tweets_page{i}.json").read_text()) for i in (1, 2)]
    assert "next_token" in pages[0]["meta"] and "next_token" not in pages[1]["meta"]
    assert all(p["includes"]["users"] for p in pages)
    twarc = [json.loads(line) for line in (sample_dir / "twarc2.jsonl").read_text().splitlines()]
    assert len(twarc) >= 2 and all("data" in page and "__twarc" in page for page in twarc)
    stream = [json.loads(line) for line in (sample_dir / "stream.jsonl").read_text().splitlines()]
    assert any("extended_tweet" in t and t["text"].endswith("…") for t in stream)


def test_about_3200_unique_tweets_with_duplicates_across_files(ingested):
    table, report = ingested
    assert table.num_rows == 3200
    assert report.duplicates > 100
    assert table.column("created_at").to_pylist() == sorted(table.column("created_at").to_pylist())


def test_the_tricky_cases_are_all_there(sample_dir, ingested):
    table, _ = ingested
    text = table.column("text")
    fmt = table.column("format")
    count = lambda mask: pc.sum(mask).as_py() or 0  # noqa: E731

    def has(pattern: str, regex: bool = False) -> int:
        return count((pc.match_substring_regex if regex else pc.match_substring)(text, pattern))

    structural_rt = pc.and_(table.column("is_retweet"), pc.not_equal(fmt, "archive"))
    text_rt = pc.and_(pc.starts_with(text, "RT @"), pc.equal(fmt, "archive"))
    assert count(structural_rt) > 10 and count(text_rt) > 10
    assert count(table.column("is_reply")) > 10 and count(table.column("is_quote")) > 10
    assert has(r"(^|\s)https://t\.co/", True) and has("http://t.co/") and has("HTTPS://t.co/")
    assert has(r"\(https?://t\.co/\w+\)|https?://t\.co/\w+[.,!]", True)  # glued to punctuation
    assert has("&amp;") and has("&amp;amp;") and has("&lt;") and has("&gt;")
    assert has("😂") or has("🔥")
    assert has(r"(^|\s)@\w+", True) and has(r"#\w+", True) and has("\n")
    words = pc.list_value_length(pc.utf8_split_whitespace(text))
    assert count(pc.less(words, 3)) > 20  # short tweets
    long_posts = pc.and_(pc.greater(pc.utf8_length(text), 280), pc.equal(fmt, "v2"))
    assert count(long_posts) >= 1  # note_tweet: the full text, not the cut one
    distinct = pc.count_distinct(text).as_py()
    assert distinct > 0.9 * table.num_rows  # varied, not a handful of strings


def test_labelled_synthetic(sample_dir):
    for name, data in files(sample_dir).items():
        if name.endswith(".zip"):
            with zipfile.ZipFile(sample_dir / name) as z:
                data = z.read("data/tweets.js") + z.read("data/account.js")
        assert b"synthetic" in data, name


def test_cli_writes_the_sample(tmp_path):
    from tweetlm.core import cli

    assert cli.main(["sample", "--out", str(tmp_path / "s"), "--tweets", "300", "--seed", "5"]) == 0
    table, _ = ingest.ingest(tmp_path / "s", 64)
    assert table.num_rows == 300


@pytest.mark.parametrize("jsonl", [False, True], ids=["tweets.js", "jsonl"])
def test_write_archive_streams_a_big_readable_file(tmp_path, jsonl):
    """benchmarks/big_archive.py: the benchmark's archive, from the sample's texts."""
    path = tmp_path / ("tweets.jsonl" if jsonl else "tweets.js")
    size = write_archive(path, 2000, seed=0, jsonl=jsonl)
    assert size == path.stat().st_size
    if not jsonl:
        assert path.read_bytes().startswith(b"window.YTD.tweets.part0 = [\n  {\n    \"tweet\" : {")
    table, _ = ingest.ingest(tmp_path, 64)
    assert table.num_rows == 2000
    assert pc.sum(pc.starts_with(table.column("text"), "RT @")).as_py() > 100
    assert pc.sum(table.column("is_reply")).as_py() > 100
    assert 40 < pc.mean(pc.utf8_length(table.column("text"))).as_py() < 200  # tweet-sized


@pytest.mark.parametrize("tweets", [2000, 1_000_000, 4_000_000, 100_000_000])
def test_big_archive_ids_fit_int64_at_any_size(tweets):
    """A tweet every 30-3000 s from 2021 on would pass 2080 after 1.2M tweets, and snowflake
    ids then overflow int64 (ingest refuses them: the 4M benchmark did). Even if every gap
    were the longest, the last id fits; up to 100k tweets keep the sample's pace."""
    least, most = gaps(tweets)
    last = sample.EPOCH + timedelta(seconds=most * tweets)
    assert int(sample.snowflake(last, tweets)) < 2**63
    assert 1 <= least <= most
    if tweets <= 100_000:
        assert (least, most) == (30, 3000)
