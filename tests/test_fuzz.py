"""Fuzzing the raw-tweet reader: any bytes in data/raw/<handle>/ either parse or end in
TweetlmError, one line naming the file. No other exception, no traceback, ever.

Inputs, per supported format: well-formed files of random tweets, any text included (they
must parse, to exactly those tweets), the same with hostile field values (wrong types, extra
and missing keys), and either of them mutated byte by byte (truncated, spliced, bits
flipped, nesting bombs; zips also damaged inside); plus random bytes. Every example also
draws the read chunk size, so records straddle chunk boundaries. `derandomize=True` and no
example database: CI runs the same inputs every time. The number of inputs per format is
printed at the end of the module. The 1 GB test (slow) checks that ingest's memory stays
bounded.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.big_archive import write_archive
from helpers.params import shipped_raw
from tweetlm import ingest as ig
from tweetlm.core.errors import TweetlmError
from tweetlm.ingest import read as ig_read
from tweetlm.ingest.dates import FIRST_SNOWFLAKE

ROOT = Path(__file__).resolve().parents[1]
TWEETLM = str(Path(sys.executable).parent / "tweetlm")
FUZZ = settings(max_examples=int(os.environ.get("TWEETLM_FUZZ_EXAMPLES", 500)), deadline=None,
                derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTS: Counter = Counter()  # (format, outcome) -> inputs


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    yield
    if not COUNTS:
        return
    formats = sorted({f for f, _ in COUNTS})
    per = ", ".join(f"{f} {sum(n for (g, _), n in COUNTS.items() if g == f)} "
                    f"({COUNTS[f, 'parsed']} parsed)" for f in formats)
    parsed = sum(n for (_, o), n in COUNTS.items() if o == "parsed")
    line = (f"fuzzed {sum(COUNTS.values())} raw inputs ({per}): {parsed} parsed, "
            f"{sum(COUNTS.values()) - parsed} refused with a one-line TweetlmError, 0 other")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():  # shown without -s, like a summary line
        print(f"\n{line}")


# ---------------------------------------------------------------- strategies

TRICKY = ['"', "\\", "\n", "\r", "\t", ",", "[", "]", "{", "}", "\x00", "\x7f", "\u2028",
          "\ufeff", "é", "😀", "&amp;", "<|endoftext|>", "window.YTD", "\\u0000"]
# Text: any character, JSON's structural ones, entities, and lone surrogates: an emoji cut
# in half ("\ud83d"), as old truncated tweets have; a reader keeps the tweet with U+FFFD.
texts = st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]),
                           st.sampled_from(TRICKY)), max_size=20).map("".join)
SURROGATE = re.compile("[\ud800-\udfff]")


def as_read(text: str) -> str:
    """`text` as a JSON reader returns it: escaped surrogate pairs joined, lone ones U+FFFD."""
    return SURROGATE.sub("\ufffd", json.loads(json.dumps(text)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
ids = st.integers(1, 2**63 - 1)
moments = st.datetimes(datetime(2006, 3, 21), datetime(2030, 1, 1)).map(
    lambda d: d.replace(tzinfo=timezone.utc))
REF_TYPES = ["retweeted", "replied_to", "quoted"]


def v1_date(d: datetime) -> str:
    return d.strftime("%a %b %d %H:%M:%S +0000 %Y")


def v2_date(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@st.composite
def v1_tweet(draw, tid: int, archive: bool = False) -> tuple[dict, str]:
    """An API v1.1 status (an archive entry: numbers as strings) and the text ingest keeps."""
    when = draw(moments)
    text = draw(texts)
    t = {"created_at": v1_date(when), "id_str": str(tid),
         "id": str(tid) if archive else tid, "lang": draw(st.sampled_from(["en", "und", "fr"]))}
    field = draw(st.sampled_from(["full_text", "text", "extended"]))
    if field == "extended":
        t["text"] = text[:10] + "…"
        t["extended_tweet"] = {"full_text": text}
    else:
        t[field] = text
    if draw(st.booleans()):
        t["retweeted_status"] = {"id_str": str(draw(ids)), "full_text": draw(texts)}
    if draw(st.booleans()):
        t["in_reply_to_status_id_str"] = str(draw(ids))
    if draw(st.booleans()):
        t["is_quote_status"] = True
    t["entities"] = {"hashtags": [], "user_mentions": [{"screen_name": "bob", "indices": [0, 4]}]}
    return t, as_read(text)


@st.composite
def v2_tweet(draw, tid: int) -> tuple[dict, str]:
    text = draw(texts)
    t = {"id": str(tid), "created_at": v2_date(draw(moments)), "text": text,
         "edit_history_tweet_ids": [str(tid)]}
    if tid >= FIRST_SNOWFLAKE and draw(st.integers(0, 3)) == 0:
        del t["created_at"]  # saved with the default fields: dated by its id
    if draw(st.booleans()):
        t["text"] = text[:10]
        t["note_tweet"] = {"text": text}
    refs = draw(st.lists(st.sampled_from(REF_TYPES), max_size=2))
    if refs:
        t["referenced_tweets"] = [{"type": r, "id": str(draw(ids))} for r in refs]
    return t, as_read(text)


@st.composite
def hostile(draw, record: dict) -> dict:
    """`record` with fields dropped, retyped or added: the reader must say what is wrong."""
    record = dict(record)
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["drop", "retype", "add"]))
        if action == "drop" and record:
            record.pop(draw(st.sampled_from(sorted(record))))
        elif action == "retype" and record:
            record[draw(st.sampled_from(sorted(record)))] = draw(json_values)
        else:
            record[draw(texts)] = draw(json_values)
    return record


@st.composite
def tweets(draw, make, n_max: int = 6) -> tuple[list[dict], dict[int, str], bool]:
    """(records, {id: text} they must parse to, well-formed?)"""
    tids = draw(st.lists(ids, min_size=1, max_size=n_max, unique=True))
    pairs = [draw(make(tid)) for tid in tids]
    records = [r for r, _ in pairs]
    if draw(st.integers(0, 3)) == 0:  # a quarter of the inputs: hostile records
        i = draw(st.integers(0, len(records) - 1))
        records[i] = draw(hostile(records[i]))
        if draw(st.booleans()):
            records.insert(draw(st.integers(0, len(records))), draw(json_values))
        return records, {}, False
    return records, dict(zip(tids, (t for _, t in pairs))), True


def dumps(draw, value, layout: tuple | None = None) -> str:
    """JSON as different tools write it: compact, indented (`layout`: (indent, separators),
    else drawn), ASCII-escaped or not. A lone surrogate has no UTF-8 form: JSON writers
    escape it, so ensure_ascii is then on."""
    indent, separators = layout or (draw(st.sampled_from([None, None, 1, 2, 4, "\t"])),
                                    draw(st.sampled_from([None, (",", ":"), (",", " : ")])))
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)
    if SURROGATE.search(text) or draw(st.booleans()):
        text = json.dumps(value, indent=indent, separators=separators)
    return text


def encode(draw, text: str) -> tuple[bytes, bool]:
    """(bytes, is UTF-8): UTF-8 with or without a BOM, else UTF-16 or Latin-1 (refused)."""
    codec = draw(st.sampled_from(["utf-8"] * 16 + ["utf-8-sig"] * 2 + ["utf-16", "latin-1"]))
    # lone surrogates: JSON escapes with ensure_ascii, else raw (invalid UTF-8, as CESU-8)
    data = text.encode(codec, "surrogatepass" if codec.startswith("utf") else "replace")
    return data, codec in ("utf-8", "utf-8-sig")


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """`data` with 1-4 byte-level edits: truncation, deletion, insertion, bit flips,
    splices of its own bytes, nesting bombs."""
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["truncate", "delete", "insert", "flip", "splice", "nest"]))
        if op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b",", b"]", b"}", b"[", b"{", b'"', b"\\", b"\n", b"\r\n", b"\x00", b"\xff",
                 b"\xed\xa0\xbd"]))  # the last: a surrogate in raw bytes (CESU-8), not UTF-8
        elif op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "nest":  # a nesting bomb, where a value may start: deeper than recursion
            at = draw(st.sampled_from([i + 1 for i, b in enumerate(data) if b in b"[,:"] or [at]))
            depth = draw(st.sampled_from([2, 900, 1100, 5000]))
            opener = draw(st.sampled_from([b"[", b'{"a":']))
            closer = b"]" if opener == b"[" else b"}"
            data[at:at] = opener * depth + b"1" + closer * depth
        elif op == "splice" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[at:at] = data[start:start + draw(st.integers(1, 64))]
    return bytes(data)


@st.composite
def maybe_mutated(draw, data: bytes) -> tuple[bytes, bool]:
    if draw(st.booleans()):
        return data, False
    return draw(mutated(data)), True


# ---------------------------------------------------------------- files of each format


@st.composite
def v1_file(draw):
    records, expect, ok = draw(tweets(v1_tweet))
    body = records
    if draw(st.booleans()):  # a search response (GET search/tweets)
        body = {"statuses": records, "search_metadata": {"count": 15, "max_id": 2**62,
                                                         "query": "from%3Aalice"}}
    data, utf8 = encode(draw, dumps(draw, body))
    return {"statuses.json": data}, expect, ok and utf8


@st.composite
def v2_file(draw):
    records, expect, ok = draw(tweets(v2_tweet))
    one = len(records) == 1 and draw(st.booleans())  # GET /2/tweets/:id: "data" is the tweet
    page = {"data": records[0] if one else records,
            "meta": {"result_count": len(records), "newest_id": "1"}}
    if draw(st.booleans()):  # other people's tweets: never read
        page["includes"] = {"tweets": [draw(v2_tweet(draw(ids)))[0]],
                            "users": [{"id": "12", "username": "bob"}]}
    if draw(st.booleans()):
        page["errors"] = [{"title": "Not Found Error", "detail": "x"}]
    data, utf8 = encode(draw, dumps(draw, page))
    return {"users_tweets.json": data}, expect, ok and utf8


@st.composite
def jsonl_file(draw):
    kind = draw(st.sampled_from(["v1", "v2", "pages"]))
    make = v1_tweet if kind == "v1" else v2_tweet
    records, expect, ok = draw(tweets(make))
    if kind == "pages":  # twarc2: one response page per line
        cut = draw(st.integers(0, len(records)))
        records = [{"data": part, "meta": {"result_count": len(part)},
                    "__twarc": {"url": "https://api.twitter.com/2/users/1/tweets",
                                "version": "2.14.0", "retrieved_at": "2023-04-02T10:11:12+00:00"}}
                   for part in (records[:cut], records[cut:]) if part]
    newline = draw(st.sampled_from(["\n", "\r\n", "\n\n"]))
    end = draw(st.sampled_from(["", "\n"]))
    if draw(st.integers(0, 3)) == 0:  # pretty-printed, concatenated objects also work
        body = newline.join(dumps(draw, r, (2, None)) for r in records)
    else:
        body = newline.join(dumps(draw, r, (None, None)) for r in records)
        if draw(st.integers(0, 3)) == 0:  # a stream killed mid-write: its last line is cut,
            line = dumps(draw, draw(make(draw(ids)))[0], (None, None))  # and dropped
            body += newline + line[:draw(st.integers(1, len(line) - 1))]
            end = ""
    data, utf8 = encode(draw, body + end)
    return {"tweets.jsonl": data}, expect, ok and utf8


def archive_js(draw, records: list, part: str) -> str:
    entries = [{"tweet": r} if isinstance(r, dict) and draw(st.integers(0, 9)) else r
               for r in records]
    body = dumps(draw, entries, (2, (",", " : ")))
    if draw(st.booleans()):  # the older archives' `[ {` layout
        body = body.replace("[\n  {", "[ {", 1)
    return f"window.YTD.{part} = {body}"


PARTS = ["tweets.part0", "tweet.part0", "tweets.part1"]


@st.composite
def archive_file(draw):
    records, expect, ok = draw(tweets(lambda tid: v1_tweet(tid, archive=True)))
    part = draw(st.sampled_from(PARTS))
    data, utf8 = encode(draw, archive_js(draw, records, part))
    return {part.split(".")[0] + ".js": data}, expect, ok and utf8


@st.composite
def zip_file(draw):
    records, expect, ok = draw(tweets(lambda tid: v1_tweet(tid, archive=True)))
    js = archive_js(draw, records, "tweets.part0").encode("utf-8", "surrogatepass")
    js, js_mutated = draw(maybe_mutated(js))
    name = draw(st.sampled_from(["data/tweets.js", "data/tweet.js", "tweets.js"]))
    members = {name: js}
    if name.startswith("data/") and draw(st.booleans()):  # the manifest names the tweet file
        kind = name[5:-3]
        members["data/manifest.js"] = ("window.__THAR_CONFIG = " + json.dumps(
            {"userInfo": {"accountId": "1", "userName": "alice"}, "dataTypes": {
                kind: {"files": [{"fileName": name, "globalName": f"YTD.{kind}.part0",
                                  "count": str(len(records))}]},
                "like": {"files": [{"fileName": "data/like.js", "globalName": "YTD.like.part0",
                                    "count": "1"}]}}}, indent=2)).encode()
    if draw(st.booleans()):  # archive files that hold no tweets: skipped
        members["data/like.js"] = b'window.YTD.like.part0 = [ {"like": {"tweetId": "1"}} ]'
        members["data/account.js"] = b'window.YTD.account.part0 = [ ]'
        members["Your archive.html"] = b"<html></html>"
    buf = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
        info = z.infolist()[0]
    data = bytearray(buf.getvalue())
    # Damage inside the zip's structure (whole-file mutations mostly break its headers):
    # the tweet file's compressed bytes, or the compression method its entry names.
    damage = draw(st.sampled_from([None, None, "flip", "zero", "method"]))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    end = start + info.compress_size
    if damage == "flip" and end > start:
        data[draw(st.integers(start, end - 1))] ^= 1 << draw(st.integers(0, 7))
    elif damage == "zero" and end > start:  # as a disk error or a cut download leaves it
        cut = draw(st.integers(start, end - 1))
        data[cut:end] = bytes(end - cut)
    elif damage == "method":  # deflate data declared as bzip2, LZMA or an unknown method
        central = data.find(b"PK\x01\x02")
        data[central + 10:central + 12] = draw(st.sampled_from([12, 14, 99])).to_bytes(2, "little")
    else:
        damage = None
    ok = ok and not js_mutated and damage is None
    return {"twitter-archive.zip": bytes(data)}, expect if ok else {}, ok


# ---------------------------------------------------------------- the property


def read(files: dict[str, bytes], chunk: int, max_archive_mb: int = 64):
    """ingest() on a folder holding `files`, with CHUNK set to `chunk`."""
    folder = Path(tempfile.mkdtemp(prefix="tweetlm-fuzz-"))
    saved = ig_read.CHUNK
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        ig_read.CHUNK = chunk
        return ig.ingest(folder, max_archive_mb)
    finally:
        ig_read.CHUNK = saved
        shutil.rmtree(folder)


def check(fmt: str, files: dict[str, bytes], expect: dict[int, str], well_formed: bool,
          chunk: int) -> None:
    (name,) = files
    try:
        table, _ = read(files, chunk)
    except TweetlmError as e:
        message = str(e)
        assert "\n" not in message and name in message, message
        assert not well_formed, f"well-formed input refused: {message}"
        COUNTS[fmt, "refused"] += 1
        return
    COUNTS[fmt, "parsed"] += 1
    assert table.schema.equals(ig.SCHEMA, check_metadata=False)
    got = table.column("id").to_pylist()
    assert len(got) == len(set(got))
    created = table.column("created_at")
    assert created.equals(created.take(pa.compute.sort_indices(created)))
    if well_formed:
        assert dict(zip(got, table.column("text").to_pylist())) == expect


chunks = st.sampled_from([ig_read.CHUNK, ig_read.CHUNK, 4096, 97, 7])


LAYOUTS = {  # label -> a strategy drawing (files, expected tweets, well-formed)
    "v1.1": v1_file, "v2": v2_file, "jsonl": jsonl_file, "tweets.js": archive_file,
    "zip": zip_file,  # the zip itself is what gets mutated
}


@pytest.mark.slow
@pytest.mark.parametrize("label", list(LAYOUTS))
@FUZZ
@given(st.data(), chunks)
def test_fuzz_each_layout(label, data, chunk):
    files, expect, ok = data.draw(LAYOUTS[label]())
    files = {k: data.draw(maybe_mutated(v)) for k, v in files.items()}
    mutated_ = any(m for _, m in files.values())
    check(label, {k: v for k, (v, _) in files.items()}, expect, ok and not mutated_, chunk)


@FUZZ
@given(st.binary(max_size=4096) | st.builds(bytes.__add__, st.sampled_from(
    [b"[", b"{", b"PK\x03\x04", b"window.YTD.tweets.part0 = [", b"\xef\xbb\xbf["]),
    st.binary(max_size=512)), chunks)
def test_fuzz_random_bytes(data, chunk):
    check("bytes", {"blob.json": data}, {}, False, chunk)


# ---------------------------------------------------------------- through the CLI

DEEP = b"[" * 100_000 + b"]" * 100_000


def corrupt_deflate() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/tweets.js", b"window.YTD.tweets.part0 = [" + b'{"tweet": {}},' * 500
                   + b"{}]")
    data = bytearray(buf.getvalue())
    start = data.find(b"data/tweets.js") + len("data/tweets.js")
    data[start + 20:start + 40] = b"\xff" * 20  # the deflate stream, not the headers
    return bytes(data)


@pytest.mark.parametrize("name, data", [
    ("nested.json", DEEP),
    ("nested.jsonl", b'{"id": "1", "text": ' + DEEP + b"}\n"),
    ("archive.zip", corrupt_deflate()),
    ("noise.js", bytes(range(256)) * 8),
    ("cut.js", b'window.YTD.tweets.part0 = [ {\n  "tweet" : {\n    "id_str" : "1'),
], ids=["nesting-bomb-array", "nesting-bomb-in-a-record", "corrupt-deflate", "binary-noise",
        "truncated-archive"])
def test_cli_refuses_hostile_files_in_one_line(tmp_path, name, data):
    params = shipped_raw()
    params["handles"] = ["alice"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "data/raw/alice").mkdir(parents=True)
    (tmp_path / "data/raw/alice" / name).write_bytes(data)
    proc = subprocess.run([TWEETLM, "ingest", "alice"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("tweetlm: error: ") and name in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "data/interim").exists()


# ---------------------------------------------------------------- memory on a 1 GB archive

PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)  # Linux: KiB
sys.exit(code)
"""


@pytest.mark.slow
def test_ingest_memory_stays_bounded_on_a_1gb_archive(tmp_path, capsys):
    raw = tmp_path / "data/raw/big"
    raw.mkdir(parents=True)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**shipped_raw(), "handles": ["big"]}))
    try:
        size = write_archive(raw / "tweets.js", 920_000, seed=1)
        assert size >= 1 << 30
        # a wrapper whose only child is `tweetlm ingest`: RUSAGE_CHILDREN is that child's peak
        proc = subprocess.run([sys.executable, "-c", PEAK_RSS, TWEETLM, "ingest", "big"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert proc.returncode == 0, proc.stderr
        summary, peak = proc.stdout.strip().splitlines()
        assert summary.startswith("ingest big: 920000 tweets from 1 file(s)"), summary
        peak = int(peak)
        with capsys.disabled():  # the figure docs/robustness.md quotes
            print(f"\ningest of a {size / 2**30:.2f} GiB tweets.js ({size:,} bytes, 920,000 "
                  f"tweets): peak RSS {peak / 2**20:.0f} MiB")
        assert peak < 1 << 30
    finally:
        shutil.rmtree(raw)  # the 1 GB file, whatever happened
