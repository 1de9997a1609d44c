"""The record layouts, each one's fields stated once and read both ways.

A layout is a table: output column -> its sources in priority order (`note_tweet.text`
before `text`): API v1.1 (`V1`), API v2 (`V2`), X's GraphQL tweet objects (`GRAPHQL`, as
the web app, twikit and twscrape's raw calls get them), snscrape and twscrape's models
(`SNSCRAPE`), twint (`TWINT`), twitter-web-exporter (`EXPORTER`), camelCase scraper items
(`CAMEL`: Apify actors, scraping services), published datasets (`DATASET`), and a layout
the user declares (declared.py). A table comes in record shapes (`shape()`): bare, wrapped
(`{"tweet": ...}` of the archive, `{"tweet_obj": ...}`), or a list under a key (a v1.1
search response's `statuses`, a v2 page's `data`, a wrapper's `tweets`/`items`/...);
`kind_of` tells a record's shape by its keys. From a shape follow

- the fast path: the schema pyarrow's JSON reader parses a segment with, only these fields
  (`Shape.schema`), and the rows built from its columns (`Shape.rows_from_arrow`);
- the exact path: the same rows from records parsed one by one with orjson
  (`rows_from_json`), naming the record and field that is wrong.

Adding a field is one edit of a table. A string column is the first source that is not
null; a boolean column is true when any of its sources is; a column a table lacks is null
(false). A record of no known shape is not a tweet: skipped and counted (an error item of
a scraper, a dataset's metadata line), never an error by itself.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetlm.core import arrays

_S = pa.string()

# Rows as read, before ids and dates are parsed.
ROWS = pa.schema([
    ("id", _S), ("created_at", _S), ("text", _S), ("is_retweet", pa.bool_()),
    ("is_reply", pa.bool_()), ("is_quote", pa.bool_()), ("lang", _S),
    ("format", _S),  # the layout's name (`Shape.format`)
    ("latest_id", _S),  # an edited tweet's latest version (table.py keeps only that one)
    ("truncated", pa.bool_()),  # the text is cut short (table.py warns)
    ("name", _S),  # the author's display name, where the record has its user (the card's)
    # the author's handle, in layouts that also hold others' tweets as records of their own
    # (a conversation's parent, a retweeted original): table.py keeps the account's
    ("author", _S),
])


class NotTweet(Exception):
    """A JSON value that is not a tweet, or a tweet field of the wrong type."""


# ---------------------------------------------------------------- sources of a column


class Str:
    """The string at a dotted path; an integer there too where `number` (or the last key
    starts with `id`), read by pyarrow as int64 when `number`.

    fast=False: pyarrow never reads it (API v1.1 gives `id` as a number beside `id_str`,
    which one string column cannot hold); the exact path reads it when the sources before
    it are null.
    """

    def __init__(self, path: str, fast: bool = True, number: bool = False, ints: bool = False):
        self.keys, self.fast, self.number = tuple(path.split(".")), fast, number
        self.ints = ints or number  # the exact path takes an integer too (pyarrow: text only)
        self.arrow = pa.int64() if number else _S

    def from_arrow(self, get):
        values = get(self.keys)
        return values.cast(_S) if self.number else values

    def from_json(self, record):
        return _str(record, self.keys, self.ints)


BLANK = arrays.scalar(" ", _S)  # the separator as Arrow's (a Python one loads pandas)


class Joined:
    """Strings at several paths joined by a blank, null unless all are there: twint's
    `date` + `time` + `timezone` ('2021-09-15 04:53:00 -0400')."""

    arrow, fast = _S, True

    def __init__(self, *paths: str):
        self.parts = [Str(p) for p in paths]
        self.keys = self.parts[0].keys  # (the schema builder reads `parts`)

    def from_arrow(self, get):
        return pc.binary_join_element_wise(*[p.from_arrow(get) for p in self.parts], BLANK)

    def from_json(self, record):
        values = [p.from_json(record) for p in self.parts]
        return None if None in values else " ".join(values)


class Given:
    """True where the path holds a value: a string (type-checked), a number (`number`), or,
    any_type=True, anything (pyarrow reads an object)."""

    fast = True

    def __init__(self, path: str, any_type: bool = False, number: bool = False):
        self.keys, self.any_type, self.number = tuple(path.split(".")), any_type, number
        self.arrow = pa.struct([]) if any_type else pa.int64() if number else _S

    def from_arrow(self, get):
        return pc.is_valid(get(self.keys))

    def from_json(self, record) -> bool:
        if self.any_type:
            return _get(record, self.keys) is not None
        return _str(record, self.keys, self.number) is not None


class IsTrue:
    """True where the path holds `true`."""

    arrow, fast = pa.bool_(), True

    def __init__(self, path: str):
        self.keys = tuple(path.split("."))

    def from_arrow(self, get):
        return pc.fill_null(get(self.keys), arrays.FALSE)

    def from_json(self, record) -> bool:
        return _get(record, self.keys) is True


class Equals:
    """True where the string at the path is one of `values` (a dataset's `post_type`)."""

    arrow, fast = _S, True

    def __init__(self, path: str, *values: str):
        self.keys, self.values = tuple(path.split(".")), values

    def from_arrow(self, get):
        hits = pc.is_in(get(self.keys), value_set=arrays.strings(list(self.values)))
        return pc.fill_null(hits, arrays.FALSE)

    def from_json(self, record) -> bool:
        return _str(record, self.keys) in self.values


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


# ---------------------------------------------------------------- the layouts

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
    "name": (Str("user.name"),),
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
}

