"""A layout nobody taught ingest, declared by the user beside the raw files.

data/raw/<handle>/tweetlm-fields.yaml names the fields (JSON: dotted paths; CSV: column
names) that hold each tweet's id, text and date, and optionally what marks a retweet:

    id: post.uid              # required
    text: post.body           # required
    created_at: post.time     # optional: else the date in a snowflake id
    retweet: kind == repost   # optional: `field` (true where it is true) or `field == value`
    reply: is_reply           # optional, as retweet
    quote: is_quote           # optional, as retweet
    lang: post.language       # optional
    name: author.display_name # optional: the account's display name, for the card
    records: posts            # optional: the list under this key of each JSON value

It is validated like params (one line naming the file and the key). Every JSON and CSV
file of that folder is then read with it; an account archive keeps its own layout.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tweetlm.core.errors import TweetlmError, first_line, show_path
from tweetlm.ingest.formats import Equals, IsTrue, Shape, Str

DECLARED_NAME = "tweetlm-fields.yaml"
PATH_RE = re.compile(r"[^\s=]+(\.[^\s=]+)*")
FLAG_RE = re.compile(r"^\s*([^\s=]+)\s*(?:==\s*(.+?)\s*)?$")


class Fields(BaseModel):
    """The fields of a declared layout (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    text: str
    created_at: str | None = None
    retweet: str | None = None
    reply: str | None = None
    quote: str | None = None
    lang: str | None = None
    name: str | None = None
    records: str | None = None

    @field_validator("id", "text", "created_at", "lang", "name", "records")
    @classmethod
    def _path(cls, value):
        if value is not None and not PATH_RE.fullmatch(value):
            raise ValueError("a field name or dotted path like 'post.body', without blanks")
        return value

    @field_validator("retweet", "reply", "quote")
    @classmethod
    def _flag(cls, value):
        if value is not None and not FLAG_RE.match(value):
            raise ValueError("a field that is true for them, or 'field == value'")
        return value


def load(path: Path) -> Fields:
    """The declared fields in `path`, validated; one line naming the key otherwise."""
    where = show_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise TweetlmError(f"{where}: not readable YAML ({first_line(e)}): write it as "
                           "'id: <field>', 'text: <field>' lines") from None
    if not isinstance(data, dict):
        raise TweetlmError(f"{where}: expected 'id: <field>' and 'text: <field>' lines, found "
                           f"{type(data).__name__}")
    data = {k: (str(v) if isinstance(v, (int, float)) else v) for k, v in data.items()}
    try:
        return Fields.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "(top)"
        problem = {"missing": "is required", "extra_forbidden": "is not a known key (id, text, "
                   "created_at, retweet, reply, quote, lang, name, records)"}.get(
            error["type"], error["msg"].removeprefix("Value error, "))
        raise TweetlmError(f"{where}: {key}: {problem}") from None


def _flag(value: str | None):
    if value is None:
        return ()
    field, equals = FLAG_RE.match(value).groups()
    return (Equals(field, *[v.strip().strip("'\"") for v in equals.split("|")]),) if equals \
        else (IsTrue(field),)


def shape(fields: Fields) -> Shape:
    """The Shape that reads records with these fields."""
    table = {
        "id": (Str(fields.id, ints=True),),  # pyarrow reads text; numbers go the exact way
        "text": (Str(fields.text),),
        "is_retweet": _flag(fields.retweet),
        "is_reply": _flag(fields.reply),
        "is_quote": _flag(fields.quote),
    }
    for column, path in (("created_at", fields.created_at), ("lang", fields.lang),
                         ("name", fields.name)):
        if path:
            table[column] = (Str(path),)
    key = tuple(fields.records.split(".")) if fields.records else ()
    return Shape(table, "declared", key, many=bool(key))
