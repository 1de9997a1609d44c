"""filter: drop retweets and short tweets, clean the text, count what went where.

data/interim/HANDLE/tweets.parquet -> data/processed/HANDLE/tweets.parquet (the kept tweets,
text cleaned, all other columns as ingest wrote them) + reports/HANDLE/stats.json (a DVC
metric: downloaded, retweets, short, kept; kept = downloaded - retweets - short; and
`languages`, the kept tweets per ISO 639 code of their `lang`, for the card).

The rules -- retweets, cleaning, short tweets -- are stated in tweetlm/text.py, one tweet at
a time (shared with predict's memorization check). Retweets are dropped first; `downloaded`
counts ingest's rows, one per tweet id (ingest de-duplicates, so filter does not). Short
tweets are dropped next.

Then, as huggingtweets did before training, the kept text is measured: the kept tweets
joined by <|endoftext|>, in characters (`kept_chars`). Under `filter.min_kept_chars`
(huggingtweets: 6,000) the stage fails -- too little to train a bot on -- and writes
nothing; under `filter.warn_kept_chars` (40,000) it warns that the bot will mostly repeat
these tweets. When most tweets were dropped as short, a warning names filter.min_words
(the error says it too). Warnings go to stderr, one line each.

text.py's `clean_text_reference` and friends state the rules as plain Python;
`filter_tweets` applies them to a whole table with Arrow string kernels (RE2) and must give
identical results on every row (tests/test_filter.py checks it on random text).

The stage streams: ingest's Parquet row groups are read one at a time, cleaned on worker
threads a few at a time, and their kept rows written as they come (counts and characters
add up), so memory stays flat however many tweets there are. A stage that fails the
kept-text check removes what it had written. The rows and their order are the same as
filtering the whole table at once.
"""

from __future__ import annotations

import html
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tweetlm.core import arrays, layout
from tweetlm.core.errors import TweetlmError, first_line, warn
from tweetlm.core.outputs import atomic_path, write_json
from tweetlm.core.params import Params
from tweetlm.shared.text import LINE_BREAKS, RETWEET_PREFIX, WHITESPACE

CHUNK_ROWS = 1 << 17  # rows per slice: cleaned by one thread, and what memory holds a few of
SEPARATOR = "<|endoftext|>"  # kept text is measured as huggingtweets did: tweets joined by it

# --- the same rules over a whole column ---

def _cls(chars: str, negate: bool = False) -> str:
    """An RE2 character class of exactly `chars` (code point escapes, so nothing is special)."""
    return "[" + ("^" if negate else "") + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


_WS, _NOT_WS = _cls(WHITESPACE), _cls(WHITESPACE, negate=True)
_NB = "".join(c for c in WHITESPACE if c not in LINE_BREAKS)  # whitespace within a line
# Spelled-out ASCII cases: RE2's (?i) would also fold U+017F (long s) into "s", str.lower() doesn't.
_LINK = f"[hH][tT][tT][pP][sS]?://{_NOT_WS}*"
_LINK_TOKEN = f"(^|{_WS}){_LINK}"  # \1 keeps the separator before it (it may be a line break)
# One pass for the common case: a run of whitespace (or the start) followed by link tokens and
# their trailing whitespace, or any whitespace run that is not a single space, becomes one
# space. A single space between two kept tokens never matches, so most tweets cost a scan.
_LINK_OR_ODD_SPACE = (
    f"(?:^|{_WS}+)(?:{_LINK}(?:{_WS}+|$))+|{_WS}{{2,}}|{_cls(WHITESPACE.replace(' ', ''))}"
)
_LINE_BREAK_RUN = f"{_WS}*{_cls(LINE_BREAKS)}{_WS}*"
_ODD_SPACE_IN_LINE = f"{_cls(_NB)}{{2,}}|{_cls(_NB.replace(' ', ''))}"
# From a token's first http/@/# to its end: one match per token that is not a word.
_NOT_A_WORD_TAIL = f"(?:[hH][tT][tT][pP]|@|#){_NOT_WS}*"
# html.unescape of a text whose every '&' starts one of these is three literal replacements.
_TWITTER_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}  # &amp; last: its '&' is final


