"""One raw source -> its rows (formats.ROWS, with int64 ids and UTC dates).

The source streams through in CHUNK-byte chunks; its first bytes tell the layout (an
array, or a sequence of JSON values; an archive's `window.YTD...` prefix). A scanner
(scan.py) cuts each chunk into a segment of whole records, which pyarrow's JSON reader
parses natively into just the fields formats.py names, on worker threads, while this
thread reads and cuts the next chunk.

The fast path first: scan.FastLinesScanner / FastArrayScanner. Whatever it cannot vouch
for (pyarrow rejects a segment, the record shape changes, bytes are not UTF-8) raises
scan.Fallback, and the source is read again the exact way: scan.ExactScanner's segments,
parsed by pyarrow, and a segment it still rejects record by record with orjson
(formats.rows_from_json), which either reads it (mixed shapes) or names the file, line
and column of the problem.

JSON Lines whose last line is cut mid-record: the scanners drop that line (scan.py,
`cut_line`) and `Read.cut_line` says which; the complete records before it are read.
A tweet without created_at is dated by its id (dates.py), counted in `Read.dated_by_id`.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import NamedTuple

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from tweetlm.core import arrays
from tweetlm.core.errors import TweetlmError
from tweetlm.ingest import csvfile
from tweetlm.ingest.archive import GRAILBIRD_RE, YTD_RE, is_manifest
from tweetlm.ingest.declared import DECLARED_NAME
from tweetlm.ingest.dates import BadDate, parse_dates
from tweetlm.ingest.formats import ROWS, NotTweet, Shape, kind_of, nearest, rows_from_json, shape
from tweetlm.ingest.scan import (WHITESPACE, WRAP, ExactScanner, Fallback, FastArrayScanner,
                                 FastLinesScanner, ParseError, Segment)
from tweetlm.ingest.sources import Source

ID_DIGITS = r"^[0-9]{1,19}$"  # a tweet id as text: int64's digits, no sign
CHUNK = 16 << 20  # bytes scanned at once; also the unit of parallel parsing
WORKERS = max(2, min(os.cpu_count() or 2, 8))  # segments parsed at once (pyarrow's reader is
# serial for multi-line records, so parallelism comes from parsing several segments)
TWEET_YTD = {b"tweets", b"tweet"}
# `[` then a word that is no JSON value: a TOML or INI file's `[section]`
NOT_JSON_ARRAY_RE = re.compile(rb"\[[ \t]*(?!(?:true|false|null)\b)[A-Za-z_]")
_ON_READ: ContextVar = ContextVar("on_read", default=None)  # read_source's byte counter


class Read(NamedTuple):
    """What one source gave."""

    rows: pa.Table | None  # None: an archive file that holds something else (likes, account ...)
    archive: bool  # an archive's file (its rows' format is 'archive')
    no_text: int = 0  # tweets without text, left out
    dated_by_id: int = 0  # tweets without created_at, dated by their id
    cut_line: int | None = None  # the cut last line of JSON Lines, dropped (line number)
    not_tweets: int = 0  # records that are no tweets (error items, metadata lines), skipped


def read_source(source: Source, pool: ThreadPoolExecutor, on_read=None) -> Read:
    """One source's rows and what was left out or made up on the way; `on_read(n)` is told
    the bytes read (the exact way reads them again: `on_read(-n)` takes the first try back)."""
    done = [0]

    def count(n: int) -> None:
        done[0] += n
        if on_read is not None:
            on_read(n)
    try:
        token = _ON_READ.set(count)
        try:
            return _read(source, pool, exact=False)
        except Fallback:
            count(-done[0])
            return _read(source, pool, exact=True)
        finally:
            _ON_READ.reset(token)
    except ParseError as e:
        raise TweetlmError(f"{source.where(e.offset)}: {e.problem}") from None
    except RecursionError:  # json's decoder and rows_from_json recurse: a nesting bomb
        raise TweetlmError(f"{source.shown}: JSON nested too deeply to be tweets (a "
                           "damaged or hostile file): remove it from the folder") from None


def _read(source: Source, pool: ThreadPoolExecutor, exact: bool) -> Read:
    chunks = source.chunks(CHUNK, _ON_READ.get())
    first = b""
    for chunk in chunks:  # enough to tell the format
        first += chunk
        if len(first) >= 1 << 16:
            break
    mode, start, archive = _sniff(source, first[:1 << 16])
    if mode is None:
        return Read(None, True)
    if mode == "csv":
        chunks.close()
        return _read_csv(source, first[:1 << 16])
    declared = None if archive else source.declared  # an archive keeps its own layout
    if exact:
        scanner = ExactScanner(mode, start)
    elif mode == "lines":
        scanner = FastLinesScanner(start)
    else:
        sep = FastArrayScanner.separator(first[:1 << 18], start) or \
            FastArrayScanner.separator(first, start)
        scanner = FastArrayScanner(sep, start) if sep else ExactScanner(mode, start)
    shape: list = []  # decided from the first tweet record (and the non-tweets before it)
    pending, tables = [], []

    def submit(seg: Segment | None):
        if seg is None:
            return
        if not shape:
            kind, seg.lead = _shape_of(seg)
            shape.append(kind)
        pending.append(pool.submit(_segment_rows, seg, shape[0], source, declared))
        while len(pending) > WORKERS:  # parse segments while the next one is scanned
            tables.append(pending.pop(0).result())

    try:
        submit(scanner.feed(first))
        for chunk in chunks:
            submit(scanner.feed(chunk))
        submit(scanner.finish())
        while pending:
            tables.append(pending.pop(0).result())
    finally:
        for f in pending:
            f.cancel()
        chunks.close()
    no_text = sum(t[1] for t in tables)
    dated_by_id = sum(t[2] for t in tables)
    not_tweets = sum(t[3] for t in tables)
    tables = [t[0] for t in tables if t[0].num_rows]
    if not tables:
        raise TweetlmError(f"{source.shown}: {_no_tweets(first[start:1 << 16], no_text)}")
    cut_line, cut_at = None, getattr(scanner, "cut_at", None)
    if cut_at is not None:
        place = source.line_column(cut_at)
        cut_line = place[0] if place else 0
    return Read(pa.concat_tables(tables), archive, no_text, dated_by_id, cut_line, not_tweets)


def _no_tweets(head: bytes, no_text: int) -> str:
    """Why a file gave no tweets, for its one line: the keys its first record has, the known
    layout nearest to them and what that lacks, and how to declare the fields."""
    declare = (f"declare which fields hold the id, text and date in {DECLARED_NAME} beside it "
               "(docs/inputs.md)")
    if no_text:
        return f"holds no tweets: its {no_text} record(s) have an id but no text; {declare}"
    keys: list[str] = []
    for value, _ in _values_lenient(head):
        if isinstance(value, list):
            value = next((v for v in value if isinstance(v, dict)), None)
        if isinstance(value, dict):
            keys = list(value)
            break
    if not keys:
        return "holds no tweets (no record with an id and a text): is it the right file?"
    shown = ", ".join(repr(k) for k in keys[:8]) + (" ..." if len(keys) > 8 else "")
    near = nearest(set(keys))
    like = f" (nearest known layout: {near[0]}, which needs {near[1]!r})" if near else ""
    return f"holds no tweets of a known layout: its records have {shown}{like}; {declare}"


def _values_lenient(head: bytes):
    """The complete JSON values at the start of `head`, as far as they parse."""
    text = head.decode("utf-8", "replace")
    decoder, i = json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i] in " \t\r\n,":  # commas: an array's elements
            i += 1
        try:
            value, i = decoder.raw_decode(text, i)
        except ValueError:
            if text[i:i + 1] == "[":  # an array cut by the head's end: its first elements
                i += 1
                continue
            return
        yield value, i


def _sniff(source: Source, head: bytes) -> tuple[str | None, int, bool]:
    """(mode, bytes to blank before the JSON, is archive) from the first chunk; mode None: skip."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]:
        raise TweetlmError(f"{source.shown}: is UTF-16 or binary, not UTF-8 JSON: "
                           "save it as UTF-8 or remove it from the folder")
    skip = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    ytd = YTD_RE.match(head, skip)  # `window.YTD.<name>.part0 = `
    archive = False
    if is_manifest(head):  # an archive's data/manifest.js, away from its archive
        return None, 0, True
    if ytd:
        if ytd.group(1) not in TWEET_YTD:
            return None, 0, True
        skip, archive = ytd.end(), True
    elif grailbird := GRAILBIRD_RE.match(head, skip):  # a month of a pre-2019 archive
        skip, archive = grailbird.end(), True
    elif head[skip:skip + 6] == b"window" or head[skip:skip + 3] == b"var":
        raise TweetlmError(f"{source.shown}: a JavaScript file that is not an archive's "
                           "tweets.js: remove it from the folder")
    body = head[skip:].lstrip(WHITESPACE)
    first = body[:1]
    skip = len(head) - len(body)
    section = first == b"[" and NOT_JSON_ARRAY_RE.match(body)  # TOML/INI, not an array
    if first == b"[" and not section:
        return "array", skip, archive
    if first == b"{" and not archive:
        return "lines", skip, archive
    if not body:
        raise TweetlmError(f"{source.shown}: is empty: remove it or download it again")
    if section:
        raise ParseError(skip, "not JSON: a TOML or INI file (it starts with a '[section]' "
                         "line); remove it from the folder")
    if not archive and csvfile.header(body) is not None:
        return "csv", skip, archive
    shown = body[:20].decode("utf-8", "replace")
    raise ParseError(skip, f"not tweet JSON (starts with {shown!r}): expected API JSON, JSON "
                     "Lines or an archive's tweets.js; remove it from the folder")


