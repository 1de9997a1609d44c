"""The text rules, one tweet at a time: what a retweet is, how a tweet is cleaned, when it is
too short. Shared by the filter stage (which applies them to whole columns with Arrow and must
give identical results, tests/test_filter.py) and predict's memorization check (which compares
samples and training tweets after the same cleaning), so neither stage imports the other.

The rules are huggingtweets', made exact. Whitespace everywhere means what Python's
str.split() splits on (str.isspace(): includes U+00A0, U+3000 and the \\x1c-\\x1f separators).

1. Retweet: ingest's structural flag `is_retweet` (v1.1 `retweeted_status`, v2
   `referenced_tweets` of type `retweeted`), or the RAW text -- as ingest stored it, before
   entity unescaping or stripping -- starts with exactly "RT @" (archives carry no flag; this
   is the test huggingtweets applied to `full_text`). "RT @" anywhere else is not a retweet.
2. Cleaning: NUL characters (U+0000, a `\\u0000` in the JSON) deleted; html.unescape() once
   (so "&amp;amp;" -> "&amp;"); every whitespace-separated
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
   "#" (case-insensitive; "Email@x", "HTTPServer", "c#" don't count).
   Words are counted by spaces, as huggingtweets did: a tweet in Japanese or Chinese is one
   word however long it is.
"""

from __future__ import annotations

import html

# str.split()'s separators (no code point above U+3000 is whitespace; a test checks) and the
# subset str.splitlines() breaks lines at.
WHITESPACE = "".join(char for char in map(chr, range(0x3001)) if char.isspace())
LINE_BREAKS = "".join(char for char in WHITESPACE if len(f"a{char}b".splitlines()) == 2)
LINK_PREFIXES = ("http://", "https://")
NOT_A_WORD = ("http", "@", "#")
RETWEET_PREFIX = "RT @"


def is_retweet_reference(raw_text: str, flag: bool) -> bool:
    return bool(flag) or raw_text.startswith(RETWEET_PREFIX)


def clean_text_reference(text: str, keep_newlines: bool = False) -> str:
    text = html.unescape(text.replace("\0", ""))
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
