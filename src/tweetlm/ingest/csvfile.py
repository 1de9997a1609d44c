"""Tweets as CSV, as datasets are shared (Kaggle-style dumps, twint's CSV, exporters' CSV).

The header names the columns; each output column takes the first of its known names the
header has (`COLUMNS`), or the columns a folder's tweetlm-fields.yaml declares. twint's
`date` + `time` + `timezone` make its date when all three are there. pyarrow's CSV reader
parses the file (quoted fields with commas and newlines included) on its threads, every
column as text.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from tweetlm.core import arrays
from tweetlm.core.errors import TweetlmError, first_line
from tweetlm.ingest.declared import DECLARED_NAME
from tweetlm.ingest.formats import ROWS, Equals, IsTrue, Shape, absent

COLUMNS = {  # output column -> header names, first found wins
    "id": ("id_str", "tweet_id", "id", "tweetId", "rest_id", "status_id"),
    "text": ("full_text", "fullText", "rawContent", "text", "tweet", "content", "body"),
    "created_at": ("created_at", "createdAt", "published_at_utc", "datetime", "timestamp",
                   "date"),
    "is_retweet": ("is_retweet", "isRetweet", "retweet", "retweeted"),
    "is_reply": ("is_reply", "isReply"),
    "is_quote": ("is_quote", "isQuote", "is_quote_status"),
    "lang": ("lang", "language"),
    "name": ("name", "user_name", "author_name", "display_name"),
}
TRUE = ("true", "True", "TRUE", "1", "yes")


def header(head: bytes) -> list[str] | None:
    """The column names of a CSV's first line, or None if it is no CSV header."""
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip("\r\ufeff")
    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    if delimiter not in line:
        return None
    names = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    return names if all(n.strip() for n in names) else None


def plan(names: list[str], declared: Shape | None) -> dict[str, object] | None:
    """Output column -> the header column it comes from (a tuple: joined; a source object
    of a declared layout), or None if no id and text columns are there."""
    if declared is not None:
        return {column: sources[0] for column, sources in declared.fields.items() if sources}
    have = set(names)
    found = {column: next((n for n in options if n in have), None)
             for column, options in COLUMNS.items()}
    if {"date", "time"} <= have:  # twint: its date, time and zone offset in three columns
        found["created_at"] = ("date", "time", "timezone") if "timezone" in have \
            else ("date", "time")
    if not found["id"] or not found["text"]:
        return None
    return {column: name for column, name in found.items() if name}


def read_csv(f, names: list[str], columns: dict, shown: str) -> pa.Table:
    """ROWS from a CSV file object whose header is `names`."""
    delimiter = "\t" if "\t" in ",".join(names) or len(names) == 1 else ","
    try:
        table = pv.read_csv(f, parse_options=pv.ParseOptions(delimiter=delimiter,
                                                             newlines_in_values=True),
                            convert_options=pv.ConvertOptions(
                                column_types={n: pa.string() for n in names},
                                strings_can_be_null=True, null_values=[""]))
    except (pa.ArrowInvalid, UnicodeDecodeError) as e:
        raise TweetlmError(f"{shown}: not a readable CSV ({first_line(e)}): fix the file or "
                           "save it again as UTF-8 CSV") from None
    n = table.num_rows
    out = {}
    for field in ROWS:
        source = columns.get(field.name)
        if field.name == "format":
            out["format"] = pa.repeat(arrays.scalar("csv", pa.string()), n)
        elif source is None:
            out[field.name] = absent(field, n)
        else:
            out[field.name] = _column(table, source, field.type == pa.bool_(), shown)
    return pa.Table.from_pydict(out, schema=ROWS)


def _column(table: pa.Table, source, flag: bool, shown: str):
    if isinstance(source, tuple):  # twint's date + time + timezone
        return pc.binary_join_element_wise(*[table.column(c) for c in source], " ")
    if isinstance(source, (IsTrue, Equals)):  # a declared flag
        values = _named(table, source.keys, shown)
        wanted = TRUE if isinstance(source, IsTrue) else source.values
        return pc.fill_null(pc.is_in(values, value_set=arrays.strings(list(wanted))), arrays.FALSE)
    values = _named(table, source.keys, shown) if hasattr(source, "keys") else table.column(source)
    if flag:
        return pc.fill_null(pc.is_in(values, value_set=arrays.strings(list(TRUE))), arrays.FALSE)
    return values


def _named(table: pa.Table, keys: tuple[str, ...], shown: str):
    name = ".".join(keys)
    if name not in table.column_names:
        raise TweetlmError(f"{shown}: no column {name!r}, which {DECLARED_NAME} names: its "
                           f"header has {', '.join(map(repr, table.column_names[:8]))}")
    return table.column(name)