def _read_csv(source: Source, head: bytes) -> Read:
    """A CSV file's tweets (csvfile.py)."""
    names, delimiter = csvfile.header(head.removeprefix(b"\xef\xbb\xbf"))
    columns = csvfile.plan(names, source.declared)
    if columns is None:
        raise TweetlmError(
            f"{source.shown}: a CSV without tweet columns (its header has "
            f"{', '.join(map(repr, names[:8]))}{' ...' if len(names) > 8 else ''}): ingest "
            "needs an id column (id, tweet_id, id_str) and a text column (text, tweet, "
            f"full_text, content), or declare yours in {DECLARED_NAME} beside it (docs/inputs.md)")
    with source.open() as f:
        rows = csvfile.read_csv(f, names, delimiter, columns, source.shown)
    if _ON_READ.get() is not None:
        _ON_READ.get()(source.size)
    rows, no_text, dated_by_id = _typed(rows, source)
    if not rows.num_rows:
        raise TweetlmError(f"{source.shown}: holds no tweets (every row lacks its id or text): "
                           "is it the right file?")
    return Read(rows, False, no_text, dated_by_id)


def _shape_of(seg: Segment) -> tuple[str | None, int]:
    """The record shape (formats.kind_of) of the segment's first tweet record, and how many
    records before it are no tweets (a dataset's metadata line, a scraper's error item):
    the fast path leaves those out."""
    skip = len(WRAP) if seg.wrapped else 0
    for size in (1 << 16, 1 << 20, len(seg.data)):
        for seen, (value, _) in enumerate(_values_lenient(bytes(seg.data[skip:size]))):
            kind = kind_of(value)
            if kind is not None or seen >= 16:
                return kind, seen
        if size >= len(seg.data):
            return None, 0  # the exact path will say what is wrong
    return None, 0


