"""Long posts in full: an archive's data/note-tweet.js joined to its tweets.

Since 2023 a post longer than 280 characters is a "note tweet": the archive's tweets.js
entry holds its first ~275 characters cut with '…' (a link may follow), and
data/note-tweet.js holds the whole text, under a `noteTweetId` that is not the tweet's id.
A note and its tweet are created in the same second, and the cut text is the start of the
note's, once both are compared as a reader sees them (HTML entities decoded, links as
links whatever their address: tweets.js has t.co links where the note may have others; a
reply's leading @mentions, which the note leaves out, set aside): that pair joins them,
and the tweet gets the note's text (after its @mentions). A cut tweet no note matches
keeps its cut text, counted in one warning; a cut retweet ('RT @x: …', cut at 140 by
Twitter) or a short text ending in '…' is no long post.
"""

from __future__ import annotations

import html
import re
from datetime import datetime

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tweetlm.core import arrays
from tweetlm.core.errors import TweetlmError, first_line
from tweetlm.ingest.archive import ytd_value
from tweetlm.ingest.sources import Source

CUT_RE = "\u2026" + r"(?:\s+https://t\.co/\S+)?\s*$"  # '…' (literal: RE2 has no \u), a link
LONG = 200  # characters before the '…' of a long post's cut text (seen: 250-280)
MENTIONS_RE = re.compile(r"^(?:@\w+\s+)+")
LINK_RE = re.compile(r"https?://\S+")


def read_notes(sources: list[Source]) -> dict[int, list[str]]:
    """Second of creation (since 1970) -> the full texts of the notes created then."""
    notes: dict[int, list[str]] = {}
    for source in sources:
        try:
            entries = ytd_value(b"".join(bytes(c) for c in source.chunks(16 << 20)))
        except orjson.JSONDecodeError as e:
            raise TweetlmError(f"{source.shown}: not valid JSON ({first_line(e)}): unpack the "
                               "archive again, or remove note-tweet.js to keep long posts cut")
        for entry in entries if isinstance(entries, list) else []:
            note = entry.get("noteTweet") if isinstance(entry, dict) else None
            text = _get(note, "core", "text")
            created = _get(note, "createdAt")
            if not (isinstance(text, str) and isinstance(created, str)):
                continue
            try:
                second = int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
            except ValueError:
                continue
            notes.setdefault(second, []).append(text)
    return notes


def join_notes(rows: pa.Table, notes: dict[int, list[str]]) -> tuple[pa.Table, int, int]:
    """The archive tweets cut as long posts get their note's full text: (rows, how many
    joined, how many stay cut)."""
    text = rows.column("text")
    cut = pc.and_(pc.equal(rows.column("format"), arrays.scalar("archive", pa.string())),
                  pc.and_(pc.match_substring_regex(text, CUT_RE),
                          pc.invert(pc.starts_with(text, "RT @"))))
    where = np.flatnonzero(arrays.to_numpy(pc.fill_null(cut, arrays.FALSE)))
    if not where.size:
        return rows, 0, 0
    seconds = arrays.to_numpy(rows.column("created_at").take(arrays.ints(where))
                              .cast(pa.int64())) // 1000
    joined, texts, long = [], [], 0
    for i, second, short in zip(where, seconds, text.take(arrays.ints(where)).to_pylist()):
        cut_text = re.sub(CUT_RE, "", short)
        if len(cut_text) < LONG:
            continue
        long += 1
        start = _seen(cut_text).rstrip()
        full = next((n for n in notes.get(int(second), ()) if _seen(n).startswith(start)), None)
        if full is not None:
            joined.append(i)
            mentions = MENTIONS_RE.match(short)
            texts.append(mentions.group(0) + full if mentions and not full.startswith("@")
                         else full)
    if joined:
        mask = np.zeros(rows.num_rows, bool)
        mask[joined] = True
        column = pc.replace_with_mask(text.combine_chunks(), arrays.bools(mask),
                                      arrays.strings(texts))
        rows = rows.set_column(rows.schema.get_field_index("text"), "text", column)
    return rows, len(joined), long - len(joined)


def _seen(text: str) -> str:
    """A text as compared: entities decoded, leading @mentions off, every link one word."""
    return " ".join(LINK_RE.sub("<link>", MENTIONS_RE.sub("", html.unescape(text))).split())


def _get(obj, *keys):
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj
