"""ingest: every raw format in, one de-duplicated, sorted SCHEMA table out; bad input named."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.params import shipped_raw
from tweetlm import ingest as ig
from tweetlm.core.errors import TweetlmError
from tweetlm.ingest import read, scan
from tweetlm.core import layout

ROOT = Path(__file__).resolve().parents[1]
BIG = 2**53 + 1  # not representable as a float
V1_DATE = "Wed Oct 10 20:19:24 +0000 2018"


def v1(tid: int, text: str = "a plain tweet with words", **extra) -> dict:
    return {"created_at": V1_DATE, "id": tid, "id_str": str(tid), "full_text": text,
            "lang": "en", "user": {"screen_name": "alice"}, **extra}


def v2(tid: int, text: str = "a plain tweet with words", **extra) -> dict:
    return {"id": str(tid), "text": text, "created_at": "2018-10-10T20:19:24.000Z", **extra}


def archive(entries: list[dict], part: str = "tweets.part0") -> str:
    body = ",\n".join(json.dumps({"tweet": e}, indent=2, separators=(",", " : ")) for e in entries)
    return f"window.YTD.{part} = [\n{body}\n]"


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return folder


def rows(folder: Path) -> dict[int, dict]:
    table, _ = ig.ingest(folder, 64)
    return {r["id"]: r for r in table.to_pylist()}


# ---------------------------------------------------------------- formats


def test_v1_array_full_text_text_and_extended_tweet(tmp_path):
    tweets = [
        v1(1, "full text wins"),
        {**v1(2), "full_text": None, "text": "only text here"},
        {**{k: v for k, v in v1(3).items() if k != "full_text"}, "text": "truncated …",
         "extended_tweet": {"full_text": "the whole long text, not truncated"}},
        v1(4, "RT @bob: a retweet", retweeted_status=v1(99, "a retweet")),
        v1(5, "@bob a reply", in_reply_to_status_id_str="98", in_reply_to_status_id=98),
        v1(6, "a quote https://t.co/x", is_quote_status=True, quoted_status_id_str="97"),
    ]
    got = rows(write(tmp_path, {"timeline.json": json.dumps(tweets)}))
    assert got[1]["text"] == "full text wins"
    assert got[2]["text"] == "only text here"
    assert got[3]["text"] == "the whole long text, not truncated"
    assert [got[i]["is_retweet"] for i in (1, 4)] == [False, True]
    assert [got[i]["is_reply"] for i in (1, 5)] == [False, True]
    assert [got[i]["is_quote"] for i in (1, 6)] == [False, True]
    assert {r["format"] for r in got.values()} == {"v1.1"}
    assert 99 not in got  # the retweeted original is not the account's tweet


def test_v2_pages_note_tweet_and_referenced_tweets(tmp_path):
    long = "word " * 80
    page1 = {"data": [v2(10, long[:279] + "…", note_tweet={"text": long}),
                      v2(11, "RT @bob: hi", referenced_tweets=[{"type": "retweeted", "id": "90"}])],
             "includes": {"tweets": [v2(90, "someone else's tweet")], "users": [{"id": "5"}]},
             "meta": {"result_count": 2, "next_token": "abc"}}
    page2 = {"data": [v2(12, "@bob sure", referenced_tweets=[{"type": "replied_to", "id": "91"}],
                         in_reply_to_user_id="5"),
                      v2(13, "look https://t.co/y", referenced_tweets=[{"type": "quoted", "id": "92"}])],
             "meta": {"result_count": 2}}
    got = rows(write(tmp_path, {"p1.json": json.dumps(page1, indent=2), "p2.json": json.dumps(page2)}))
    assert sorted(got) == [10, 11, 12, 13]  # includes.tweets are not the account's
    assert got[10]["text"] == long
    assert (got[11]["is_retweet"], got[12]["is_reply"], got[13]["is_quote"]) == (True, True, True)
    assert (got[10]["is_retweet"], got[10]["is_reply"], got[10]["is_quote"]) == (False, False, False)
    assert {r["format"] for r in got.values()} == {"v2"}


def test_json_lines_of_tweets_and_of_v2_pages(tmp_path):
    lines_v1 = "\n".join(json.dumps(v1(i, f"tweet number {i}")) for i in range(1, 4)) + "\n"
    pages = [{"data": [v2(10 + i, f"page tweet {i}")], "meta": {"result_count": 1},
              "__twarc": {"version": "2.14.0"}} for i in range(3)]
    lines_v2 = "\n".join(json.dumps(p) for p in pages)  # no final newline
    got = rows(write(tmp_path, {"a.jsonl": lines_v1, "b.jsonl": lines_v2}))
    assert sorted(got) == [1, 2, 3, 10, 11, 12]
    assert got[2]["text"] == "tweet number 2" and got[11]["text"] == "page tweet 1"


@pytest.mark.parametrize("name, part", [("tweets.js", "tweets.part0"), ("tweet.js", "tweet.part0"),
                                        ("tweets-part1.js", "tweets.part1")],
                         ids=["tweets.js", "tweet.js", "tweets-part1.js"])
def test_archive_tweets_js_with_prefix(tmp_path, name, part):
    entries = [{**v1(i, f"archive tweet {i}"), "id": str(i)} for i in range(1, 4)]
    got = rows(write(tmp_path, {name: archive(entries, part)}))
    assert sorted(got) == [1, 2, 3]
    assert {r["format"] for r in got.values()} == {"archive"}
    assert got[3]["source"] == name


def test_old_archive_layout_with_bare_entries(tmp_path):
    body = ", ".join(json.dumps(v1(i, f"old tweet {i}"), indent=2) for i in (1, 2))
    got = rows(write(tmp_path, {"tweet.js": f"window.YTD.tweet.part0 = [ {body} ]"}))
    assert [got[i]["text"] for i in (1, 2)] == ["old tweet 1", "old tweet 2"]


def test_archive_zip_reads_only_tweet_files(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/tweets.js", archive([v1(1), v1(2)]))
        z.writestr("data/tweets-part1.js", archive([v1(3)], "tweets.part1"))
        z.writestr("data/like.js", 'window.YTD.like.part0 = [ {"like": {"tweetId": "7"}} ]')
        z.writestr("Your archive.html", "<html></html>")
    got = rows(write(tmp_path, {"twitter-2024.zip": buf.getvalue()}))
    assert sorted(got) == [1, 2, 3]
    assert got[3]["source"] == "twitter-2024.zip/data/tweets-part1.js"


def test_duplicates_across_files_keep_the_longest_text(tmp_path):
    files = {
        "a.json": json.dumps([v1(1, "short…"), v1(2, "two")]),
        "b.jsonl": json.dumps(v1(1, "short but complete")) + "\n" + json.dumps(v1(2, "two")) + "\n",
        "c/tweets.js": archive([v1(1, "short…"), v1(3, "three")]),
    }
    table, report = ig.ingest(write(tmp_path, files), 64)
    got = {r["id"]: r for r in table.to_pylist()}
    assert table.num_rows == 3 and report.duplicates == 3
    assert got[1]["text"] == "short but complete"
    assert got[2]["source"] == "a.json"  # same text: the first file in path order


def test_created_at_is_utc_and_output_sorted(tmp_path):
    tweets = [v1(5, created_at="Thu Jan 01 01:00:00 +0200 2015"),  # 2014-12-31 23:00 UTC
              v1(3, created_at="Wed Dec 31 23:00:00 +0000 2014"),
              v1(4, created_at="Wed Dec 31 23:00:00 +0000 2014")]
    pages = {"data": [v2(2, created_at="2014-12-31T22:59:59.250Z")]}
    table, _ = ig.ingest(write(tmp_path, {"a.json": json.dumps(tweets), "b.json": json.dumps(pages)}), 64)
    assert str(table.schema.field("created_at").type) == "timestamp[ms, tz=UTC]"
    assert table.column("id").to_pylist() == [2, 3, 4, 5]  # by time, then id
    when = table.column("created_at").to_pylist()
    assert when[3] == datetime(2014, 12, 31, 23, 0, tzinfo=timezone.utc)
    assert when[0] == datetime(2014, 12, 31, 22, 59, 59, 250000, tzinfo=timezone.utc)


def test_ids_above_2_to_the_53_are_exact(tmp_path):
    no_id_str = {k: v for k, v in v1(BIG + 2).items() if k != "id_str"}  # numeric id only
    files = {"a.json": json.dumps([v1(BIG)]), "b.jsonl": json.dumps(no_id_str) + "\n",
             "c.json": json.dumps({"data": [v2(BIG + 4)]}), "tweets.js": archive([v1(BIG + 6)])}
    table, _ = ig.ingest(write(tmp_path, files), 64)
    assert str(table.schema.field("id").type) == "int64"
    assert sorted(table.column("id").to_pylist()) == [BIG, BIG + 2, BIG + 4, BIG + 6]
    out = tmp_path / "t.parquet"
    pq.write_table(table, out)
    assert sorted(pq.read_table(out).column("id").to_pylist()) == [BIG, BIG + 2, BIG + 4, BIG + 6]


def test_written_in_batches_equals_the_table(tmp_path):
    files = {"a.json": json.dumps([v1(i, f"tweet {i}", created_at=f"Wed Oct 10 20:{i % 60:02d}:24 +0000 2018")
                                   for i in range(1, 40)]),
             "b.jsonl": "".join(json.dumps(v1(i, f"dup {i} longer")) + "\n" for i in range(30, 45))}
    write(tmp_path / "raw", files)
    table, _ = ig.ingest(tmp_path / "raw", 64)
    rows, order, report = ig.collect(tmp_path / "raw", 64)
    ig.write(rows, order, tmp_path / "t.parquet", batch=7)
    written = pq.read_table(tmp_path / "t.parquet")
    assert written.equals(table) and written.num_rows == report.tweets == 44
    assert pq.ParquetFile(tmp_path / "t.parquet").metadata.num_row_groups == 7


def test_format_comes_from_content_not_name(tmp_path):
    files = {"lines.json": json.dumps(v1(1)) + "\n" + json.dumps(v1(2)) + "\n",
             "array.txt": json.dumps([v1(3)]), "notes": archive([v1(4)]),
             "pretty.dat": json.dumps(v1(5), indent=4) + "\n" + json.dumps(v1(6), indent=1)}
    got = rows(write(tmp_path, files))
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    assert got[4]["format"] == "archive" and got[3]["format"] == "v1.1"


def test_tweets_without_text_are_counted_not_fatal(tmp_path, capsys):
    no_text = {k: v for k, v in v1(2).items() if k != "full_text"}
    table, report = ig.ingest(write(tmp_path, {"a.json": json.dumps([v1(1), no_text, no_text | {"id_str": "3"}])}), 64)
    assert table.column("id").to_pylist() == [1]
    assert report.no_text == {"a.json": 2}
    err = capsys.readouterr().err
    assert "a.json" in err and "2 tweet(s) have no text" in err


def test_hidden_readme_and_non_tweet_archive_files_are_skipped(tmp_path):
    # like.js away from an archive tree (no data/ folder, no manifest, no html): skipped by
    # its window.YTD.like name; tests/test_real_inputs.py has whole archive trees
    files = {"a.json": json.dumps([v1(1)]), ".DS_Store": b"\x00\x00\x00\x01Bud1\x00",
             "README.md": "# my tweets", ".git/config": "[core]",
             "copied/like.js": 'window.YTD.like.part0 = [ {"like": {"tweetId": "7"}} ]'}
    table, report = ig.ingest(write(tmp_path, files), 64)
    assert table.column("id").to_pylist() == [1]
    assert sorted(report.skipped) == [".DS_Store", "README.md", "copied/like.js"]
    assert report.files == ["a.json"] and report.archive_files == 0


# ---------------------------------------------------------------- the fast path is the exact path


HOSTILE = ['}, {', '\n}, {\n', '"quoted"', 'back\\slash\\', '\\"', '{[(<>)]}', '],[', 'emoji 😀 é',
           '\u2028 line sep', 'tab\there', '&amp;amp;', 'ends with backslash \\\\', '\\\\\\"']


def layouts(tweets: list[dict]) -> dict[str, str]:
    """The same tweets in every layout tweetlm reads."""
    return {
        "compact.json": json.dumps(tweets),
        "pretty.json": json.dumps(tweets, indent=2),
        "tweets.js": archive(tweets),
        "tweet.js": "window.YTD.tweet.part0 = [ " + ", ".join(json.dumps(t, indent=2) for t in tweets) + " ]",
        "lines.jsonl": "".join(json.dumps(t) + "\n" for t in tweets),
        "pretty.jsonl": "\n".join(json.dumps(t, indent=2) for t in tweets),
        "glued.jsonl": "".join(json.dumps(t) for t in tweets),
        "pages.jsonl": "".join(json.dumps({"data": [{**v2(t["id"], t["full_text"])}]}) + "\n" for t in tweets),
    }


def read_each(folder: Path) -> dict[str, dict[int, str]]:
    sources = ig.find_sources(folder, 64).sources
    with ThreadPoolExecutor(2) as pool:
        return {s.name: dict(zip(map(int, t.column("id").to_pylist()), t.column("text").to_pylist()))
                for s in sources for t in [ig.read_source(s, pool)[0]]}


@pytest.mark.parametrize("chunk", [7, 64, 1 << 20])
def test_every_layout_reads_hostile_text_exactly(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(read, "CHUNK", chunk)  # tiny chunks: every boundary case happens
    used = []  # sources read by the exact scanner
    real_read = read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: (exact and used.append(s.name))
                        or real_read(s, pool, exact))
    tweets = [v1(1000 + i, f"{h} x {h}") for i, h in enumerate(HOSTILE)]
    want = {t["id"]: t["full_text"] for t in tweets}
    for name, got in read_each(write(tmp_path, layouts(tweets))).items():
        assert got == want, name
    assert used == ["pretty.jsonl"]  # only records spanning lines need the exact scan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(st.characters(blacklist_categories=["Cs"]), max_size=40), min_size=1,
                      max_size=8),
       chunk=st.sampled_from([5, 13, 64, 4096]))
def test_any_text_survives_any_layout(tmp_path_factory, monkeypatch, texts, chunk):
    monkeypatch.setattr(read, "CHUNK", chunk)
    folder = tmp_path_factory.mktemp("raw")
    tweets = [v1(BIG + i, t) for i, t in enumerate(texts)]
    want = {t["id"]: t["full_text"] for t in tweets}
    for name, got in read_each(write(folder, layouts(tweets))).items():
        assert got == want, name


def test_fast_and_exact_paths_agree_on_the_sample(tmp_path, monkeypatch):
    from tweetlm.sample import write_sample

    write_sample(tmp_path, 400, seed=3)
    fast, _ = ig.ingest(tmp_path, 64)
    fallbacks = []
    real_read = read._read

    def exact_only(source, pool, exact):
        fallbacks.append(source.name)
        return real_read(source, pool, exact=True)

    monkeypatch.setattr(read, "_read", exact_only)
    exact, _ = ig.ingest(tmp_path, 64)
    assert fallbacks and fast.equals(exact)


@pytest.mark.parametrize("name, content", [
    ("search.json", json.dumps({"statuses": [v1(i, f"found tweet {i}") for i in range(1, 300)],
                                "search_metadata": {"count": 299, "max_id": 299}})),
    ("singles.jsonl", "".join(json.dumps({"data": v2(i, f"single tweet {i}")}) + "\n"
                              for i in range(1, 300))),
    ("twarc2.jsonl", "".join(json.dumps({"data": [v2(i, f"paged tweet {i}")], "meta": {},
                                         "__twarc": {"version": "2.14.0"}}) + "\n"
                             for i in range(1, 300))),
], ids=["v1-search-response", "v2-single-tweet-lines", "twarc2-pages"])
def test_envelopes_take_the_fast_path(tmp_path, monkeypatch, name, content):
    monkeypatch.setattr(read, "CHUNK", 1 << 12)
    modes, real_read = [], read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: modes.append(exact)
                        or real_read(s, pool, exact))
    got = rows(write(tmp_path, {name: content}))
    assert sorted(got) == list(range(1, 300)) and modes == [False]


def test_mixed_envelopes_in_one_file_are_read_the_exact_way(tmp_path):
    lines = [{"data": v2(1, "a single tweet")}, {"data": [v2(2, "a page of one")]},
             {"statuses": [v1(3, "a search result")]}, v1(4, "a bare v1.1 tweet"),
             {"errors": [{"title": "Not Found Error", "value": "5"}]}]
    got = rows(write(tmp_path, {"mixed.jsonl": "".join(json.dumps(x) + "\n" for x in lines)}))
    assert sorted(got) == [1, 2, 3, 4]
    assert [got[i]["format"] for i in (1, 2, 3, 4)] == ["v2", "v2", "v1.1", "v1.1"]


def test_archive_and_json_lines_take_the_fast_path(tmp_path, monkeypatch):
    """Only the first bytes of an archive go through the exact scanner (the speed depends on it)."""
    monkeypatch.setattr(read, "CHUNK", 1 << 16)
    write(tmp_path, {"tweets.js": archive([v1(i, "some text " * i) for i in range(1, 400)]),
                     "lines.jsonl": "".join(json.dumps(v1(i)) + "\n" for i in range(400, 900))})
    scanned, modes = [], []
    feed, real_read = scan.ExactScanner.feed, read._read
    monkeypatch.setattr(scan.ExactScanner, "feed",
                        lambda self, chunk: scanned.append(len(chunk)) or feed(self, chunk))
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: modes.append(exact) or real_read(s, pool, exact))
    assert len(rows(tmp_path)) == 899
    assert modes == [False, False]  # no fallback
    assert sum(scanned) <= 1 << 18  # the probe for the archive's separator


# ---------------------------------------------------------------- bad input, through the CLI


@pytest.fixture
def workspace(tmp_path):
    """A project folder with params.yaml for handle `alice` and an earlier ingest output."""
    params = shipped_raw()
    params["handles"] = ["alice"]
    params["ingest"]["max_archive_mb"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data/raw/alice").mkdir(parents=True)
    table, _ = ig.ingest(write(tmp_path / "earlier", {"a.json": json.dumps([v1(1)])}), 64)
    (tmp_path / "data/interim/alice").mkdir(parents=True)
    pq.write_table(table, tmp_path / layout.interim("alice"))
    return tmp_path


def run_cli(cwd: Path, check: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([str(Path(os.sys.executable).parent / "tweetlm"), "ingest", "alice"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def assert_refused(cwd: Path, *in_message: str) -> str:
    out = cwd / layout.interim("alice")
    before = out.read_bytes()
    proc = run_cli(cwd)
    err = proc.stderr
    assert proc.returncode != 0
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("tweetlm: error: ")
    for text in in_message:
        assert text in err, err
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["tweets.parquet"]  # no temporaries left
    return err


def raw(ws: Path, files: dict) -> None:
    write(ws / "data/raw/alice", files)


GOOD = json.dumps([v1(1), v1(2)], indent=2)


@pytest.mark.parametrize("name, data, where", [
    ("broken.json", GOOD.replace('"lang": "en",', '"lang": "en"', 1), "broken.json:8:"),
    ("broken.jsonl", json.dumps(v1(1)) + "\n" + '{"id_str": "2", "full_text": "x"\n', "broken.jsonl:"),
    ("truncated.js", archive([v1(1), v1(2)])[:-40], "truncated"),
    ("junk.json", GOOD + "\n]", "junk.json:"),
    ("comma.json", GOOD.replace("}\n]", "},\n]"), "comma.json:"),
    ("noseparator.json", "[" + json.dumps(v1(1)) + " " + json.dumps(v1(2)) + "]", "noseparator.json:1:"),
], ids=["missing-comma", "jsonl-unclosed-object", "archive-truncated", "junk-after-array",
        "trailing-comma", "no-separator"])
def test_malformed_or_truncated_json(workspace, name, data, where):
    raw(workspace, {name: data})
    assert_refused(workspace, where)


@pytest.mark.parametrize("data", ['{"foo": 1}', "[]", "[1, 2]", '{"meta": {"result_count": 0}}',
                                  json.dumps([{"created_at": V1_DATE, "name": "a user"}])],
                         ids=["object-without-id", "empty-array", "numbers", "empty-v2-page",
                              "users-not-tweets"])
def test_json_that_holds_no_tweets(workspace, data):
    raw(workspace, {"notes.json": data})
    assert_refused(workspace, "notes.json")


def test_non_utf8_bytes(workspace):
    raw(workspace, {"latin1.json": json.dumps([v1(1, "caf\u00e9")], ensure_ascii=False).encode("latin-1")})
    err = assert_refused(workspace, "latin1.json:1:", "not UTF-8")
    assert "0xe9" in err


def test_utf16_file(workspace):
    raw(workspace, {"utf16.json": json.dumps([v1(1)]).encode("utf-16")})
    assert_refused(workspace, "utf16.json", "UTF-16")


def test_empty_or_missing_raw_folder(workspace):
    assert_refused(workspace, "data/raw/alice", "no tweet files")
    (workspace / "data/raw/alice").rmdir()
    assert_refused(workspace, "data/raw/alice", "not found")


def test_empty_file(workspace):
    raw(workspace, {"empty.json": ""})
    assert_refused(workspace, "empty.json", "empty")


def test_unsupported_file(workspace):
    raw(workspace, {"a.json": GOOD, "people.csv": "name,age\nbob,3\n"})
    assert_refused(workspace, "people.csv", "a CSV without tweet columns (its header has 'name', "
                   "'age'): ingest needs an id column")
    (workspace / "data/raw/alice/people.csv").unlink()
    raw(workspace, {"notes.txt": "just some notes\nand more"})
    assert_refused(workspace, "notes.txt:1:1", "not tweet JSON")


@pytest.mark.parametrize("text", ['[tool.black]\nline-length = 99\n', "[section]\nkey=value\n",
                                  "[ settings ]\nname = x\n"], ids=["toml", "ini", "ini-blanks"])
def test_toml_or_ini_saved_as_json_is_not_json(workspace, text):
    raw(workspace, {"config.json": text})
    err = assert_refused(workspace, "config.json:1:1", "not JSON: a TOML or INI file")
    assert "second JSON value" not in err


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@pytest.mark.parametrize("member", ["../../evil.js", "/etc/tweets.js", "data/../../tweets.js",
                                    "C:/tweets.js", "..\\tweets.js"],
                         ids=["parent", "absolute", "parent-inside", "drive-letter", "backslash"])
def test_zip_slip(workspace, member):
    raw(workspace, {"archive.zip": zip_bytes({"data/tweets.js": archive([v1(1)]).encode(),
                                              member: b"x"})})
    assert_refused(workspace, "archive.zip", "outside the archive")


def test_zip_bomb(workspace):
    bomb = b"window.YTD.tweets.part0 = [" + b" " * (3 << 20) + b"]"  # 3 MiB of blanks: ~3 KiB zipped
    data = zip_bytes({"data/tweets.js": bomb})
    assert len(data) < 20_000
    raw(workspace, {"archive.zip": data})
    assert_refused(workspace, "archive.zip", "max_archive_mb=1")


def test_zip_with_lying_declared_size(workspace):
    data = bytearray(zip_bytes({"data/tweets.js": b"window.YTD.tweets.part0 = [" + b" " * (3 << 20) + b"]"}))
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, 1000)  # says 1000 bytes
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 1000)
    raw(workspace, {"archive.zip": bytes(data)})
    assert_refused(workspace, "archive.zip/data/tweets.js")


def test_zip_without_tweets(workspace):
    raw(workspace, {"photos.zip": zip_bytes({"a.jpg": b"\xff\xd8\xff"})})
    assert_refused(workspace, "photos.zip", "no data/tweets.js")


def test_streaming_count_stops_a_member_that_expands_past_the_limit(tmp_path, monkeypatch):
    """Declared sizes are checked first; the bytes actually read are counted too."""
    write(tmp_path, {"a.zip": zip_bytes({"data/tweets.js": archive([v1(1)] * 50).encode()})})
    sources = ig.find_sources(tmp_path, 64).sources
    sources[0].limit = 1000  # as if the declared size had passed
    with pytest.raises(TweetlmError, match=r"a.zip/data/tweets.js: expands past"):
        list(sources[0].chunks(read.CHUNK))


def test_summary_line_and_output(workspace):
    raw(workspace, {"a.json": GOOD, "b.jsonl": json.dumps(v1(2)) + "\n"})
    proc = run_cli(workspace, check=True)
    assert proc.stdout.strip() == ("ingest alice: 2 tweets from 2 file(s) (1 duplicates) -> "
                                   "data/interim/alice/tweets.parquet")
    table = pq.read_table(workspace / layout.interim("alice"))
    assert table.schema.equals(ig.SCHEMA, check_metadata=False)
    assert table.column("id").to_pylist() == [1, 2]


@pytest.mark.parametrize("content", [
    b'{\n  "id_str": "12213343673081",\n  "full_text": "pretty printed"\n}\n\nnull',
    b"null\n",
    b'{"id_str": "1", "full_text": "a b c"}\nnull\nnull\n',
], ids=["pretty-object-then-null", "only-null", "object-then-nulls"])
def test_top_level_null_records_never_reach_pyarrow(tmp_path, content):
    # pyarrow 26's JSON reader segfaults on a segment whose records are only `null`
    # (found by tests/test_fuzz.py); run in a subprocess so a crash fails this test.
    (tmp_path / "tweets.jsonl").write_bytes(content)
    code = ("import sys, tweetlm.ingest as ig\n"
            "from tweetlm.core.errors import TweetlmError\n"
            "try:\n    ig.ingest(sys.argv[1], 64)\n"
            "except TweetlmError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]  # no segfault
    message = proc.stdout.strip()
    assert message.startswith(f"{tmp_path}/tweets.jsonl") and "\n" not in message  # one line


# ---------------------------------------------------------------- links, big ids, zip members


def test_a_link_out_of_the_raw_folder_is_refused_unread(workspace, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    raw(workspace, {"a.json": GOOD})
    (workspace / "data/raw/alice/linked.json").symlink_to(secret)
    err = assert_refused(workspace, "data/raw/alice/linked.json: a link to something outside "
                         "data/raw/alice/: refusing to read through it")
    assert "root:x" not in err
    (workspace / "data/raw/alice/linked.json").unlink()
    (workspace / "data/raw/alice/folder").symlink_to(secret.parent, target_is_directory=True)
    assert_refused(workspace, "data/raw/alice/folder: a link to something outside")


def test_links_inside_the_raw_folder_or_to_dvcs_cache_are_read(workspace):
    raw(workspace, {"sub/a.json": GOOD})
    (workspace / "data/raw/alice/again.json").symlink_to("sub/a.json")
    (workspace / "data/raw/alice/subdir").symlink_to("sub", target_is_directory=True)
    cached = workspace / ".dvc/cache/files/md5/ab/cdef"
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps([v1(3)]))
    (workspace / "data/raw/alice/cached.json").symlink_to(cached)
    proc = run_cli(workspace, check=True)
    assert "3 tweets from 3 file(s) (2 duplicates" in proc.stdout


def test_an_id_past_int64_is_too_large_not_a_non_digit(workspace):
    raw(workspace, {"big.json": json.dumps([{**v1(1), "id_str": "99999999999999999999999"}])})
    assert_refused(workspace, "tweet 99999999999999999999999: id '99999999999999999999999' is "
                   "too large for a tweet id")


def test_a_damaged_zip_member_is_named_with_its_folder(workspace):
    data = bytearray(zip_bytes({"data/tweets.js": archive([v1(i) for i in range(50)]).encode()}))
    start = data.find(b"PK\x03\x04") + 30 + len("data/tweets.js")
    data[start + 10:start + 40] = b"\x00" * 30  # the deflated bytes, not the headers
    raw(workspace, {"twitter-archive.zip": bytes(data)})
    assert_refused(workspace, "tweetlm: error: data/raw/alice/twitter-archive.zip/data/tweets.js: ")


def test_a_record_of_a_known_shape_without_an_id_is_skipped_not_a_crash(tmp_path):
    """Found by tests/test_fuzz.py: a v2 single-tweet response whose `data` has no id."""
    lines = [{"data": v2(1, "a tweet with its id")}, {"data": {"text": "no id here"}}]
    write(tmp_path, {"a.jsonl": "".join(json.dumps(x) + "\n" for x in lines),
                     "b.json": json.dumps({"data": {"text": "no id either"}})})
    with pytest.raises(TweetlmError, match=r"b.json: holds no tweets"):
        ig.ingest(tmp_path, 64)
    (tmp_path / "b.json").unlink()
    table, report = ig.ingest(tmp_path, 64)
    assert table.column("id").to_pylist() == [1] and report.not_tweets == {"a.jsonl": 1}