def _segment_rows(seg: Segment, kind: str | None, source: Source,
                  declared: Shape | None) -> tuple[pa.Table, int, int, int]:
    """The segment's tweets with int64 ids and UTC dates, how many had no text (left out),
    how many were dated by their id, and how many records were no tweets (skipped)."""
    rows, not_tweets = _parse_segment(seg, kind, declared)
    return *_typed(rows, source), not_tweets


def _typed(rows: pa.Table, source: Source) -> tuple[pa.Table, int, int]:
    """Rows as read -> int64 ids and UTC dates, without the tweets that have no text; how
    many had no text and how many were dated by their id."""
    no_text = rows.column("text").null_count
    if no_text:
        rows = rows.filter(pc.is_valid(rows.column("text")))
    ids = _parse_ids(rows, source)
    try:
        dates, dated_by_id = parse_dates(rows.column("created_at").combine_chunks(), ids)
    except BadDate as e:
        _fail_row(rows, source, e.row, "created_at", e.problem, e.show_value)
    rows = rows.set_column(0, "id", ids).set_column(1, "created_at", dates)
    latest = rows.schema.get_field_index("latest_id")
    return rows.set_column(latest, "latest_id", _edited_to(rows.column(latest), ids)), no_text, \
        dated_by_id


def _parse_segment(seg: Segment, kind: str | None, declared: Shape | None) -> tuple[pa.Table, int]:
    if not _utf8(seg):
        if seg.fast:
            raise Fallback  # ExactScanner's segments know their place in the file
        data = bytes(seg.data)
        err = UnicodeDecodeError("utf-8", b"", 0, 1, "")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            err = e
        raise ParseError(seg.start + err.start, f"not UTF-8 (byte 0x{data[err.start]:02x}): "
                         "save the file as UTF-8")
    # pyarrow 26 segfaults on JSON whose first record is not an object (e.g. `null`, found
    # by tests/test_fuzz.py): such segments go the exact way.
    starts_with_object = bytes(seg.data[:1 << 12]).lstrip(WHITESPACE)[:1] == b"{"
    form = declared or (shape(kind) if kind is not None else None)
    if form is not None and starts_with_object:
        schema = form.schema
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
            table = None  # a syntax error or an unexpected type: let the exact path tell
        if table is not None:
            top = (pc.list_flatten(table.column("d").combine_chunks()) if seg.wrapped
                   else table.to_struct_array().combine_chunks())
            if seg.elements is None or len(top) == seg.elements:
                rows = form.rows_from_arrow(top, seg.lead)
                if rows is not None:
                    return rows
                if seg.fast:  # whole records, some of another shape: this segment exactly
                    return _rows_parsed(seg, declared)
    if seg.fast:
        raise Fallback
    return _rows_exact(seg, declared)