def unescape_html(text: pa.Array) -> pa.Array:
    """html.unescape on each value. Only values holding '&' can change, and those whose every
    '&' starts &amp;, &lt; or &gt; (what Twitter escapes) need no Python call."""
    offsets, data = _offsets_and_bytes(text)
    amps = np.diff(np.searchsorted(np.flatnonzero(data == ord("&")), offsets))  # '&'s per text
    has_amp = amps > 0
    if not has_amp.any():
        return text
    some = text.filter(arrays.bools(has_amp))
    entities = arrays.to_numpy(pc.count_substring_regex(some, "&(?:amp|lt|gt);"))
    simple = entities == amps[has_amp]
    fixed = some
    for entity, char in _TWITTER_ENTITIES.items():
        fixed = pc.replace_substring(fixed, entity, char)
    if not simple.all():
        hard = np.flatnonzero(~simple)
        slow = [html.unescape(s) for s in some.take(arrays.ints(hard)).to_pylist()]
        fixed = pc.replace_with_mask(fixed, arrays.bools(~simple),
                                     arrays.strings(slow).cast(text.type))
    return pc.replace_with_mask(text, arrays.bools(has_amp), fixed)


def clean_text(text: pa.Array, keep_newlines: bool = False) -> pa.Array:
    """clean_text_reference, vectorised: delete NULs, unescape, drop link tokens, normalise
    whitespace."""
    if (_offsets_and_bytes(text)[1] == 0).any():  # a NUL byte is only ever U+0000 in UTF-8
        text = pc.replace_substring(text, "\0", "")
    text = unescape_html(text)
    if keep_newlines:
        text = pc.replace_substring_regex(text, _LINK_TOKEN, r"\1")
        text = pc.replace_substring_regex(text, _LINE_BREAK_RUN, "\n")
        text = pc.replace_substring_regex(text, _ODD_SPACE_IN_LINE, " ")
    else:
        text = pc.replace_substring_regex(text, _LINK_OR_ODD_SPACE, " ")
    return pc.utf8_trim(text, " \n")


def count_words(cleaned: pa.Array) -> np.ndarray:
    """Per cleaned text, the tokens that contain none of http, @, # (case-insensitive)."""
    # Cleaned tokens are separated by exactly one " " or "\n", with none at either end, and
    # those two bytes never occur inside a multi-byte UTF-8 character: count them in the buffer.
    offsets, data = _offsets_and_bytes(cleaned)
    separators = np.flatnonzero((data == ord(" ")) | (data == ord("\n")))
    tokens = np.diff(np.searchsorted(separators, offsets)) + (np.diff(offsets) > 0)
    not_words = arrays.to_numpy(pc.count_substring_regex(cleaned, _NOT_A_WORD_TAIL))
    return tokens - not_words