def _either(table: dict) -> dict:
    """A GraphQL table that reads a Tweet bare or as TweetWithVisibilityResults, which
    holds it under `tweet` (one file has both: one schema reads both, fast)."""
    def under(source):
        moved = copy.copy(source)
        moved.keys = ("tweet", *source.keys)
        return moved
    return {column: sources + tuple(under(s) for s in sources) for column, sources in table.items()}


GRAPHQL = _either({  # X's web API: a Tweet result (twikit's and twscrape's raw calls, timelines)
    "id": (Str("rest_id"),),
    "text": (Str("note_tweet.note_tweet_results.result.text"), Str("legacy.full_text")),
    "is_retweet": (Given("legacy.retweeted_status_result", any_type=True),),
    "is_reply": (Given("legacy.in_reply_to_status_id_str"),),
    "is_quote": (IsTrue("legacy.is_quote_status"),),
    "created_at": (Str("legacy.created_at"),),  # v1.1's 'Wed Oct 10 20:19:24 +0000 2018'
    "lang": (Str("legacy.lang"),),
    "latest_id": (LastOf("edit_control.edit_tweet_ids"),
                  LastOf("edit_control.edit_control_initial.edit_tweet_ids")),
    "name": (Str("core.user_results.result.legacy.name"),
             Str("core.user_results.result.core.name")),  # 2025 moved it to `core`
    "author": (Str("core.user_results.result.legacy.screen_name"),
               Str("core.user_results.result.core.screen_name")),
})
SNSCRAPE = {  # snscrape's Tweet (0.3: `content`; 0.4 on: `rawContent`), twscrape's model
    "id": (Str("id", number=True),),
    # `renderedContent` is the text with links expanded for display: not what was typed
    "text": (Str("rawContent"), Str("content")),
    "is_retweet": (Given("retweetedTweet", any_type=True),),
    "is_reply": (Given("inReplyToTweetId", number=True),),
    "is_quote": (Given("quotedTweet", any_type=True),),  # someone else's: not read as a row
    "created_at": (Str("date"),),  # ISO 8601, '2021-09-15T08:53:00+00:00'
    "lang": (Str("lang"),),
    "name": (Str("user.displayname"),),
}
TWINT = {  # twint's JSON: its date is `date` `time` `timezone` (created_at has a zone name)
    "id": (Str("id", number=True),),
    "text": (Str("tweet"),),
    "is_retweet": (IsTrue("retweet"),),
    "created_at": (Joined("date", "time", "timezone"),),  # '2021-09-15 04:53:00 -0400'
    "lang": (Str("language"),),
    "name": (Str("name"),),
}
EXPORTER = {  # prinsss/twitter-web-exporter's JSON export; Apify's 2021 twitter-scraper too
    "id": (Str("id"),),
    "text": (Str("full_text"),),
    # the source tweet's id (`retweeted`, beside it, is the viewer's own flag)
    "is_retweet": (Given("retweeted_status"),),
    "is_reply": (Given("in_reply_to"),),
    "is_quote": (Given("quoted_status"),),
    "created_at": (Str("created_at"),),  # '2023-04-08 13:00:00 +02:00'; Apify: ISO 8601
    "name": (Str("name"), Str("user.name")),
    "author": (Str("screen_name"), Str("user.screen_name")),
}
CAMEL = {  # scraper items in camelCase (Apify's tweet scrapers, scraping services' results)
    "id": (Str("id"),),
    "text": (Str("fullText"), Str("text")),
    "is_retweet": (IsTrue("isRetweet"),),
    "is_reply": (IsTrue("isReply"),),
    "is_quote": (IsTrue("isQuote"),),
    "created_at": (Str("createdAt"),),
    "lang": (Str("lang"),),
    "name": (Str("author.name"),),
}
DATASET = {  # published research datasets: tweet_id, published_at_utc, text, post_type
    "id": (Str("tweet_id", ints=True),),
    "text": (Str("text"),),
    "is_retweet": (Equals("post_type", "retweet", "repost"),),
    "is_reply": (Equals("post_type", "reply"),),
    "is_quote": (Equals("post_type", "quote"),),
    "created_at": (Str("published_at_utc"),),
    "lang": (Str("lang"),),
}
TABLES = {  # layout -> (its table, the `format` its rows get)
    "v1": (V1, "v1.1"), "v2": (V2, "v2"), "graphql": (GRAPHQL, "graphql"),
    "snscrape": (SNSCRAPE, "snscrape"), "twint": (TWINT, "twint"),
    "exporter": (EXPORTER, "web-exporter"), "camel": (CAMEL, "scraper"),
    "dataset": (DATASET, "dataset"),
}
# What each layout must have, for the message of a file that fits none (the nearest)
REQUIRED = {
    "v1": ("id_str", "full_text", "created_at"), "v2": ("id", "text", "created_at"),
    "graphql": ("rest_id", "legacy"), "snscrape": ("id", "rawContent", "date"),
    "twint": ("id", "tweet", "date", "time", "timezone"),
    "exporter": ("id", "full_text", "created_at", "screen_name"),
    "camel": ("id", "text", "createdAt"), "dataset": ("tweet_id", "text", "published_at_utc"),
}
SHOWN = {"v1": "API v1.1", "v2": "API v2", "graphql": "X GraphQL", "snscrape": "snscrape",
         "twint": "twint", "exporter": "twitter-web-exporter", "camel": "scraper items",
         "dataset": "dataset"}
