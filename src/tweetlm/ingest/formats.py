"""The record formats, each one's fields stated once and read both ways.

A format is a table: output column -> its sources in priority order (`note_tweet.text`
before `text`). From the two tables (`V1`, `V2`) and the record shapes they come in
(`SHAPES`: bare, archive-wrapped `{"tweet": ...}`, a v1.1 search response's `statuses`
list, a v2 response's `data` list or single `data` object) follow

- the fast path: the schema pyarrow's JSON reader parses a segment with, only these fields
  (`Shape.schema`), and the rows built from its columns (`Shape.rows_from_arrow`);
- the exact path: the same rows from records parsed one by one with orjson
  (`rows_from_json`), naming the record and field that is wrong.

Adding a field is one edit of a table. A string column is the first source that is not
null; a boolean column is true when any of its sources is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetlm.core import arrays

_S = pa.string()

# Rows as read, before ids and dates are parsed (`v2`: which table they came from).
ROWS = pa.schema([
    ("id", _S), ("created_at", _S), ("text", _S), ("is_retweet", pa.bool_()),
    ("is_reply", pa.bool_()), ("is_quote", pa.bool_()), ("lang", _S), ("v2", pa.bool_()),
    ("latest_id", _S),  # an edited tweet's latest version (table.py keeps only that one)
    ("truncated", pa.bool_()),  # the text is cut short (table.py warns)
])
NOT_TWEETS = ": expected tweets (API v1.1/v2 JSON, JSON Lines or an archive's tweets.js)"


class NotTweet(Exception):
    """A JSON value that is not a tweet, or a tweet field of the wrong type."""


# ---------------------------------------------------------------- sources of a column


class Str:
    """The string at a dotted path (an integer too, where the last key starts with `id`).

    fast=False: pyarrow never reads it (API v1.1 gives `id` as a number, which one string
    column cannot hold); the exact path reads it when the sources before it are null.
    """

    arrow = _S

    def __init__(self, path: str, fast: bool = True):
        self.keys, self.fast = tuple(path.split(".")), fast

    def from_arrow(self, get):
        return get(self.keys)

    def from_json(self, record):
        return _str(record, self.keys)


class Given:
    """True where the path holds a value: a string (type-checked) or, any_type=True, anything
    (pyarrow reads an object)."""

    fast = True

    def __init__(self, path: str, any_type: bool = False):
        self.keys, self.any_type = tuple(path.split(".")), any_type
        self.arrow = pa.struct([]) if any_type else _S

    def from_arrow(self, get):
        return pc.is_valid(get(self.keys))

    def from_json(self, record) -> bool:
        return (_get(record, self.keys) if self.any_type else _str(record, self.keys)) is not None


class IsTrue:
    """True where the path holds `true`."""

    arrow, fast = pa.bool_(), True

    def __init__(self, path: str):
        self.keys = tuple(path.split("."))

    def from_arrow(self, get):
        return pc.fill_null(get(self.keys), arrays.FALSE)

    def from_json(self, record) -> bool:
        return _get(record, self.keys) is True


class HasType:
    """True where the list at the path holds an object whose `type` is `value`."""

    arrow, fast = pa.list_(pa.struct([("type", _S)])), True

    def __init__(self, path: str, value: str):
        self.keys, self.value = tuple(path.split(".")), value

    def from_arrow(self, get):
        refs = get(self.keys)
        types = pc.struct_field(pc.list_flatten(refs), "type")
        hits = arrays.to_numpy(pc.fill_null(pc.equal(types, arrays.scalar(self.value, _S)),
                                            arrays.FALSE))
        parents = arrays.to_numpy(pc.list_parent_indices(refs))
        return arrays.bools(np.bincount(parents[hits], minlength=len(refs)) > 0)

    def from_json(self, record) -> bool:
        refs = _get(record, self.keys)
        return isinstance(refs, list) and any(isinstance(r, dict) and r.get("type") == self.value
                                              for r in refs)


class LastOf:
    """The last item of the list of ids at the path: an edit chain lists a tweet's versions
    oldest first. Anything else there is no chain (None): edit metadata never stops a stage."""

    arrow, fast = pa.list_(_S), True

    def __init__(self, path: str):
        self.keys = tuple(path.split("."))

    def from_arrow(self, get):
        chains = get(self.keys)
        parents = arrays.to_numpy(pc.list_parent_indices(chains))
        index = np.full(len(chains), -1)
        if len(parents):  # the position of each chain's last item among all items
            last = np.flatnonzero(np.r_[parents[1:] != parents[:-1], True])
            index[parents[last]] = last
        return pc.list_flatten(chains).take(arrays.ints(index, valid=index >= 0))

    def from_json(self, record):
        chain = _get(record, self.keys)
        last = chain[-1] if isinstance(chain, list) and chain else None
        return str(last) if isinstance(last, (str, int)) and not isinstance(last, bool) else None


class CutText:
    """True where `truncated` is true and no `extended_tweet.full_text` makes up for it: a
    v1.1 timeline saved without tweet_mode=extended gives `text` cut near 140 characters
    ('...us\u2026 https://t.co/...')."""

    keys, arrow, fast = ("truncated",), pa.bool_(), True
    _FULL = ("extended_tweet", "full_text")  # read for the text column too

    def from_arrow(self, get):
        return pc.and_(pc.fill_null(get(self.keys), arrays.FALSE), pc.is_null(get(self._FULL)))

    def from_json(self, record) -> bool:
        return _get(record, self.keys) is True and not isinstance(_get(record, self._FULL), str)


# ---------------------------------------------------------------- the formats

# Column order is the exact path's order of checks: the first field of a wrong type is named.
V1 = {  # API v1.1 statuses; the archive's entries too (numbers as strings, no retweet flag)
    "id": (Str("id_str"), Str("id", fast=False)),
    "text": (Str("extended_tweet.full_text"), Str("full_text"), Str("text")),
    "is_retweet": (Given("retweeted_status", any_type=True),),
    "is_reply": (Given("in_reply_to_status_id_str"), Given("in_reply_to_user_id_str")),
    "is_quote": (IsTrue("is_quote_status"), Given("quoted_status_id_str")),
    "created_at": (Str("created_at"),),  # 'Wed Oct 10 20:19:24 +0000 2018'
    "lang": (Str("lang"),),
    # archives: each version of an edited tweet is an entry of its own, the edits with
    # edit_info.edit, the first with edit_info.initial, each listing the chain
    "latest_id": (LastOf("edit_info.edit.editControlInitial.editTweetIds"),
                  LastOf("edit_info.initial.editTweetIds")),
    "truncated": (CutText(),),
}
V2 = {  # API v2 tweets
    "id": (Str("id"),),
    "text": (Str("note_tweet.text"), Str("text")),
    "is_retweet": (HasType("referenced_tweets", "retweeted"),),
    "is_reply": (HasType("referenced_tweets", "replied_to"), Given("in_reply_to_user_id")),
    "is_quote": (HasType("referenced_tweets", "quoted"),),
    "created_at": (Str("created_at"),),  # ISO 8601
    "lang": (Str("lang"),),
    "latest_id": (LastOf("edit_history_tweet_ids"),),  # a default field
    "truncated": (IsTrue("truncated"),),  # v2 has no such field: always false
}


@dataclass(frozen=True)
class Shape:
    """How records of a format come: bare, under `key` (`{"tweet": {...}}`), or, `many`, as
    a list under `key` (a v2 page's `"data": [...]`)."""

    fields: dict
    v2: bool
    key: str | None = None
    many: bool = False
    what: str = "a record"  # named when a record has no id

    @cached_property
    def record_type(self) -> pa.StructType:
        """The fields pyarrow reads from one record, nested as the paths say."""
        tree: dict = {}
        for sources in self.fields.values():
            for source in sources:
                if not source.fast:
                    continue
                *parents, last = source.keys
                node = tree
                for key in parents:
                    node = node.setdefault(key, {})
                assert node.setdefault(last, source.arrow) == source.arrow, source.keys

        def build(node: dict) -> pa.StructType:
            return pa.struct([(k, build(v) if isinstance(v, dict) else v) for k, v in node.items()])
        return build(tree)

    @cached_property
    def schema(self) -> pa.Schema:
        """What pyarrow reads for a top-level record of this shape."""
        if self.key is None:
            return pa.schema(list(self.record_type))
        inner = pa.list_(self.record_type) if self.many else self.record_type
        return pa.schema([(self.key, inner)])

    def rows_from_arrow(self, top: pa.StructArray) -> pa.Table | None:
        """ROWS from pyarrow's records (`top`, of `schema`); None if some record lacks an id
        (the exact path then says which)."""
        records = top  # one per tweet
        if self.key is not None:
            records = pc.struct_field(records, self.key)
            if self.many:
                records = pc.list_flatten(records)
        cache: dict = {}

        def get(keys):
            if keys not in cache:
                cache[keys] = pc.struct_field(get(keys[:-1]), keys[-1]) if len(keys) > 1 else \
                    pc.struct_field(records, keys[0])
            return cache[keys]

        columns = {"v2": arrays.bools(np.full(len(records), self.v2))}
        for name, sources in self.fields.items():
            values = [s.from_arrow(get) for s in sources if s.fast]
            if ROWS.field(name).type == pa.bool_():
                column = values[0]
                for more in values[1:]:
                    column = pc.or_(column, more)
            else:
                column = values[0] if len(values) == 1 else pc.coalesce(*values)
            if name == "id" and column.null_count:
                return None
            columns[name] = column
        return pa.Table.from_pydict(columns, schema=ROWS)

    def row_from_json(self, record) -> dict:
        """One ROWS row from one parsed record (a dict for the page's entries, checked)."""
        row = {}
        no_id = f"{self.what} with no tweet id{NOT_TWEETS}"
        if not isinstance(record, dict):
            raise NotTweet(no_id)
        for name, sources in self.fields.items():
            if ROWS.field(name).type == pa.bool_():
                row[name] = any(s.from_json(record) for s in sources)
                continue
            # every source pyarrow reads is checked, as pyarrow checks it; the others only
            # when those are all null
            value = _first([s.from_json(record) for s in sources if s.fast])
            if value is None:
                value = _first(s.from_json(record) for s in sources if not s.fast)
            if name == "id" and value is None:
                raise NotTweet(no_id)
            row[name] = value
        row["v2"] = self.v2
        return row


assert set(V1) == set(V2) == set(ROWS.names) - {"v2"}

SHAPES = {  # record shape -> its format and wrapping
    "v1": Shape(V1, v2=False),  # a v1.1 tweet (a line of twarc1, an element of a timeline)
    "wrapped": Shape(V1, v2=False, key="tweet"),  # the archive's {"tweet": {...}}
    "statuses": Shape(V1, v2=False, key="statuses", many=True, what="a v1.1 'statuses' entry"),
    "v2": Shape(V2, v2=True),
    "page": Shape(V2, v2=True, key="data", many=True, what="a v2 'data' entry"),
    "single": Shape(V2, v2=True, key="data", what="a v2 'data' object"),  # GET /2/tweets/:id
}
ENVELOPE_KEYS = {"data", "meta", "includes", "errors"}  # a v2 response's; twarc2 adds __twarc


def kind_of(record) -> str | None:
    """The shape (a key of SHAPES) of one parsed top-level record, or None: not a tweet."""
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("tweet"), dict):
        return "wrapped"
    if "id" not in record and "id_str" not in record:
        if isinstance(record.get("statuses"), list):  # a v1.1 search response
            return "statuses"
        if record.keys() & ENVELOPE_KEYS:
            return "single" if isinstance(record.get("data"), dict) else "page"
    if "id_str" in record or isinstance(record.get("id"), int):
        return "v1"
    if isinstance(record.get("id"), str):
        return "v2"
    return None


def rows_from_json(value) -> list[dict]:
    """ROWS rows from one parsed JSON value: a tweet, an archive entry, a v2 page, or a list
    of them. Raises NotTweet, saying what is wrong."""
    if isinstance(value, list):
        return [r for v in value for r in rows_from_json(v)]
    kind = kind_of(value)
    if kind is None:
        raise NotTweet(("a record with no tweet id" if isinstance(value, dict)
                        else f"{json_type(value)} where a tweet belongs") + NOT_TWEETS)
    shape = SHAPES[kind]
    records = [value if shape.key is None else value.get(shape.key)]
    if shape.many:
        data = records[0]
        records = [data] if isinstance(data, dict) else data or []
        if not isinstance(records, list):
            raise NotTweet(f"'{shape.key}' is {json_type(data)}, not a list of tweets: fix the file")
    return [shape.row_from_json(r) for r in records]


def json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _first(values):
    return next((v for v in values if v is not None), None)


def _get(obj, keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _str(obj, keys):
    value = _get(obj, keys)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and keys[-1].startswith("id"):
        return str(value)
    raise NotTweet(f"'{'.'.join(keys)}' is {json_type(value)}, not a string: fix the file")
