"""filter: drop retweets and short tweets, clean the text, count what went where.

data/interim/HANDLE/tweets.parquet -> data/processed/HANDLE/tweets.parquet (the kept tweets,
text cleaned, all other columns as ingest wrote them) + reports/HANDLE/stats.json (a DVC
metric: downloaded, retweets, short, kept; kept = downloaded - retweets - short).

The rules are huggingtweets', made exact. Whitespace everywhere means what Python's
str.split() splits on (str.isspace(): includes U+00A0, U+3000 and the \\x1c-\\x1f separators).

1. Retweet: ingest's structural flag `is_retweet` (v1.1 `retweeted_status`, v2
   `referenced_tweets` of type `retweeted`), or the RAW text -- as ingest stored it, before
   entity unescaping or stripping -- starts with exactly "RT @" (archives carry no flag; this
   is the test huggingtweets applied to `full_text`). "RT @" anywhere else is not a retweet.
   Retweets are dropped first; `downloaded` counts unique tweet ids.
2. Cleaning: html.unescape() once (so "&amp;amp;" -> "&amp;"); every whitespace-separated
   token that starts with http:// or https:// (ASCII case-insensitive) is removed -- a URL
   glued to other characters, "(https://t.co/x)" or "see:https://x", does not start with it
   and stays; then whitespace is normalised:
     keep_newlines false: tokens joined by single spaces (" ".join(text.split())).
     keep_newlines true: each line (str.splitlines(): \\n, \\r\\n, \\r, \\v, \\f, \\x1c-\\x1e,
       U+0085, U+2028, U+2029) has its tokens joined by single spaces, lines left empty are
       dropped, and the rest joined by "\\n". Equivalently: every whitespace run that holds
       a line break becomes one "\\n", every other run one space, ends stripped.
   Mentions, hashtags and emoji stay.
3. Short: fewer than `min_words` of the cleaned text's tokens contain none of "http", "@",
   "#" (case-insensitive; "Email@x", "HTTPServer", "c#" don't count). Short tweets are dropped.

`clean_text_reference` and friends state the rules as plain Python, one tweet at a time;
`filter_tweets` applies them to a whole table with Arrow string kernels (RE2) and must give
identical results on every row (tests/test_filter.py checks it on random text).
"""

from __future__ import annotations

import html
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import atomic_path, write_json
from tweetlm.core.params import Params

REQUIRED = {  # column -> (what it holds, type check)
    "id": ("tweet ids", lambda t: pa.types.is_integer(t) or pa.types.is_string(t)
           or pa.types.is_large_string(t)),
    "text": ("strings", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)
             or pa.types.is_string_view(t)),
    "is_retweet": ("booleans", pa.types.is_boolean),
}
CHUNK_ROWS = 1 << 17  # rows per slice cleaned by one thread

# str.split()'s separators (no code point above U+3000 is whitespace; a test checks) and the
# subset str.splitlines() breaks lines at.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
LINE_BREAKS = "".join(c for c in WHITESPACE if len(f"a{c}b".splitlines()) == 2)
LINK_PREFIXES = ("http://", "https://")
NOT_A_WORD = ("http", "@", "#")


# --- the rules, one tweet at a time (the reference; benchmarks/bench_data.py's plain loop) ---

def is_retweet_reference(raw_text: str, flag: bool) -> bool:
    return bool(flag) or raw_text.startswith("RT @")


def clean_text_reference(text: str, keep_newlines: bool = False) -> str:
    text = html.unescape(text)
    if not keep_newlines:
        return " ".join(w for w in text.split() if not w.lower().startswith(LINK_PREFIXES))
    lines = (
        " ".join(w for w in line.split() if not w.lower().startswith(LINK_PREFIXES))
        for line in text.splitlines()
    )
    return "\n".join(line for line in lines if line)


def is_short_reference(cleaned: str, min_words: int) -> bool:
    words = [w for w in cleaned.split() if not any(s in w.lower() for s in NOT_A_WORD)]
    return len(words) < min_words


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
    some = text.filter(pa.array(has_amp))
    entities = pc.count_substring_regex(some, "&(?:amp|lt|gt);").to_numpy(zero_copy_only=False)
    simple = entities == amps[has_amp]
    fixed = some
    for entity, char in _TWITTER_ENTITIES.items():
        fixed = pc.replace_substring(fixed, entity, char)
    if not simple.all():
        hard = np.flatnonzero(~simple)
        slow = [html.unescape(s) for s in some.take(hard).to_pylist()]
        fixed = pc.replace_with_mask(fixed, pa.array(~simple), pa.array(slow, text.type))
    return pc.replace_with_mask(text, pa.array(has_amp), fixed)


def clean_text(text: pa.Array, keep_newlines: bool = False) -> pa.Array:
    """clean_text_reference, vectorised: unescape, drop link tokens, normalise whitespace."""
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
    not_words = pc.count_substring_regex(cleaned, _NOT_A_WORD_TAIL).to_numpy(zero_copy_only=False)
    return tokens - not_words