# Keys of wrapper objects whose list holds the tweets (a scraping service's result, a dataset
# export); `statuses` is v1.1 search's, `data` v2's (their own shapes).
LIST_KEYS = ("tweets", "items", "results", "posts", "records", "entries")


@dataclass(frozen=True)
class Shape:
    """How records of a layout come: bare, under `key` (a path: `{"tweet": {...}}`), or,
    `many`, as a list under `key` (a v2 page's `"data": [...]`)."""

    fields: dict
    format: str
    key: tuple[str, ...] = ()
    many: bool = False

    @cached_property
    def record_type(self) -> pa.StructType:
        """The fields pyarrow reads from one record, nested as the paths say."""
        tree: dict = {}
        for sources in self.fields.values():
            for source in sources:
                for leaf in getattr(source, "parts", [source]):
                    if not leaf.fast:
                        continue
                    *parents, last = leaf.keys
                    node = tree
                    for key in parents:
                        node = node.setdefault(key, {})
                    assert node.setdefault(last, leaf.arrow) == leaf.arrow, leaf.keys

        def build(node: dict) -> pa.StructType:
            return pa.struct([(k, build(v) if isinstance(v, dict) else v) for k, v in node.items()])
        return build(tree)

    @cached_property
    def schema(self) -> pa.Schema:
        """What pyarrow reads for a top-level record of this shape."""
        inner = self.record_type
        for i, key in enumerate(reversed(self.key)):
            inner = pa.struct([(key, pa.list_(inner) if self.many and i == 0 else inner)])
        return pa.schema(list(inner))

    def rows_from_arrow(self, top: pa.StructArray, lead: int = 0) -> tuple[pa.Table, int] | None:
        """ROWS from pyarrow's records (`top`, of `schema`), and how many were left out: the
        first `lead` records, known to be no tweets. None if another record lacks an id
        (the records are not all of this shape: read them one by one)."""
        records = top  # one per tweet
        for key in self.key:
            records = pc.struct_field(records, key)
        if self.many:
            records = pc.list_flatten(records)
        cache: dict = {}

        def get(keys):
            if keys not in cache:
                cache[keys] = pc.struct_field(get(keys[:-1]), keys[-1]) if len(keys) > 1 else \
                    pc.struct_field(records, keys[0])
            return cache[keys]

        n = len(records)
        columns = {}
        for field in ROWS:
            sources = self.fields.get(field.name)
            if field.name == "format":
                columns["format"] = pa.repeat(arrays.scalar(self.format, _S), n)
            elif not sources:
                columns[field.name] = absent(field, n)
            else:
                values = [s.from_arrow(get) for s in sources if s.fast]
                if field.type == pa.bool_():
                    column = values[0]
                    for more in values[1:]:
                        column = pc.or_(column, more)
                else:
                    column = values[0] if len(values) == 1 else pc.coalesce(*values)
                columns[field.name] = column
        table = pa.Table.from_pydict(columns, schema=ROWS)
        no_id = table.column("id").null_count
        if not no_id:
            return table, 0
        if self.many or no_id > lead or table.column("id").slice(0, lead).null_count < no_id:
            return None
        return table.slice(lead), lead

    def row_from_json(self, record) -> dict:
        """One ROWS row from one parsed record (a dict, checked)."""
        row = {}
        for field in ROWS:
            sources = self.fields.get(field.name, ())
            if field.type == pa.bool_():
                row[field.name] = any(s.from_json(record) for s in sources)
                continue
            # every source pyarrow reads is checked, as pyarrow checks it; the others only
            # when those are all null
            value = _first([s.from_json(record) for s in sources if s.fast])
            if value is None:
                value = _first(s.from_json(record) for s in sources if not s.fast)
            row[field.name] = value
        row["format"] = self.format
        return row


