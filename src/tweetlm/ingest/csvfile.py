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
from tweetlm.ingest.formats import BLANK, ROWS, Equals, IsTrue, Shape, absent

COLUMNS = {  # output column -> header names (as `_key` folds them), first found wins
    "id": ("idstr", "tweetid", "id", "restid", "statusid"),
    "text": ("fulltext", "rawcontent", "text", "tweet", "content", "body"),
    "created_at": ("createdat", "publishedatutc", "datetime", "timestamp", "date"),
    "is_retweet": ("isretweet", "retweet"),  # `retweeted` is the viewer's own flag
    "is_reply": ("isreply",),
    "is_quote": ("isquote", "isquotestatus"),
    "lang": ("lang", "language"),
    "name": ("name", "authorname", "displayname"),
    "author": ("screenname",),  # twitter-web-exporter's: others' tweets are rows too
}
TRUE = ("true", "True", "TRUE", "1", "yes")
# flags told by another column holding something: the source tweet's id, the quoted link
GIVEN = {"is_retweet": ("retweetedstatus", "retweetedstatusid", "retweetid"),
         "is_reply": ("inreplyto", "inreplytostatusid", "inreplytostatusidstr"),
         "is_quote": ("quotedstatus", "quotedstatusid", "quoteurl")}


def header(head: bytes) -> tuple[list[str], str] | None:
    """The column names of a CSV's first line and its delimiter (comma or tab), or None if it
    is no CSV header."""
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip("\r\ufeff")
    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    if delimiter not in line:
        return None
    names = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    # pandas' to_csv writes its index first, under no name
    ok = len(names) > 1 and all(n.strip() for n in names[1:])
    return (names, delimiter) if ok else None


def _key(name: str) -> str:
    """A header name folded: 'Tweet Id', 'tweet_id' and 'tweetId' are one."""
    return "".join(c for c in name.lower() if c.isalnum())


def plan(names: list[str], declared: Shape | None) -> dict[str, object] | None:
    """Output column -> the header column it comes from (a tuple: joined; a source object
    of a declared layout), or None if no id and text columns are there."""
    if declared is not None:
        return {column: sources[0] for column, sources in declared.fields.items() if sources}
    have = {}
    for name in names:
        have.setdefault(_key(name), name)
    found = {column: next((have[k] for k in options if k in have), None)
             for column, options in COLUMNS.items()}
    if {"date", "time"} <= have.keys():  # twint: its date, time and zone offset in three columns
        found["created_at"] = tuple(have[k] for k in ("date", "time", "timezone") if k in have)
    for column, options in GIVEN.items():
        given = [have[k] for k in options if k in have]
        if given:
            found[column] = (found[column], *given) if found[column] else ("", *given)
    if not found["id"] or not found["text"]:
        return None
    return {column: name for column, name in found.items() if name}


# twitter-web-exporter's CSV writes a newline inside a text as the two characters '\n'
EXPORTER_HEADER = ("id", "created_at", "full_text", "media", "screen_name", "name")


def read_csv(f, names: list[str], delimiter: str, columns: dict, shown: str) -> pa.Table:
    """ROWS from a CSV file object whose header is `names`, split at `delimiter`."""
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
    if tuple(names[:len(EXPORTER_HEADER)]) == EXPORTER_HEADER:
        out["text"] = pc.replace_substring(out["text"], "\\n", "\n")
    return pa.Table.from_pydict(out, schema=ROWS)


def _column(table: pa.Table, source, flag: bool, shown: str):
    if isinstance(source, tuple) and flag:  # a true/false column, then columns given or not
        hits = [_column(table, source[0], True, shown)] if source[0] else []
        hits += [pc.fill_null(pc.not_equal(table.column(c), arrays.scalar("", pa.string())),
                              arrays.FALSE) for c in source[1:]]
        return _any(hits)
    if isinstance(source, tuple):  # twint's date + time + timezone
        return pc.binary_join_element_wise(*[table.column(c) for c in source], BLANK)
    if isinstance(source, (IsTrue, Equals)):  # a declared flag
        values = _named(table, source.keys, shown)
        wanted = TRUE if isinstance(source, IsTrue) else source.values
        return pc.fill_null(pc.is_in(values, value_set=arrays.strings(list(wanted))), arrays.FALSE)
    values = _named(table, source.keys, shown) if hasattr(source, "keys") else table.column(source)
    if flag:
        return pc.fill_null(pc.is_in(values, value_set=arrays.strings(list(TRUE))), arrays.FALSE)
    return values


def _any(hits):
    return hits[0] if len(hits) == 1 else pc.or_(hits[0], _any(hits[1:]))


def _named(table: pa.Table, keys: tuple[str, ...], shown: str):
    name = ".".join(keys)
    if name not in table.column_names:
        raise TweetlmError(f"{shown}: no column {name!r}, which {DECLARED_NAME} names: its "
                           f"header has {', '.join(map(repr, table.column_names[:8]))}")
    return table.column(name)
