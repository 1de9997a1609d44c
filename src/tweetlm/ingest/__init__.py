"""Raw tweet files -> one table of unique tweets: data/interim/<handle>/tweets.parquet.

Input: every file under data/raw/<handle>/ (subfolders too), format told by content,
never by name:

- Twitter API v1.1 statuses: a JSON array of tweets (`full_text`, or `text` and
  `extended_tweet.full_text`; `retweeted_status` marks a retweet);
- API v2 responses: `{"data": [...], "includes": ..., "meta": ...}` (`note_tweet.text`
  holds long posts, `referenced_tweets` marks retweets, replies and quotes). Only
  `data` is read: `includes.tweets` are other people's tweets;
- JSON Lines: one v1.1 or v2 tweet per line, or one v2 response page per line
  (twarc2). Any whitespace-separated sequence of JSON objects works, pretty-printed too;
- the account archive from Twitter/X: `tweets.js` / `tweet.js` /
  `tweets-part1.js` ... (`window.YTD.tweets.part0 = [{"tweet": {...}}, ...]`), and the
  archive .zip itself, whose tweet files are streamed without unpacking anything.

Skipped: hidden files and folders (`.DS_Store`, `.git`), `__MACOSX`, `Thumbs.db`,
`desktop.ini`, files named README* or LICENSE*, and archive files that hold other
data (like.js, account.js ...); the summary line names them. Any other file
that is not one of the formats above is an error: it is better to say so than to
train on a folder that silently lost half its tweets.

Output columns (`SCHEMA`), one row per tweet id, sorted by created_at then id:

    id          int64, the tweet id (ids exceed 2**53: parsed from the id string, never a float)
    created_at  timestamp[ms, UTC] (v1.1/archive 'Wed Oct 10 20:19:24 +0000 2018', v2 ISO 8601)
    text        the full text as the source gives it (HTML entities and links untouched):
                note_tweet.text > extended_tweet.full_text > full_text > text
    is_retweet  a retweet by structure: v1.1 `retweeted_status`, v2 `referenced_tweets`
                type retweeted. Archives have no such field: the filter's `RT @` rule
                catches their retweets
    is_reply    v1.1 in_reply_to_status_id_str / in_reply_to_user_id_str, v2
                referenced_tweets replied_to / in_reply_to_user_id
    is_quote    v1.1 is_quote_status / quoted_status_id_str, v2 referenced_tweets quoted
    lang        the language code the source gives, or null
    source      the raw file the row came from, relative to data/raw/<handle>/
                ('archive.zip/data/tweets.js' for a zip member)
    format      'v1.1', 'v2' or 'archive'

A tweet id found in several files or pages is kept once: the copy with the longest
text (a full text beats a truncated one), then the first file in path order. Tweets
with no text at all are dropped, counted and reported on stderr, per file.

How it is fast: no tweet becomes a Python object. A file streams through in 16 MiB
chunks; each chunk is cut into a segment of whole records that pyarrow's JSON reader
parses natively into just the fields above, on worker threads (one segment per
core) while the main thread reads and cuts the next chunk. Cutting costs next to
nothing:

- JSON Lines: at the chunk's last newline.
- an array (an archive's tweets.js, a v1.1 download): at the chunk's last element
  separator, whose exact bytes the file's first two elements show (e.g.
  '\\n  },\\n  {\\n    "tweet" :'), searched from the end; the elements before it are
  wrapped as '{"d":[...]}' and read as one list. A cut in the wrong place can only
  give invalid JSON, which pyarrow rejects.

Whatever a fast path cannot vouch for (pyarrow rejects a segment, the record shape
changes, bytes are not UTF-8) sends the file through `Splitter`: a vectorised
(numpy) scan of the JSON structure -- quotes, escapes, brackets, commas -- that
finds every record boundary exactly; pyarrow then parses those segments, and a
segment it still rejects is read record by record with orjson, which either handles
it (mixed shapes) or names the file, line and column of the problem. Memory stays
at a few segments in flight plus the output columns, whatever the file size.

Bad input stops the stage with one line naming the file and the place (line:column,
or the tweet id) and what to do, and leaves the previous tweets.parquet as it was:
malformed or truncated JSON, JSON without tweets, bytes that are not UTF-8, an empty
or missing folder, an unsupported file, a .zip with members named outside it
('../', absolute) or whose tweet files would expand past `ingest.max_archive_mb`
(checked on the declared sizes first, then on the bytes actually read).
"""

from __future__ import annotations

import json
import lzma
import os
import re
import sys
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params

SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("created_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("is_retweet", pa.bool_(), nullable=False),
    pa.field("is_reply", pa.bool_(), nullable=False),
    pa.field("is_quote", pa.bool_(), nullable=False),
    pa.field("lang", pa.string()),
    pa.field("source", pa.string(), nullable=False),
    pa.field("format", pa.string(), nullable=False),
])

CHUNK = 16 << 20  # bytes scanned at once; also the unit of parallel parsing
WORKERS = max(2, min(os.cpu_count() or 2, 8))  # segments parsed at once (pyarrow's reader is
# serial for multi-line records, so parallelism comes from parsing several segments)
SKIP_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
SKIP_PREFIXES = ("readme", "license", "licence")
YTD_RE = re.compile(rb"\s*window\.YTD\.([A-Za-z0-9_]+)\.part\d+\s*=\s*")
TWEET_YTD = {b"tweets", b"tweet"}
ZIP_TWEETS_RE = re.compile(r"(?:^|/)tweets?(?:-part\d+)?\.js$")
WHITESPACE = b" \t\r\n"

# Fields read per record shape; pyarrow skips the rest (unexpected_field_behavior=ignore).
_S = pa.string()
V1_FIELDS = [
    ("id_str", _S), ("created_at", _S), ("full_text", _S), ("text", _S),
    ("extended_tweet", pa.struct([("full_text", _S)])),
    ("retweeted_status", pa.struct([("id_str", _S)])),
    ("is_quote_status", pa.bool_()), ("quoted_status_id_str", _S),
    ("in_reply_to_status_id_str", _S), ("in_reply_to_user_id_str", _S), ("lang", _S),
]
V2_FIELDS = [
    ("id", _S), ("created_at", _S), ("text", _S), ("note_tweet", pa.struct([("text", _S)])),
    ("referenced_tweets", pa.list_(pa.struct([("type", _S)]))),
    ("in_reply_to_user_id", _S), ("lang", _S),
]
SHAPES = {  # record shape -> what pyarrow reads for it
    "v1": pa.schema(V1_FIELDS),
    "wrapped": pa.schema([("tweet", pa.struct(V1_FIELDS))]),
    "v2": pa.schema(V2_FIELDS),
    "page": pa.schema([("data", pa.list_(pa.struct(V2_FIELDS)))]),
}
# Intermediate rows, before ids and dates are parsed.
ROWS = pa.schema([
    ("id", _S), ("created_at", _S), ("text", _S), ("is_retweet", pa.bool_()),
    ("is_reply", pa.bool_()), ("is_quote", pa.bool_()), ("lang", _S), ("v2", pa.bool_()),
])