def _offsets_and_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string array's offsets (n + 1, into the bytes) and UTF-8 bytes, zero-copy."""
    _, offsets, data = strings.buffers()
    dtype = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    offsets = np.frombuffer(offsets, dtype)[strings.offset:][: len(strings) + 1]
    return offsets, np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)


def clean_and_count(text: pa.Array, keep_newlines: bool = False) -> tuple[pa.Array, np.ndarray]:
    cleaned = clean_text(text, keep_newlines)
    return cleaned, count_words(cleaned)


def filter_tweets(
    table: pa.Table, min_words: int = 3, keep_newlines: bool = False
) -> tuple[pa.Table, dict[str, int]]:
    """Drop repeated ids, then retweets, then short tweets; return the kept rows (text cleaned,
    other columns unchanged, order kept) and the stats."""
    text_at = table.schema.get_field_index("text")
    text_type = table.schema.field(text_at).type
    if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
        # e.g. string_view, which not every kernel takes
        table = table.set_column(text_at, "text", table["text"].cast(pa.large_string()))
    table = _first_of_each_id(table.combine_chunks())
    raw = table["text"].combine_chunks().fill_null("")
    flag = table["is_retweet"].combine_chunks().fill_null(False)
    retweet = pc.or_(flag, pc.starts_with(raw, "RT @")).to_numpy(zero_copy_only=False)
    original = np.flatnonzero(~retweet)
    raw = raw.take(original)

    # Arrow's string kernels release the GIL: clean slices of the column on every core.
    slices = [raw.slice(i, CHUNK_ROWS) for i in range(0, len(raw), CHUNK_ROWS)]
    with ThreadPoolExecutor(max(1, min(pa.cpu_count(), len(slices)))) as pool:
        done = list(pool.map(lambda s: clean_and_count(s, keep_newlines), slices))
    cleaned = pa.chunked_array([c for c, _ in done], raw.type)
    long_enough = np.concatenate([n for _, n in done]) >= min_words if done else np.zeros(0, bool)

    keep = np.zeros(len(retweet), bool)  # one filter of the whole table, at the end
    keep[original[long_enough]] = True
    kept = table.filter(keep)
    kept = kept.set_column(text_at, table.schema.field(text_at), cleaned.filter(long_enough))
    stats = {
        "downloaded": len(retweet),
        "retweets": int(retweet.sum()),
        "short": int(len(long_enough) - long_enough.sum()),
        "kept": kept.num_rows,
    }
    return kept, stats


def _first_of_each_id(table: pa.Table) -> pa.Table:
    """`downloaded` counts unique tweets: keep the first row of each id."""
    ids = table["id"]
    if pa.types.is_integer(ids.type) and not ids.null_count:
        # ingest sorts by created_at, so ids are usually monotonic: a cheap proof of no repeats
        step = np.diff(ids.to_numpy())
        if (step > 0).all() or (step < 0).all():
            return table
    if pc.count_distinct(ids, mode="all").as_py() == table.num_rows:
        return table
    rows = pa.table({"id": ids, "row": np.arange(table.num_rows)})
    first = rows.group_by("id", use_threads=False).aggregate([("row", "min")])["row_min"]
    return table.take(np.sort(first.to_numpy()))


def read_interim(path: Path, handle: str) -> pa.Table:
    rerun = f"rerun `tweetlm ingest {handle}` (or `dvc repro ingest@{handle}`)"
    if not path.is_file():
        raise TweetlmError(f"{path}: not found: run `tweetlm ingest {handle}` "
                           f"(or `dvc repro ingest@{handle}`) first")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise TweetlmError(f"{path}: not a readable Parquet file ({_first_line(e)}): {rerun}")
    for column, (what, is_type) in REQUIRED.items():
        if column not in table.column_names:
            raise TweetlmError(f"{path}: no column {column!r} ({what}): {rerun}")
        found = table.schema.field(column).type
        if not is_type(found):
            raise TweetlmError(f"{path}: column {column!r} is {found}, not {what}: {rerun}")
    return table


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def main(handle: str, params: Params) -> None:
    src = Path("data/interim") / handle / "tweets.parquet"
    out = Path("data/processed") / handle / "tweets.parquet"
    stats_path = Path("reports") / handle / "stats.json"
    table = read_interim(src, handle)
    kept, stats = filter_tweets(table, params.filter.min_words, params.filter.keep_newlines)
    with atomic_path(out) as tmp:
        pq.write_table(kept, tmp, compression="zstd")
    write_json(stats_path, stats)
    print(
        f"filter {handle}: {stats['downloaded']} tweets; dropped {stats['retweets']} retweets, "
        f"{stats['short']} short; kept {stats['kept']} -> {out}, {stats_path}"
    )
    if not stats["kept"]:
        print(f"tweetlm: warning: no tweet of {handle!r} passed the filters", file=sys.stderr)