def absent(field: pa.Field, n: int) -> pa.Array:
    """A ROWS column a layout does not have: nulls, or false for a flag."""
    return arrays.bools(np.zeros(n, bool)) if field.type == pa.bool_() else pa.nulls(n, field.type)


@cache
def shape(kind: str) -> Shape | None:
    """The Shape of a kind `kind_of` names; None for a timeline (read the exact way only)."""
    if kind == "timeline":
        return None
    if "@" in kind:  # a list of `inner` records under `key`
        inner, key = kind.split("@")
        base = shape(inner)
        return Shape(base.fields, base.format, (key,), many=True)
    fields, name = TABLES[{"wrapped": "v1", "statuses": "v1", "page": "v2", "single": "v2",
                           "envelope": "graphql"}.get(kind, kind)]
    return {
        "wrapped": Shape(fields, name, ("tweet",)),  # the archive's {"tweet": {...}}
        "statuses": Shape(fields, name, ("statuses",), many=True),
        "page": Shape(fields, name, ("data",), many=True),
        "single": Shape(fields, name, ("data",)),  # GET /2/tweets/:id
        "envelope": Shape(fields, name, ("tweet_obj",)),  # {"collected_at", ..., "tweet_obj"}
    }.get(kind) or Shape(fields, name)


ENVELOPE_KEYS = {"data", "meta", "includes", "errors"}  # a v2 response's; twarc2 adds __twarc


def bare_kind(record: dict) -> str | None:
    """The layout (a key of TABLES) of one bare tweet record, or None."""
    tid = record.get("id")
    if "rest_id" in record and isinstance(record.get("legacy"), dict):
        return "graphql"
    if isinstance(record.get("tweet"), str) and "date" in record and "time" in record:
        return "twint"
    if ("rawContent" in record or "content" in record) and "date" in record and tid is not None:
        return "snscrape"
    if "tweet_id" in record and "text" in record:
        return "dataset"
    if "createdAt" in record and ("text" in record or "fullText" in record) and tid is not None \
            and "id_str" not in record:
        return "camel"
    if "id_str" in record or (isinstance(tid, int) and not isinstance(tid, bool)):
        return "v1"
    if isinstance(tid, str):
        return "exporter" if "full_text" in record else "v2"
    return None


def kind_of(record) -> str | None:
    """The shape (`shape(kind)`) of one parsed top-level record, or None: not a tweet."""
    if not isinstance(record, dict):
        return None
    for key, kinds in (("tweet", {"v1": "wrapped", "graphql": "graphql"}),
                       ("tweet_obj", {"graphql": "envelope"})):
        inner = record.get(key)
        if isinstance(inner, dict):  # TweetWithVisibilityResults holds the Tweet under `tweet`
            kind = kinds.get(bare_kind(inner) or bare_kind(inner.get("tweet") or {}) or "")
            if kind:
                return kind
    kind = bare_kind(record)
    if kind:
        return kind
    if isinstance(record.get("statuses"), list):  # a v1.1 search response
        return "statuses"
    if _instructions(record) is not None:  # a timeline response saved from the browser
        return "timeline"
    if record.keys() & ENVELOPE_KEYS:
        return "single" if isinstance(record.get("data"), dict) else "page"
    for key in LIST_KEYS:  # {"handle": ..., "scrapedAt": ..., "tweets": [...]}
        items = record.get(key)
        if isinstance(items, list):
            first = next((i for i in items if isinstance(i, dict) and bare_kind(i)), None)
            if first is not None:
                return f"{bare_kind(first)}@{key}"
    return None