def _offsets_and_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (n + 1, into the bytes) and UTF-8 bytes, zero-copy."""
    _, offsets, data = strings.buffers()
    dtype = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(offsets, dtype)[strings.offset:][: len(strings) + 1]
    if data is None or not len(offsets):
        return np.zeros(max(len(offsets), 1), dtype), np.zeros(0, np.uint8)
    # a slice shares its parent's buffer: only its own bytes, or each slice scans them all
    return offsets - offsets[0], np.frombuffer(data, np.uint8)[offsets[0]:offsets[-1]]


def clean_and_count(text: pa.Array, keep_newlines: bool = False) -> tuple[pa.Array, np.ndarray]:
    cleaned = clean_text(text, keep_newlines)
    return cleaned, count_words(cleaned)


def filter_tweets(
    table: pa.Table, min_words: int = 3, keep_newlines: bool = False
) -> tuple[pa.Table, dict[str, int]]:
    """Drop retweets, then short tweets; return the kept rows (text cleaned, other columns
    unchanged, order kept) and the stats. The stage streams the same through `filter_parts`."""
    slices = (table.slice(i, CHUNK_ROWS) for i in range(0, table.num_rows, CHUNK_ROWS))
    parts = list(filter_parts(slices, min_words, keep_newlines))
    schema = output_schema(table.schema)
    kept = pa.concat_tables([p.kept for p in parts], promote_options="none") if parts \
        else schema.empty_table()
    return kept, stats_of(parts)._asdict()


class Part(NamedTuple):
    """One slice of the input, filtered."""

    kept: pa.Table
    counts: layout.FilterCounts
    chars: int  # characters of the kept texts (no separators)
    languages: Counter  # language code -> kept tweets (`language_code` of their `lang`)


def filter_parts(slices: Iterable[pa.Table], min_words: int, keep_newlines: bool) -> Iterator[Part]:
    """Each slice filtered, in order; slices are cleaned on every core (Arrow's string kernels
    release the GIL) while the caller reads the next and writes the last."""
    workers = max(1, min(pa.cpu_count(), 8))
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for piece in slices:
            pending.append(pool.submit(filter_slice, piece, min_words, keep_newlines))
            if len(pending) > workers:  # bounded: memory stays a few slices whatever the input
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def filter_slice(table: pa.Table, min_words: int, keep_newlines: bool) -> Part:
    """The rules on one slice of ingest's table (ids already unique: ingest keeps one row per
    tweet id, so `downloaded` is the row count)."""
    schema = output_schema(table.schema)
    text_at = schema.get_field_index("text")
    if schema != table.schema:  # string_view, which not every kernel (take, filter) takes
        table = table.set_column(text_at, schema.field(text_at), table["text"].cast(
            schema.field(text_at).type))
    raw = table["text"].combine_chunks()
    raw = raw.fill_null(arrays.scalar("", raw.type))
    flag = table["is_retweet"].combine_chunks().fill_null(arrays.FALSE)
    retweet = pc.or_(flag, pc.starts_with(raw, RETWEET_PREFIX))
    original = pc.invert(retweet)
    cleaned, words = clean_and_count(raw.filter(original), keep_newlines)
    long_enough = words >= min_words
    keep = np.zeros(len(raw), bool)
    keep[np.flatnonzero(arrays.to_numpy(original))[long_enough]] = True
    text = cleaned.filter(arrays.bools(long_enough))
    kept = table.filter(arrays.bools(keep)).set_column(text_at, schema.field(text_at), text)
    n, retweets, originals = len(raw), len(raw) - len(cleaned), len(cleaned)
    short = originals - int(long_enough.sum())
    chars = int(pc.sum(pc.utf8_length(text)).as_py() or 0) if len(text) else 0
    return Part(kept, layout.FilterCounts(n, retweets, short, kept.num_rows), chars,
                languages_of(kept))


# Twitter's `lang` is BCP 47 with its own extras: und (undetermined), zxx (no text), qam,
# qct, qht, qme, qst (only mentions, cashtags, hashtags, media, very short), old in/iw codes
OLD_CODES = {"in": "id", "iw": "he", "ji": "yi"}


def language_code(lang: str | None) -> str | None:
    """The ISO 639 code of a tweet's `lang` ('en-gb' -> 'en', 'in' -> 'id'), or None when it
    names no language."""
    code = (lang or "").strip().lower().split("-")[0]
    code = OLD_CODES.get(code, code)
    if not re.fullmatch(r"[a-z]{2,3}", code) or code in ("und", "zxx", "mul", "mis") or \
            re.fullmatch(r"q[a-t][a-z]", code):  # qaa-qtz: reserved for local use
        return None
    return code


def languages_of(kept: pa.Table) -> Counter:
    """Kept tweets per language code."""
    if "lang" not in kept.column_names or not kept.num_rows:
        return Counter()
    counts = pc.value_counts(kept["lang"].combine_chunks()).to_pylist()
    found: Counter = Counter()
    for entry in counts:
        code = language_code(entry["values"])
        if code:
            found[code] += entry["counts"]
    return found


def output_schema(schema: pa.Schema) -> pa.Schema:
    """The input's schema; a text type that not every kernel takes (string_view) becomes
    large_string."""
    at = schema.get_field_index("text")
    text = schema.field(at)
    if pa.types.is_string(text.type) or pa.types.is_large_string(text.type):
        return schema
    return schema.set(at, text.with_type(pa.large_string()))


def stats_of(parts: Iterable[Part]) -> layout.FilterCounts:
    counts = [p.counts for p in parts]
    return layout.FilterCounts._make(map(sum, zip(*counts))) if counts else \
        layout.FilterCounts(0, 0, 0, 0)


def read_interim(path: Path, handle: str) -> pq.ParquetFile:
    """ingest's table, opened to stream (a stage trusts the pipeline's earlier outputs); one
    line if it is missing or unreadable."""
    if not path.is_file():
        raise TweetlmError(f"{path}: not found: run {_ingest(handle)} first")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise _unreadable(path, handle, e) from None


def dictionary_columns(source: pq.ParquetFile) -> list[str]:
    """The columns ingest wrote with a Parquet dictionary (its DICTIONARY_COLUMNS), as its
    file says: filter's output, the same table less some rows, keeps the encoding."""
    meta = source.metadata
    group = meta.row_group(0) if meta.num_row_groups else None
    return [] if group is None else [group.column(i).path_in_schema
                                     for i in range(group.num_columns)
                                     if group.column(i).has_dictionary_page]