def _rows_parsed(seg: Segment, declared: Shape | None) -> tuple[pa.Table, int]:
    """A fast segment that pyarrow parsed but whose records are not all of its first shape
    (a Tweet and a TweetWithVisibilityResults, an error item among tweets), record by record.
    Anything wrong: the exact path reads the whole source again and names the place."""
    try:
        values = orjson.loads(bytes(seg.data))["d"] if seg.wrapped else \
            [orjson.loads(line) for line in bytes(seg.data).split(b"\n") if line.strip(WHITESPACE)]
        skipped = [0]
        rows = [r for v in values for r in rows_from_json(v, skipped, declared)]
        return arrays.table(rows, ROWS), skipped[0]
    except (orjson.JSONDecodeError, NotTweet, UnicodeEncodeError, TypeError, KeyError):
        raise Fallback from None


def _utf8(seg: Segment) -> bool:
    """Whether the segment is valid UTF-8 (Arrow's validator: GB/s)."""
    offsets = pa.py_buffer(np.array([0, len(seg.data)], np.int32).tobytes())
    try:
        pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(seg.data)]).validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


def _rows_exact(seg: Segment, declared: Shape | None) -> tuple[pa.Table, int]:
    """Rows from each record parsed on its own, and how many records were no tweets; names
    the place of what is wrong."""
    rows, skipped = [], [0]
    offset = seg.start
    array = seg.elements is not None
    for line in bytes(seg.data).split(b"\n"):
        start, offset = offset, offset + len(line) + 1
        if seg.empty_ok and not line.strip(WHITESPACE):
            continue  # `[ ]`
        for value, at in _values(line, start, one=array):
            try:
                rows.extend(rows_from_json(value, skipped, declared))
            except NotTweet as e:
                raise ParseError(at, str(e)) from None
    try:
        return arrays.table(rows, ROWS), skipped[0]
    except UnicodeEncodeError:  # a lone surrogate escape ("\ud83d": an emoji cut in half)
        fix = lambda v: re.sub("[\ud800-\udfff]", "\ufffd", v) if isinstance(v, str) else v  # noqa: E731
        return arrays.table([{k: fix(v) for k, v in r.items()} for r in rows], ROWS), skipped[0]