@dataclass
class Report:
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: int = 0  # tweets read, duplicates included
    no_text: dict[str, int] = field(default_factory=dict)  # file -> tweets without text
    duplicates: int = 0
    tweets: int = 0  # rows written


# ---------------------------------------------------------------- finding the files


@dataclass
class Source:
    """One raw input: a file, or a member of an archive .zip."""

    name: str  # shown in messages and the `source` column
    path: Path
    member: str | None = None  # zip member name
    limit: int | None = None  # max bytes to expand (zip members)

    @contextmanager
    def open(self):
        if self.member is None:
            with open(self.path, "rb") as f:
                yield f
        else:
            with zipfile.ZipFile(self.path) as z, z.open(self.member) as f:
                yield f


def _skip(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low in SKIP_NAMES or low.startswith(SKIP_PREFIXES)


def find_sources(raw_dir: Path, max_archive_mb: int, report: Report) -> list[Source]:
    """The files under `raw_dir` to read, in path order, zips opened into their tweet files."""
    if not raw_dir.is_dir():
        what = "is not a folder" if raw_dir.exists() else "not found"
        raise TweetlmError(f"{_show(raw_dir)}: {what}: put the account's tweet files there "
                           "(API JSON, JSON Lines, or the Twitter/X archive .zip or tweets.js)")
    paths = []
    for folder, dirs, files in os.walk(raw_dir):
        dirs[:] = sorted(d for d in dirs if not _skip(d))
        for name in sorted(files):
            path = Path(folder) / name
            if _skip(name):
                report.skipped.append(path.relative_to(raw_dir).as_posix())
            else:
                paths.append(path)
    paths.sort(key=lambda p: p.relative_to(raw_dir).parts)
    sources = []
    for path in paths:
        rel = path.relative_to(raw_dir).as_posix()
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise TweetlmError(f"{_show(path)}: cannot read: {e.strerror}")
        if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
            sources += _zip_sources(path, rel, max_archive_mb)
        else:
            sources.append(Source(rel, path))
    if not sources:
        raise TweetlmError(f"{_show(raw_dir)}: holds no tweet files: put the account's API JSON, "
                           "JSON Lines or Twitter/X archive (.zip or tweets.js) there")
    return sources


def _zip_sources(path: Path, rel: str, max_archive_mb: int) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise TweetlmError(f"{_show(path)}: not a readable zip ({e}): download the archive again")
    for info in infos:
        name = info.filename.replace("\\", "/")
        if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in PurePosixPath(name).parts:
            raise TweetlmError(f"{_show(path)}: member {name!r} points outside the archive: "
                               "refusing it; use the archive as downloaded from Twitter/X")
    members = [i for i in infos if not i.is_dir() and ZIP_TWEETS_RE.search(i.filename)]
    if not members:
        raise TweetlmError(f"{_show(path)}: no data/tweets.js in this zip: is it the "
                           "Twitter/X archive? Otherwise unzip it into the folder")
    limit = max_archive_mb << 20
    declared = sum(i.file_size for i in members)
    if declared > limit:
        raise TweetlmError(f"{_show(path)}: tweet files expand to {declared >> 20} MiB, past "
                           f"ingest.max_archive_mb={max_archive_mb}: raise it if the archive is genuine")
    return [Source(f"{rel}/{i.filename}", path, i.filename, limit) for i in members]


# ---------------------------------------------------------------- scanning JSON bytes

_DELTA = np.zeros(256, np.int8)
_DELTA[ord("{")] = _DELTA[ord("[")] = 1
_DELTA[ord("}")] = _DELTA[ord("]")] = -1
_BLANK = np.frombuffer(WHITESPACE + b";", np.uint8)


@dataclass
class Segment:
    """Whole records of one source, ready for pyarrow.

    From `Splitter`: one JSON value per line, each byte at its place in the file, which
    starts at byte `start`. From the fast splitters: JSON Lines as they are, or an
    array's elements wrapped as '{"d":[...]}'; `start` is -1 (their errors are found by
    reading the file again with `Splitter`).
    """

    start: int
    data: bytes
    elements: int | None  # array elements it holds, one per line (None: not counted)
    block: int  # pyarrow block size that fits its longest line
    empty_ok: bool = False  # the last segment of an empty array `[ ]`
    fast: bool = False  # from a fast splitter: on any doubt, read the source exactly
    wrapped: bool = False  # '{"d":[' elements ']}', from ArraySplitter


class Splitter:
    """Rewrites JSON text, chunk by chunk, into newline-delimited records for pyarrow.

    The text is one top-level array of records (mode "array": a v1.1 download or an
    archive's tweets.js) or a sequence of values (mode "lines": JSON Lines,
    concatenated or pretty-printed objects). Every output byte sits where its input
    byte was, so an offset in a segment is an offset in the file. Outside strings,
    the array's separating commas become newlines (one element per line), other
    newlines inside records (and all of them in array mode) become blanks, and so do
    the array's own brackets and whatever precedes the JSON (BOM, `window.YTD... =`).
    """

    def __init__(self, source: Source, mode: str, start: int):
        self.source, self.mode = source, mode
        self.start = start  # offset of the first JSON byte ('[' in array mode)
        self.pos = 0  # offset of the next chunk
        self.in_string = 0
        self.backslashes = 0  # length of the backslash run that ended the previous chunk
        self.depth = 0
        self.closed = False  # array mode: the closing ']' was seen
        self.commas = 0  # array mode: elements separated so far
        self.last_break = 0  # offset of the last newline in the output
        self.longest = 0  # longest output line so far
        self.tail = b""  # rewritten bytes after the last record boundary
        self.tail_start = 0

    def feed(self, chunk: bytes) -> Segment | None:
        """Scan one chunk; returns the records completed so far, if any."""
        base, self.pos = self.pos, self.pos + len(chunk)
        buf = np.frombuffer(chunk, np.uint8)
        if self.closed:
            self._check_blank(buf, base)
            return None
        out = buf.copy()
        if base < self.start:
            out[: self.start - base] = 32
        pos, ch = self._structure(buf)
        delta = _DELTA[ch]
        depth = np.cumsum(delta, dtype=np.int64) + self.depth
        before = depth - delta
        if depth.size:
            if depth.min() < 0:
                i = int(np.argmax(depth < 0))
                self._fail(base + int(pos[i]), f"unexpected {chr(ch[i])!r}: brackets do not match; "
                           "fix or download the file again")
            self.depth = int(depth[-1])
        newline = ch == 10
        if self.mode == "array":
            out[pos[newline]] = 32
            out[pos[(before == 0) & (delta == 1)]] = 32  # the opening '['
            close = np.flatnonzero((depth == 0) & (delta == -1))
            if close.size:
                i = int(close[0])
                if ch[i] != ord("]"):
                    self._fail(base + int(pos[i]), "the array closes with '}': brackets do not match")
                out[pos[i]] = 32
                after = pos[i + 1:][~newline[i + 1:]]
                if after.size:
                    self._fail(base + int(after[0]), "a second JSON value after the array: a file "
                               "holds one array, or one JSON object per line")
                self._check_blank(buf[pos[i] + 1:], base + int(pos[i]) + 1)
                self.closed = True
            breaks = pos[(ch == 44) & (before == 1)]
            out[breaks] = 10
            self.commas += breaks.size
        else:
            out[pos[newline & (before >= 1)]] = 32
            breaks = pos[newline & (before == 0)]
            stops = pos[(depth == 0) & (delta == -1)]
        if breaks.size:
            lines = np.diff(breaks, prepend=self.last_break - base)
            self.longest = max(self.longest, int(lines.max()))
            self.last_break = base + int(breaks[-1])
        # Cut after the last complete record; the rest waits for the next chunk.
        if self.closed:
            cut = len(chunk)
        elif self.mode == "array":
            cut = int(breaks[-1]) + 1 if breaks.size else 0
        else:
            cut = int(stops[-1]) + 1 if stops.size else 0
        if not cut:
            self.tail += out.tobytes()
            return None
        data = self.tail + out[:cut].tobytes()
        start = self.tail_start
        self.tail, self.tail_start = out[cut:].tobytes(), base + cut
        elements = None
        if self.mode == "array":  # one per comma, and the last one after the last comma
            elements = breaks.size + (1 if self.closed else 0)
        return Segment(start, data, elements, self._block(base + cut),
                       empty_ok=self.closed and self.commas == 0)

    def finish(self) -> Segment | None:
        """The records left at the end of the text; raises if it ends inside one."""
        if self.in_string:
            self._fail(self.pos, "the file ends inside a string: it is truncated; download it again")
        if self.depth > 0 or (self.mode == "array" and not self.closed):
            self._fail(self.pos, f"the file ends with {max(self.depth, 1)} bracket(s) still open: "
                       "it is truncated; download it again")
        data, self.tail = self.tail, b""
        if not data.strip(WHITESPACE):
            return None
        return Segment(self.tail_start, data, None, self._block(self.pos))

    def _block(self, end: int) -> int:
        return max(1 << 20, self.longest + 2, end - self.last_break + 2)

    def _structure(self, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets and bytes of brackets, commas and newlines outside strings."""
        mask = buf == 34
        mask |= buf == 44
        mask |= buf == 10
        folded = buf & 0xDF  # '[' and '{' fold to 0x5B, ']' and '}' to 0x5D
        mask |= folded == 0x5B
        mask |= folded == 0x5D
        pos = np.flatnonzero(mask)
        ch = buf[pos]
        quote = ch == 34
        real = quote.copy()  # quotes that open or close strings
        escaped = self._escaped(buf, pos[quote])
        if escaped.size:
            real[np.flatnonzero(quote)[escaped]] = False
        quotes = np.cumsum(real, dtype=np.int64) + self.in_string
        if quotes.size:
            self.in_string = int(quotes[-1]) & 1
        keep = ~quote & ((quotes & 1) == 0)
        return pos[keep], ch[keep]

    def _escaped(self, buf: np.ndarray, quotes: np.ndarray) -> np.ndarray:
        """Indices into `quotes` of those escaped by an odd run of backslashes."""
        carry = self.backslashes
        bs = np.flatnonzero(buf == 92)
        # A run of backslashes: its start (index into bs) for every backslash.
        first = np.ones(bs.size, bool)
        first[1:] = np.diff(bs) != 1
        run_start = np.maximum.accumulate(np.where(first, np.arange(bs.size), 0))
        if bs.size and bs[-1] == buf.size - 1:  # a run reaches the chunk's end
            s = int(bs[run_start[-1]])
            self.backslashes = buf.size - s + (carry if s == 0 else 0)
        else:
            self.backslashes = 0
        if not quotes.size or (not bs.size and not carry):
            return np.empty(0, np.int64)
        prev = np.zeros(quotes.size, bool)
        inner = quotes > 0
        prev[inner] = buf[quotes[inner] - 1] == 92
        prev[~inner] = carry > 0
        cand = np.flatnonzero(prev)
        if not cand.size:
            return cand
        p = quotes[cand]
        length = np.full(p.size, carry, np.int64)  # a quote at offset 0: only the carried run
        mid = p > 0
        end = np.searchsorted(bs, p[mid] - 1)
        s = run_start[end]
        length[mid] = end - s + 1 + np.where(bs[s] == 0, carry, 0)
        return cand[(length & 1) == 1]

    def _check_blank(self, buf: np.ndarray, base: int) -> None:
        junk = np.flatnonzero(~np.isin(buf, _BLANK))
        if junk.size:
            self._fail(base + int(junk[0]), "unexpected data after the array: a file holds "
                       "one array, or one JSON object per line")

    def _fail(self, offset: int, problem: str):
        raise TweetlmError(f"{_where(self.source, offset)}: {problem}")


class _Fallback(Exception):
    """A fast splitter met something it cannot vouch for: read the source exactly."""


class LinesSplitter:
    """JSON Lines as they come: each segment ends at the last newline of its chunk.

    Records that span lines, lines longer than a block, or anything else pyarrow rejects
    send the source to `Splitter`.
    """

    def __init__(self, source: Source, mode: str, start: int):
        self.skip = start  # BOM and leading blanks
        self.pos = 0
        self.tail = b""

    def feed(self, chunk) -> Segment | None:
        buf = self._join(chunk)
        cut = _rfind(buf, b"\n") + 1
        if not cut:
            self.tail = _keep(buf)
            return None
        self.tail = buf[cut:].tobytes()
        return Segment(-1, buf[:cut], None, LINES_BLOCK, fast=True)

    def finish(self) -> Segment | None:
        if not self.tail.strip(WHITESPACE):
            return None
        return Segment(-1, self.tail, None, max(LINES_BLOCK, len(self.tail) + 1), fast=True)

    def _join(self, chunk) -> np.ndarray:
        base, self.pos = self.pos, self.pos + len(chunk)
        chunk = memoryview(chunk)[max(self.skip - base, 0):]
        buf = np.empty(len(self.tail) + len(chunk), np.uint8)
        buf[:len(self.tail)] = np.frombuffer(self.tail, np.uint8)
        buf[len(self.tail):] = np.frombuffer(chunk, np.uint8)
        return buf


LINES_BLOCK = 4 << 20  # pyarrow block for JSON Lines: longer lines go the exact way
WRAP = b'{"d":['  # a fast array segment is read as one record holding a list


class ArraySplitter:
    """A JSON array of objects (an archive's tweets.js, a v1.1 download), fast.

    The first two elements show how this file separates elements, e.g. '\\n  },\\n  {\\n
    "tweet" :' in an archive or '},{"created_at":' in compact v1.1. Each chunk is cut at
    the last such separator (found from the end: a few bytes are searched, not the
    chunk) and the elements before it are wrapped as '{"d":[...]}': one JSON record
    holding a list, which pyarrow parses as it is, commas and all.

    A cut is only right between two elements; a cut inside an element makes both
    segments invalid JSON (an object's text never holds a shorter complete object
    before its own end, and a cut inside a string leaves it unterminated), so pyarrow
    rejects them and the source is read again by `Splitter`. Junk after the array or a
    truncated end goes the same way, and `Splitter` names the place.
    """

    def __init__(self, source: Source, separator: tuple[bytes, int, int], start: int):
        self.sep, self.end_at, self.next_at = separator  # the bytes; where '}' and '{' are
        self.skip = start + 1  # everything up to and including the '['
        self.pos = 0
        self.tail = b""

    @staticmethod
    def separator(source: Source, head: bytes, start: int) -> tuple[bytes, int, int] | None:
        """From the '}' ending the first element (and the blanks before it, back to a newline)
        to the first key of the second: its bytes and the offsets of '}' and '{' in it."""
        probe = Splitter(source, "array", start)
        try:
            seg = probe.feed(head)
        except TweetlmError:
            return None
        if seg is None or not probe.commas:
            return None
        comma = seg.start + bytes(seg.data).index(b"\n")  # Splitter turned it into a newline
        end = len(head[:comma].rstrip(WHITESPACE)) - 1
        begin = len(head) - len(head[comma + 1:].lstrip(WHITESPACE))
        if end < 0 or head[end:end + 1] != b"}" or head[begin:begin + 1] != b"{":
            return None
        key = re.match(rb'\{\s*"(?:[^"\\]|\\.){1,64}"\s*:', head[begin:begin + 256])
        line = head.rfind(b"\n", 0, end)
        first = line if line >= 0 and not head[line + 1:end].strip(b" \t\r") else end
        stop = begin + (key.end() if key else 1)
        return head[first:stop], end - first, begin - first

    def feed(self, chunk) -> Segment | None:
        base, self.pos = self.pos, self.pos + len(chunk)
        chunk = memoryview(chunk)[max(self.skip - base, 0):]
        buf = np.empty(len(WRAP) + len(self.tail) + len(chunk) + 2, np.uint8)
        head = len(WRAP) + len(self.tail)
        buf[:len(WRAP)] = np.frombuffer(WRAP, np.uint8)
        buf[len(WRAP):head] = np.frombuffer(self.tail, np.uint8)
        buf[head:-2] = np.frombuffer(chunk, np.uint8)
        at = _rfind(buf[:-2], self.sep, start=len(WRAP))
        if at < 0:
            self.tail = _keep(buf[len(WRAP):-2])
            return None
        self.tail = buf[at + self.next_at:-2].tobytes()
        end = at + self.end_at + 1  # just after the element's '}'
        buf[end:end + 2] = np.frombuffer(b"]}", np.uint8)
        return Segment(-1, buf[:end + 2], None, end + 3, fast=True, wrapped=True)

    def finish(self) -> Segment | None:
        body = self.tail.rstrip(WHITESPACE + b";")
        if not body.endswith(b"]"):
            raise _Fallback  # truncated, or junk after the array: Splitter says where
        data = WRAP + body[:-1] + b"]}"
        return Segment(-1, data, None, len(data) + 1, fast=True, wrapped=True)


def _rfind(buf: np.ndarray, needle: bytes, start: int = 0) -> int:
    """The last offset of `needle` in `buf` at or after `start`, or -1; searches from the
    end in growing windows, so a match near the end costs next to nothing."""
    window = 1 << 16
    while True:
        lo = max(start, buf.size - window)
        at = buf[lo:].tobytes().rfind(needle)
        if at >= 0:
            return lo + at
        if lo == start:
            return -1
        window *= 8


def _keep(buf: np.ndarray) -> bytes:
    """Bytes to carry into the next chunk: no record boundary yet. A fast splitter that
    finds none in several chunks is looking for the wrong thing: read exactly instead."""
    if buf.size > max(4 * CHUNK, 64 << 20):
        raise _Fallback
    return buf.tobytes()


# ---------------------------------------------------------------- reading one source


def _chunks(source: Source):
    """The source's bytes, CHUNK at a time, as views of one reused buffer: use each at once.

    Reusing the buffer matters: fresh memory costs page faults, here as much as the scan.
    """
    buffer = bytearray(CHUNK)
    try:
        with source.open() as f:
            total = 0
            while True:
                n = f.readinto(buffer)
                if not n:
                    return
                data = memoryview(buffer)[:n]
                total += n
                if source.limit is not None and total > source.limit:
                    raise TweetlmError(
                        f"{_show(source.name)}: expands past ingest.max_archive_mb="
                        f"{source.limit >> 20} MiB (its declared size says less: a damaged or "
                        "hostile zip); raise the limit only if the archive is genuine")
                yield data
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError) as e:  # corrupt data
        raise TweetlmError(f"{_show(source.name)}: damaged zip member ({e}): download the archive again")
    except (RuntimeError, NotImplementedError) as e:  # encrypted, unsupported compression
        raise TweetlmError(f"{_show(source.name)}: cannot unpack ({e}): unzip the archive and put "
                           "data/tweets.js in the folder instead")
    except OSError as e:
        raise TweetlmError(f"{_show(source.name)}: cannot read: {e.strerror or e}")


def _sniff(source: Source, head: bytes) -> tuple[str | None, int, bool]:
    """(mode, bytes to blank before the JSON, is archive) from the first chunk; mode None: skip."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]:
        raise TweetlmError(f"{_show(source.name)}: is UTF-16 or binary, not UTF-8 JSON: "
                           "save it as UTF-8 or remove it from the folder")
    skip = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    m = YTD_RE.match(head, skip)
    archive = False
    if m:
        if m.group(1) not in TWEET_YTD:
            return None, 0, True
        skip, archive = m.end(), True
    elif head[skip:skip + 6] == b"window" or head[skip:skip + 3] == b"var":
        raise TweetlmError(f"{_show(source.name)}: a JavaScript file that is not an archive's "
                           "tweets.js: remove it from the folder")
    body = head[skip:].lstrip(WHITESPACE)
    first = body[:1]
    skip = len(head) - len(body)
    if first == b"[":
        return "array", skip, archive
    if first == b"{" and not archive:
        return "lines", skip, archive
    if not body:
        raise TweetlmError(f"{_show(source.name)}: is empty: remove it or download it again")
    shown = body[:20].decode("utf-8", "replace")
    raise TweetlmError(f"{_where(source, skip)}: not tweet JSON (starts with {shown!r}): "
                       "expected API JSON, JSON Lines or an archive's tweets.js; remove it from the folder")


def read_source(source: Source, pool: ThreadPoolExecutor) -> tuple[pa.Table | None, bool, int]:
    """One source's tweets (ROWS, with int64 ids and UTC dates), whether it is an archive
    file, and how many of its tweets had no text (left out). (None, True, 0) for an archive
    file that holds something else (likes, account ...)."""
    try:
        try:
            return _read(source, pool, exact=False)
        except _Fallback:
            return _read(source, pool, exact=True)
    except RecursionError:  # json's decoder and _records recurse: a nesting bomb
        raise TweetlmError(f"{_show(source.name)}: JSON nested too deeply to be tweets (a "
                           "damaged or hostile file): remove it from the folder") from None


def _read(source: Source, pool: ThreadPoolExecutor, exact: bool) -> tuple[pa.Table | None, bool, int]:
    chunks = _chunks(source)
    first = b""
    for chunk in chunks:  # enough to tell the format
        first += chunk
        if len(first) >= 1 << 16:
            break
    mode, start, archive = _sniff(source, first[:1 << 16])
    if mode is None:
        return None, True, 0
    if exact:
        splitter = Splitter(source, mode, start)
    elif mode == "lines":
        splitter = LinesSplitter(source, mode, start)
    else:
        sep = ArraySplitter.separator(source, first[:1 << 18], start) or \
            ArraySplitter.separator(source, first, start)
        splitter = ArraySplitter(source, sep, start) if sep else Splitter(source, mode, start)
    shape: list = []  # decided from the first record
    pending, tables = [], []

    def submit(seg: Segment | None):
        if seg is None:
            return
        if not shape:
            shape.append(_shape_of(seg))
        pending.append(pool.submit(_segment_rows, seg, shape[0], source))
        while len(pending) > WORKERS:  # parse segments while the next one is scanned
            tables.append(pending.pop(0).result())

    try:
        submit(splitter.feed(first))
        for chunk in chunks:
            submit(splitter.feed(chunk))
        submit(splitter.finish())
        while pending:
            tables.append(pending.pop(0).result())
    finally:
        for f in pending:
            f.cancel()
        chunks.close()
    no_text = sum(n for _, n in tables)
    tables = [t for t, _ in tables if t.num_rows]
    if not tables:
        raise TweetlmError(f"{_show(source.name)}: holds no tweets (no record with an id and "
                           "a text): is it the right file?")
    return pa.concat_tables(tables), archive, no_text


def _shape_of(seg: Segment) -> str | None:
    """The record shape ("v1", "wrapped", "v2", "page") of the segment's first record."""
    decoder = json.JSONDecoder()
    skip = len(WRAP) if seg.wrapped else 0
    for size in (1 << 16, 1 << 20, len(seg.data)):
        text = bytes(seg.data[skip:size]).decode("utf-8", "replace").lstrip()
        try:
            return _kind(decoder.raw_decode(text)[0])
        except ValueError:
            if size >= len(seg.data):
                return None  # the slow path will say what is wrong
    return None


def _kind(rec) -> str | None:
    if not isinstance(rec, dict):
        return None
    if isinstance(rec.get("tweet"), dict):
        return "wrapped"
    if "id" not in rec and "id_str" not in rec and (rec.keys() & {"data", "meta", "includes", "errors"}):
        return "page"
    if "id_str" in rec or isinstance(rec.get("id"), int):
        return "v1"
    if isinstance(rec.get("id"), str):
        return "v2"
    return None


def _segment_rows(seg: Segment, shape: str | None, source: Source) -> tuple[pa.Table, int]:
    """The segment's tweets with int64 ids and UTC dates, and how many had no text."""
    rows = _parse_segment(seg, shape, source)
    no_text = rows.column("text").null_count
    if no_text:
        rows = rows.filter(pc.is_valid(rows.column("text")))
    ids, dates = _parse_ids(rows, source), _parse_dates(rows, source)
    return rows.set_column(0, "id", ids).set_column(1, "created_at", dates), no_text


def _parse_segment(seg: Segment, shape: str | None, source: Source) -> pa.Table:
    if not _utf8(seg):
        if seg.fast:
            raise _Fallback  # Splitter's segments know their place in the file
        data = bytes(seg.data)
        err = UnicodeDecodeError("utf-8", b"", 0, 1, "")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            err = e
        raise TweetlmError(f"{_where(source, seg.start + err.start)}: not UTF-8 (byte "
                           f"0x{data[err.start]:02x}): save the file as UTF-8")
    # pyarrow 26 segfaults on JSON whose first record is not an object (e.g. `null`, found
    # by tests/test_fuzz.py): such segments go the exact way.
    starts_with_object = bytes(seg.data[:1 << 12]).lstrip(WHITESPACE)[:1] == b"{"
    if shape is not None and starts_with_object:
        schema = SHAPES[shape]
        if seg.wrapped:
            schema = pa.schema([("d", pa.list_(pa.struct(list(schema))))])
        try:
            table = pj.read_json(
                pa.BufferReader(pa.py_buffer(seg.data)),
                # One block per segment: pyarrow 26 segfaults on a block that starts with a
                # top-level `null` record after an object (found by tests/test_fuzz.py).
                read_options=pj.ReadOptions(block_size=max(seg.block, len(seg.data) + 1),
                                            use_threads=False),
                parse_options=pj.ParseOptions(explicit_schema=schema,
                                              unexpected_field_behavior="ignore"),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            table = None  # a syntax error or an unexpected type: let the slow path tell
        if table is not None and seg.wrapped:
            table = pa.Table.from_struct_array(pc.list_flatten(table.column("d").combine_chunks()))
        if table is not None and (seg.elements is None or table.num_rows == seg.elements):
            rows = _rows_fast(table, shape)
            if rows is not None:
                return rows
    if seg.fast:
        raise _Fallback
    return _rows_slow(seg, source)


def _utf8(seg: Segment) -> bool:
    """Whether the segment is valid UTF-8 (Arrow's validator: GB/s)."""
    offsets = pa.py_buffer(np.array([0, len(seg.data)], np.int32).tobytes())
    try:
        pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(seg.data)]).validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


# ---------------------------------------------------------------- records -> rows


def _rows_fast(table: pa.Table, shape: str) -> pa.Table | None:
    """Rows from pyarrow's columns; None if some record lacks an id (let the slow path look)."""
    if shape == "wrapped":
        t = table.column("tweet").combine_chunks()
        col = lambda name: pc.struct_field(t, name)  # noqa: E731
    elif shape == "page":
        t = pc.list_flatten(table.column("data").combine_chunks())
        col = lambda name: pc.struct_field(t, name)  # noqa: E731
    else:
        col = lambda name: table.column(name).combine_chunks()  # noqa: E731
    if shape == "page" or shape == "v2":
        ids = col("id")
        text = pc.coalesce(pc.struct_field(col("note_tweet"), "text"), col("text"))
        refs = col("referenced_tweets")
        kinds = pc.struct_field(pc.list_flatten(refs), "type")
        parents = pc.list_parent_indices(refs).to_numpy()
        n = len(ids)

        def has(kind):
            hits = pc.fill_null(pc.equal(kinds, kind), False).to_numpy(zero_copy_only=False)
            return pa.array(np.bincount(parents[hits], minlength=n) > 0)

        retweet, quote = has("retweeted"), has("quoted")
        reply = pc.or_(has("replied_to"), pc.is_valid(col("in_reply_to_user_id")))
        v2 = True
    else:
        ids = col("id_str")
        text = pc.coalesce(pc.struct_field(col("extended_tweet"), "full_text"),
                           col("full_text"), col("text"))
        retweet = pc.is_valid(col("retweeted_status"))
        reply = pc.or_(pc.is_valid(col("in_reply_to_status_id_str")),
                       pc.is_valid(col("in_reply_to_user_id_str")))
        quote = pc.or_(pc.fill_null(col("is_quote_status"), False),
                       pc.is_valid(col("quoted_status_id_str")))
        v2 = False
    if ids.null_count:
        return None
    n = len(ids)
    return pa.table([ids, col("created_at"), text, retweet, reply, quote, col("lang"),
                     pa.array(np.full(n, v2))],
                    schema=ROWS)


def _rows_slow(seg: Segment, source: Source) -> pa.Table:
    """Rows from each record parsed on its own; names the file and place of what is wrong."""
    rows = []
    offset = seg.start
    array = seg.elements is not None
    for line in bytes(seg.data).split(b"\n"):
        start, offset = offset, offset + len(line) + 1
        if seg.empty_ok and not line.strip(WHITESPACE):
            continue  # `[ ]`
        for value, at in _values(line, start, source, one=array):
            try:
                rows.extend(_records(value))
            except _NotTweet as e:
                raise TweetlmError(f"{_where(source, at)}: {e}") from None
    rows = [dict(zip(ROWS.names, r)) for r in rows]
    try:
        return pa.Table.from_pylist(rows, schema=ROWS)
    except UnicodeEncodeError:  # a lone surrogate escape ("\ud83d": an emoji cut in half)
        fix = lambda v: re.sub("[\ud800-\udfff]", "\ufffd", v) if isinstance(v, str) else v  # noqa: E731
        return pa.Table.from_pylist([{k: fix(v) for k, v in r.items()} for r in rows], schema=ROWS)


def _values(line: bytes, start: int, source: Source, one: bool):
    """The JSON values in one line with their file offsets."""
    stripped = line.strip(WHITESPACE)
    if not stripped:
        if one:
            raise TweetlmError(f"{_where(source, start)}: an empty array element (a stray ','): "
                               "fix or download the file again")
        return
    try:
        yield orjson.loads(stripped), start + line.index(stripped[:1])
        return
    except orjson.JSONDecodeError:
        pass
    text = line.decode("utf-8")
    decoder, i = json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return
        at = start + len(text[:i].encode())
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            where = start + len(text[: e.pos].encode())
            raise TweetlmError(f"{_where(source, where)}: invalid JSON ({e.msg}): "
                               "the file is damaged or truncated; fix or download it again") from None
        if one and text[end:].strip(" \t\r\n"):
            where = start + len(text[:end].encode())
            raise TweetlmError(f"{_where(source, where)}: invalid JSON (expected ',' or ']' "
                               "after an array element): fix or download the file again")
        yield value, at
        i = end


class _NotTweet(Exception):
    """A JSON value that is not a tweet, or a tweet field of the wrong type."""


NOT_TWEETS = ": expected tweets (API v1.1/v2 JSON, JSON Lines or an archive's tweets.js)"


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _records(value) -> list[tuple]:
    """ROWS tuples from one JSON value: a tweet, an archive entry, a v2 page, or a list of them."""
    if isinstance(value, list):
        return [r for v in value for r in _records(v)]
    kind = _kind(value)
    if kind == "wrapped":
        value, kind = value["tweet"], "v1"
    if kind == "page":
        data = value.get("data")
        data = [data] if isinstance(data, dict) else data or []
        if not isinstance(data, list):
            raise _NotTweet(f"'data' is {_json_type(data)}, not a list of tweets: fix the file")
        return [_v2(t) for t in data]
    if kind == "v2":
        return [_v2(value)]
    if kind == "v1":
        return [_v1(value)]
    raise _NotTweet(("a record with no tweet id" if isinstance(value, dict)
                     else f"{_json_type(value)} where a tweet belongs") + NOT_TWEETS)


def _get(obj, *keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _str(obj, *keys):
    value = _get(obj, *keys)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and keys[-1].startswith("id"):
        return str(value)
    raise _NotTweet(f"'{'.'.join(keys)}' is {_json_type(value)}, not a string: fix the file")


def _coalesce(*values):
    return next((v for v in values if v is not None), None)


def _v1(t: dict) -> tuple:
    tid = _str(t, "id_str")
    if tid is None:
        tid = _str(t, "id")
    if tid is None:
        raise _NotTweet("a record with no tweet id" + NOT_TWEETS)
    text = _coalesce(_str(t, "extended_tweet", "full_text"), _str(t, "full_text"), _str(t, "text"))
    reply = _str(t, "in_reply_to_status_id_str") is not None or _str(t, "in_reply_to_user_id_str") is not None
    quote = t.get("is_quote_status") is True or _str(t, "quoted_status_id_str") is not None
    return (tid, _str(t, "created_at"), text, t.get("retweeted_status") is not None, reply,
            quote, _str(t, "lang"), False)


def _v2(t) -> tuple:
    if not isinstance(t, dict) or _str(t, "id") is None:
        raise _NotTweet("a v2 'data' entry with no tweet id" + NOT_TWEETS)
    refs = t.get("referenced_tweets") or []
    kinds = {r.get("type") for r in refs if isinstance(r, dict)} if isinstance(refs, list) else set()
    text = _coalesce(_str(t, "note_tweet", "text"), _str(t, "text"))
    reply = "replied_to" in kinds or _str(t, "in_reply_to_user_id") is not None
    return (_str(t, "id"), _str(t, "created_at"), text, "retweeted" in kinds, reply,
            "quoted" in kinds, _str(t, "lang"), True)


# ---------------------------------------------------------------- the whole folder


def read_raw(sources: list[Source], report: Report) -> pa.Table | None:
    """All sources' tweets with int64 ids, UTC dates, `format` and `source`; tweets without
    text left out. None if every source was a non-tweet archive file."""
    tables = []
    with ThreadPoolExecutor(WORKERS) as pool:
        for source in sources:
            rows, archive, no_text = read_source(source, pool)
            if rows is None:
                report.skipped.append(source.name)
                continue
            report.files.append(source.name)
            report.rows += rows.num_rows
            if no_text:
                report.no_text[source.name] = no_text
                print(f"tweetlm: warning: {_show(source.name)}: {no_text} tweet(s) have no text; "
                      "skipped", file=sys.stderr)
            n = rows.num_rows
            fmt = pc.if_else(rows.column("v2"), "v2", "archive" if archive else "v1.1")
            rows = rows.drop_columns(["v2"]).append_column("format", fmt)
            rows = rows.append_column("source", pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array([source.name])))
            tables.append(rows)
    return pa.concat_tables(tables, promote_options="permissive") if tables else None


def ingest(raw_dir: Path | str, max_archive_mb: int) -> tuple[pa.Table, Report]:
    """Read every raw file under `raw_dir` into one SCHEMA table of unique tweets."""
    rows, order, report = collect(raw_dir, max_archive_mb)
    return _ordered(rows, order), report


def collect(raw_dir: Path | str, max_archive_mb: int) -> tuple[pa.Table, pa.Array, Report]:
    """All tweets read, and the row order of the output: duplicates out, by created_at and id."""
    report = Report()
    sources = find_sources(Path(raw_dir), max_archive_mb, report)
    rows = read_raw(sources, report)
    if rows is None:
        raise TweetlmError(f"{_show(raw_dir)}: holds no tweet files, only "
                           f"{', '.join(map(_show, report.skipped))}: add the account's tweets")
    ids = rows.column("id").combine_chunks()
    # Duplicates: keep the longest text, then the first file in path order.
    order = pc.sort_indices(
        pa.table({"id": ids, "len": pc.binary_length(rows.column("text")),
                  "row": np.arange(rows.num_rows)}),
        sort_keys=[("id", "ascending"), ("len", "descending"), ("row", "ascending")],
    ).to_numpy()
    sorted_ids = ids.to_numpy()[order]
    first = np.ones(order.size, bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    chosen = pa.array(order[first])
    report.duplicates = int(order.size - len(chosen))
    report.tweets = len(chosen)
    final = pc.sort_indices(
        pa.table({"created_at": rows.column("created_at").take(chosen), "id": ids.take(chosen)}),
        sort_keys=[("created_at", "ascending"), ("id", "ascending")],
    )
    return rows, chosen.take(final), report


def _ordered(rows: pa.Table, order: pa.Array) -> pa.Table:
    return rows.take(order).select(SCHEMA.names).cast(SCHEMA)


def write(rows: pa.Table, order: pa.Array, path: Path, batch: int = 1 << 17) -> None:
    """The output as Parquet, `batch` rows at a time: never a second copy of all the rows."""
    with pq.ParquetWriter(path, SCHEMA) as writer:  # snappy: the filter reads it fastest
        for i in range(0, max(len(order), 1), batch):
            writer.write_table(_ordered(rows, order[i:i + batch]), row_group_size=batch)


def _parse_ids(rows: pa.Table, source: Source) -> pa.Array:
    ids = rows.column("id").combine_chunks()
    try:
        parsed = ids.cast(pa.int64())  # strict: digits and an optional '-' only
        if not len(parsed) or pc.min(parsed).as_py() >= 0:
            return parsed
    except pa.ArrowInvalid:
        pass
    bad = pc.invert(pc.match_substring_regex(ids, r"^[0-9]{1,19}$"))
    if pc.any(bad).as_py():
        _fail_row(rows, source, bad, "id", "is not a tweet id (digits)")
    _fail_row(rows, source, pc.greater(ids, "9223372036854775807"), "id", "is too large for a tweet id")


MONTHS_B = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec")
DAYS_B = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")


def _parse_dates(rows: pa.Table, source: Source) -> pa.Array:
    """created_at as UTC: v1.1/archive 'Wed Oct 10 20:19:24 +0000 2018', or ISO 8601 (v2)."""
    raw = rows.column("created_at").combine_chunks()
    if raw.null_count:
        _fail_row(rows, source, pc.is_null(raw), "created_at", "is missing: download with created_at "
                  "(API v2: tweet.fields=created_at)", show_value=False)
    utc = pa.timestamp("ms", tz="UTC")
    ms, ok = _v1_dates(raw)
    dates = pa.array(ms, pa.int64(), mask=~ok).cast(utc)
    if ok.all():
        return dates
    rest = pa.array(~ok)
    others = pc.filter(raw, rest)
    parsed = pc.strptime(others, format="%a %b %d %H:%M:%S %z %Y", unit="ms", error_is_null=True)
    iso = pc.is_null(parsed)
    if pc.any(iso).as_py():
        try:
            parsed = pc.replace_with_mask(parsed, iso, pc.filter(others, iso).cast(utc))
        except pa.ArrowInvalid:
            parsed = None
    if parsed is None or parsed.null_count:
        for i in np.flatnonzero(~ok):
            value = raw[int(i):int(i) + 1]
            try:
                if pc.strptime(value, format="%a %b %d %H:%M:%S %z %Y", unit="ms",
                               error_is_null=True).null_count:
                    value.cast(utc)
            except pa.ArrowInvalid:
                bad = np.zeros(len(raw), bool)
                bad[i] = True
                _fail_row(rows, source, pa.array(bad), "created_at", "is not a date like "
                          "'Wed Oct 10 20:19:24 +0000 2018' or '2018-10-10T20:19:24.000Z'")
        raise AssertionError("unreachable: some date failed to parse")
    return pc.replace_with_mask(dates, rest, parsed)


def _v1_dates(raw: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds since 1970 of 'Wed Oct 10 20:19:24 +0000 2018' dates, vectorised, and
    which rows had one (the others, e.g. v2's ISO dates, are left to Arrow)."""
    n = len(raw)
    ms, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    _, offsets, data = raw.buffers()
    if not n or data is None:
        return ms, ok
    offsets = np.frombuffer(offsets, np.int32)[raw.offset:raw.offset + n + 1]
    data = np.frombuffer(data, np.uint8)
    if (np.diff(offsets) == 30).all():  # the format's fixed width: a zero-copy 2-D view
        rows = np.arange(n)
        b = data[offsets[0]:offsets[-1]].reshape(n, 30)
    else:
        rows = np.flatnonzero(np.diff(offsets) == 30)
        b = data[offsets[rows, None] + np.arange(30)]

    def num(a, z):
        v = b[:, a].astype(np.int64) - 48
        for k in range(a + 1, z):
            v = v * 10 + b[:, k] - 48
        return v

    def name(a, names):
        key = b[:, a].astype(np.int32) << 16 | b[:, a + 1].astype(np.int32) << 8 | b[:, a + 2]
        index = np.full(len(b), -1)
        for i, word in enumerate(names):
            index[key == (word[0] << 16 | word[1] << 8 | word[2])] = i
        return index

    digits = np.r_[8:10, 11:13, 14:16, 17:19, 21:25, 26:30]
    good = ((b[:, digits] - 48) < 10).all(axis=1)  # uint8: below '0' wraps around
    for at, char in ((3, " "), (7, " "), (10, " "), (13, ":"), (16, ":"), (19, " "), (25, " ")):
        good &= b[:, at] == ord(char)
    sign = b[:, 20]
    good &= (sign == ord("+")) | (sign == ord("-"))
    month = name(4, MONTHS_B)
    good &= (name(0, DAYS_B) >= 0) & (month >= 0)
    year, day, hour, minute, sec = num(26, 30), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
    good &= (year >= 1970) & (day >= 1) & (hour < 24) & (minute < 60) & (sec < 61)
    start = ((year - 1970) * 12 + np.maximum(month, 0)).astype("datetime64[M]").astype("datetime64[D]")
    end = ((year - 1970) * 12 + np.maximum(month, 0) + 1).astype("datetime64[M]").astype("datetime64[D]")
    good &= day <= (end - start).astype(np.int64)
    offset = (num(21, 23) * 60 + num(23, 25)) * np.where(sign == ord("-"), -1, 1)
    days = start.astype(np.int64) + day - 1
    value = (days * 86400 + hour * 3600 + minute * 60 + sec - offset * 60) * 1000
    ms[rows[good]] = value[good]
    ok[rows[good]] = True
    return ms, ok


def _fail_row(rows: pa.Table, source: Source, bad, column: str, problem: str, show_value=True):
    i = int(np.argmax(pc.fill_null(bad, False).to_numpy(zero_copy_only=False)))
    row = rows.slice(i, 1).to_pylist()[0]
    value = f" {row[column]!r}" if show_value else ""
    raise TweetlmError(f"{_show(source.name)}: tweet {row['id']}: {column}{value} {problem}")


# ---------------------------------------------------------------- messages


def _show(name) -> str:
    """A path for a one-line message: control characters escaped."""
    text = str(name)
    return text if text.isprintable() else ascii(text)[1:-1]


def _where(source: Source, offset: int) -> str:
    """'file:line:column' of a byte offset (reads the file again: errors only)."""
    line, last_newline, seen = 1, -1, 0
    try:
        with source.open() as f:
            while seen < offset:
                data = f.read(min(CHUNK, offset - seen))
                if not data:
                    break
                newlines = data.count(b"\n")
                if newlines:
                    line += newlines
                    last_newline = seen + data.rindex(b"\n")
                seen += len(data)
    except Exception:  # the place is a courtesy: never hide the real error behind it
        return f"{_show(source.name)}: byte {offset}"
    return f"{_show(source.name)}:{line}:{offset - last_newline}"


# ---------------------------------------------------------------- the stage


def main(handle: str, params: Params) -> None:
    raw_dir = Path("data/raw") / handle
    out = Path("data/interim") / handle / "tweets.parquet"
    rows, order, report = collect(raw_dir, params.ingest.max_archive_mb)
    with atomic_path(out) as tmp:
        write(rows, order, tmp)
    notes = [f"{report.duplicates} duplicates"]
    if report.no_text:
        notes.append(f"{sum(report.no_text.values())} without text")
    if report.skipped:
        notes.append(f"skipped {len(report.skipped)} non-tweet file(s): "
                     + ", ".join(_show(s) for s in report.skipped[:3])
                     + (" ..." if len(report.skipped) > 3 else ""))
    print(f"ingest {handle}: {report.tweets} tweets from {len(report.files)} file(s) "
          f"({'; '.join(notes)}) -> {out}")