def _slices(source: pq.ParquetFile, path: Path, handle: str) -> Iterator[pa.Table]:
    """The table a row group at a time (ingest writes CHUNK_ROWS-row groups), in slices of at
    most CHUNK_ROWS rows. Not iter_batches: its memory grows with the file."""
    try:
        for i in range(source.num_row_groups):
            group = source.read_row_group(i, use_threads=False)
            for at in range(0, group.num_rows, CHUNK_ROWS):
                yield group.slice(at, CHUNK_ROWS)
    except (pa.ArrowException, OSError) as e:
        raise _unreadable(path, handle, e) from None


def _ingest(handle: str) -> str:
    return f"`tweetlm ingest {handle}` (or `dvc repro {layout.stage_id('ingest', handle)}`)"


def _unreadable(path: Path, handle: str, e: Exception) -> TweetlmError:
    return TweetlmError(f"{path}: not a readable Parquet file ({first_line(e)}): rerun "
                        f"{_ingest(handle)}")


def kept_chars(text: pa.ChunkedArray | pa.Array) -> int:
    """Characters of the kept tweets joined by <|endoftext|>: what huggingtweets measured."""
    if not len(text):
        return 0
    return int(pc.sum(pc.utf8_length(text)).as_py() or 0) + len(SEPARATOR) * (len(text) - 1)


def check_kept(handle: str, counts: layout.FilterCounts, chars: int, rules) -> list[str]:
    """The warnings (one line each) about what the bot will learn from; raises TweetlmError
    when the kept text is under `rules.min_kept_chars` (`rules`: params.filter)."""
    where = layout.raw_dir(handle)
    original = counts.downloaded - counts.retweets
    mostly_short = counts.short * 2 > original
    short_hint = (f"{counts.short:,} of {original:,} tweets were dropped as short (fewer than "
                  f"filter.min_words={rules.min_words} words; words are counted by spaces, so a "
                  "Japanese or Chinese tweet is one word)")
    if chars < rules.min_kept_chars:
        fix = (f"{short_hint}: lower filter.min_words in params.yaml" if mostly_short else
               "add more of the account's tweets (the archive's data/tweets.js, more API pages)")
        raise TweetlmError(f"{where}: only {chars:,} characters of text kept ({counts.kept:,} of "
                           f"{counts.downloaded:,} tweets), under filter.min_kept_chars="
                           f"{rules.min_kept_chars:,}: too little to train a bot on; {fix}")
    warnings = []
    if mostly_short:
        warnings.append(f"{where}: {short_hint}: lower filter.min_words in params.yaml "
                        "(0 keeps every tweet) if these are the account's real tweets")
    if chars < rules.warn_kept_chars:
        warnings.append(f"{where}: {chars:,} characters of text kept ({counts.kept:,} tweets), "
                        f"under filter.warn_kept_chars={rules.warn_kept_chars:,}: a bot trained on "
                        "this little will mostly repeat these tweets; add more tweets if there "
                        "are any")
    return warnings


def main(handle: str, params: Params) -> None:
    src, out, stats_path = layout.interim(handle), layout.processed(handle), layout.stats(handle)
    source = read_interim(src, handle)
    rules = params.filter
    made = [p for p in (out.parent, out.parent.parent) if not p.exists()]
    parts = []  # counts only: each part's rows are written and let go
    try:
        # Streamed slice by slice, so memory stays flat; the check needs every slice's counts,
        # so a failed one removes the unfinished file (and any folder made for it).
        with atomic_path(out) as tmp, \
                pq.ParquetWriter(tmp, output_schema(source.schema_arrow), compression="zstd",
                                 use_dictionary=dictionary_columns(source)) as w:
            for part in filter_parts(_slices(source, src, handle), rules.min_words,
                                     rules.keep_newlines):
                w.write_table(part.kept)
                parts.append(part._replace(kept=None))
            counts = stats_of(parts)
            chars = sum(p.chars for p in parts) + len(SEPARATOR) * max(counts.kept - 1, 0)
            warnings = check_kept(handle, counts, chars, rules)
            # the kept tweets' languages, most first: the card's `language` (card.language auto)
            languages = dict(sum((p.languages for p in parts), Counter()).most_common())
    except TweetlmError:
        for folder in made:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    write_json(stats_path, {**counts._asdict(), "languages": languages})
    print(
        f"filter {handle}: {counts.downloaded} tweets; dropped {counts.retweets} retweets, "
        f"{counts.short} short; kept {counts.kept} ({chars:,} characters) -> {out}, "
        f"{stats_path}"
    )
    if not counts.kept:
        warn(f"no tweet of {handle!r} passed the filters")
    for warning in warnings:
        warn(warning)