def _instructions(record: dict, depth: int = 7):
    """The `instructions` list of a GraphQL timeline response (`data.user.result.timeline_v2
    .timeline.instructions`, a search's, a thread's), or None."""
    if depth == 0:
        return None
    for key, value in record.items():
        if key == "instructions" and isinstance(value, list):
            return value
        if isinstance(value, dict):
            found = _instructions(value, depth - 1)
            if found is not None:
                return found
    return None


def timeline_tweets(record: dict, skipped: list[int]) -> list[dict]:
    """The account's tweet results in a timeline response: every entry's
    `content.itemContent.tweet_results.result` (a module's `content.items[].item
    .itemContent...` too), unwrapped from TweetWithVisibilityResults; ads, tombstones and
    other accounts' tweets in conversations left out and counted in `skipped[0]`."""
    results = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            content = node.get("itemContent")
            if isinstance(content, dict) and "tweet_results" in content:
                result = _get(content, ("tweet_results", "result"))
                if isinstance(result, dict) and isinstance(result.get("tweet"), dict):
                    result = result["tweet"]
                if content.get("promotedMetadata") is None and isinstance(result, dict) \
                        and bare_kind(result) == "graphql":
                    results.append(result)
                else:
                    skipped[0] += 1
                return
            for value in node.values():
                walk(value)

    walk(_instructions(record))
    authors = [_author(r) for r in results]
    named = [a for a in authors if a]
    if not named:
        return results
    account = max(set(named), key=named.count)  # a conversation module holds others' replies
    skipped[0] += sum(a is not None and a != account for a in authors)
    return [r for r, a in zip(results, authors) if a is None or a == account]


def _author(result: dict) -> str | None:
    user = _get(result, ("core", "user_results", "result"))
    name = _get(user, ("legacy", "screen_name")) or _get(user, ("core", "screen_name"))
    return name if isinstance(name, str) else None


def rows_from_json(value, skipped: list[int], declared: Shape | None = None) -> list[dict]:
    """ROWS rows from one parsed JSON value: a tweet, an archive entry, a page, a timeline,
    or a list of them (read with the `declared` shape, if given); what is no tweet is
    counted in `skipped[0]`. Raises NotTweet for a tweet whose field has the wrong type."""
    if isinstance(value, list):
        return [r for v in value for r in rows_from_json(v, skipped, declared)]
    if not isinstance(value, dict):
        raise NotTweet(f"{json_type(value)} where a tweet belongs: expected tweet objects "
                       "(API, scraper or dataset JSON, JSON Lines or an archive's tweets.js)")
    kind = "declared" if declared else kind_of(value)
    if kind is None:
        skipped[0] += 1
        return []
    if kind == "timeline":
        return [shape("graphql").row_from_json(r) for r in timeline_tweets(value, skipped)]
    form = declared or shape(kind)
    records = [_get(value, form.key)]
    if form.many:
        data = records[0]
        records = data or []
        if not isinstance(records, list):
            raise NotTweet(f"'{'.'.join(form.key)}' is {json_type(data)}, not a list of tweets: "
                           "fix the file")
    if form.many or declared:  # a list's items: error items and the like are no tweets
        tweets = [r for r in records if isinstance(r, dict) and
                  (bare_kind(r) if not declared else _get(r, form.fields["id"][0].keys) is not None)]
        skipped[0] += len(records) - len(tweets)
        records = tweets
    rows = [form.row_from_json(r) for r in records]
    tweets = [r for r in rows if r["id"] is not None]  # `{"data": {...}}` without an id
    skipped[0] += len(rows) - len(tweets)
    return tweets


def nearest(keys: set[str]) -> tuple[str, str] | None:
    """The known layout whose required keys these keys come closest to, and one it lacks."""
    scored = [(sum(k in keys for k in need), name) for name, need in REQUIRED.items()]
    score, name = max(scored)
    if not score:
        return None
    return SHOWN[name], next(k for k in REQUIRED[name] if k not in keys)


def json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _first(values):
    return next((v for v in values if v is not None), None)


def _get(obj, keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _str(obj, keys, number: bool = False):
    value = _get(obj, keys)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and \
            (number or keys[-1].startswith("id")):
        return str(value)
    raise NotTweet(f"'{'.'.join(keys)}' is {json_type(value)}, not a string: fix the file")