def _values(line: bytes, start: int, one: bool):
    """The JSON values in one line with their file offsets."""
    stripped = line.strip(WHITESPACE)
    if not stripped:
        if one:
            raise ParseError(start, "an empty array element (a stray ','): fix or download the "
                             "file again")
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
            raise ParseError(start + len(text[: e.pos].encode()), f"invalid JSON ({e.msg}): the "
                             "file is damaged or truncated; fix or download it again") from None
        if one and text[end:].strip(" \t\r\n"):
            raise ParseError(start + len(text[:end].encode()), "invalid JSON (expected ',' or ']' "
                             "after an array element): fix or download the file again")
        yield value, at
        i = end


def _parse_ids(rows: pa.Table, source: Source) -> pa.Array:
    ids = rows.column("id").combine_chunks()
    try:
        parsed = ids.cast(pa.int64())  # strict: digits and an optional '-' only
        if not len(parsed) or pc.min(parsed).as_py() >= 0:
            return parsed
    except pa.ArrowInvalid:
        pass
    for bad, problem in [(pc.invert(pc.match_substring_regex(ids, r"^[0-9]+$")),
                          "is not a tweet id (digits)"),
                         (pc.or_(pc.greater(pc.utf8_length(ids), arrays.scalar(19, pa.int32())),
                                 _too_large(ids)), "is too large for a tweet id")]:
        bad = arrays.to_numpy(pc.fill_null(bad, arrays.FALSE))
        if bad.any():
            _fail_row(rows, source, int(np.argmax(bad)), "id", problem)
    raise AssertionError("unreachable: some id failed to parse")


def _too_large(ids: pa.Array) -> pa.Array:
    """Where a string of 19 digits is past int64 (compared as text: same length)."""
    return pc.and_(pc.equal(pc.utf8_length(ids), arrays.scalar(19, pa.int32())),
                   pc.greater(ids, arrays.scalar("9223372036854775807", pa.string())))


def _edited_to(latest: pa.ChunkedArray, ids: pa.Array) -> pa.Array:
    """int64 ids of the latest versions, null where the tweet is its own latest version or
    the chain's last id is not an id (the tweet is then kept as it is)."""
    latest = latest.combine_chunks()
    plausible = pc.and_(pc.match_substring_regex(latest, ID_DIGITS),
                        pc.invert(_too_large(latest)))
    parsed = pc.if_else(plausible, latest, arrays.scalar(None, pa.string())).cast(pa.int64())
    return pc.if_else(pc.equal(parsed, ids), arrays.scalar(None, pa.int64()), parsed)


def _fail_row(rows: pa.Table, source: Source, i: int, column: str, problem: str, show_value=True):
    row = rows.slice(i, 1).to_pylist()[0]
    value = f" {row[column]!r}" if show_value else ""
    raise TweetlmError(f"{source.shown}: tweet {row['id']}: {column}{value} {problem}")
