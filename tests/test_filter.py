"""The filter stage: every rule, the traps, and the vectorised path equal to the plain one."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timezone
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.params import make_params, shipped_raw
from tweetlm import filter as flt
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError
from tweetlm.core.params import Params
from tweetlm.shared import text as text_rules
from tweetlm.filter import filter_tweets
from tweetlm.ingest import SCHEMA
from tweetlm.shared.text import clean_text_reference, is_retweet_reference, is_short_reference


def tweets(texts, is_retweet=None, ids=None, text_type=pa.string()) -> pa.Table:
    """A table shaped like ingest's output (SCHEMA), which filter must pass through intact."""
    n = len(texts)
    table = pa.table({
        "id": list(range(100, 100 + n)) if ids is None else ids,
        "created_at": [datetime(2020, 1, 1, tzinfo=timezone.utc)] * n,
        "text": texts,
        "is_retweet": [False] * n if is_retweet is None else is_retweet,
        "is_reply": [False] * n,
        "is_quote": [i % 2 == 0 for i in range(n)],
        "lang": ["en"] * n,
        "source": ["tweets.js"] * n,
        "format": ["archive"] * n,
    }, schema=SCHEMA.set(2, SCHEMA.field("text").with_type(text_type)))
    return table


def filter_reference(texts, flags, min_words, keep_newlines):
    """The whole stage, one tweet at a time (ids already unique)."""
    kept, stats = [], {"downloaded": len(texts), "retweets": 0, "short": 0, "kept": 0}
    for raw, flag in zip(texts, flags):
        if is_retweet_reference(raw, flag):
            stats["retweets"] += 1
            continue
        cleaned = clean_text_reference(raw, keep_newlines)
        if is_short_reference(cleaned, min_words):
            stats["short"] += 1
            continue
        kept.append(cleaned)
    stats["kept"] = len(kept)
    return kept, stats


def clean(text: str, keep_newlines: bool = False) -> str:
    """Clean one text both ways; they must agree."""
    vectorised = flt.clean_text(pa.array([text], pa.large_string()), keep_newlines).to_pylist()[0]
    assert vectorised == clean_text_reference(text, keep_newlines)
    return vectorised


def kept_texts(texts, min_words=3, keep_newlines=False, **kw) -> list[str]:
    table, stats = filter_tweets(tweets(texts, **kw), min_words, keep_newlines)
    assert table.column("text").to_pylist() == filter_reference(
        texts, kw.get("is_retweet") or [False] * len(texts), min_words, keep_newlines
    )[0]
    return table.column("text").to_pylist()


# --- cleaning ---

@pytest.mark.parametrize("raw, expected", [
    ("fish &amp;amp; chips", "fish &amp; chips"),  # unescaped once, not twice
    ("&lt;3 you &gt; me &amp; you", "<3 you > me & you"),
    ("caf&eacute ol&eacute; &#233;t&#xE9;", "café olé été"),  # html.unescape's HTML5 rules
    ("A & B &notanentity; &", "A & B ¬anentity; &"),  # html.unescape's longest-prefix match
    ("a&nbsp;b", "a b"),  # an entity that decodes to whitespace is whitespace
    ("&#104;ttps://t.co/x after", "after"),  # unescaping comes before link removal
], ids=["double-escaped", "lt-gt-amp", "html5-entities", "not-an-entity", "nbsp", "entity-link"])
def test_html_entities_are_unescaped_once(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("read this https://t.co/abc now", "read this now"),
    ("HTTPS://T.CO/ABC upper Http://x.y mixed hTTp://z", "upper mixed"),
    ("http://a http://b", ""),
    ("https://t.co/a\nhttps://t.co/b", ""),
    # glued to punctuation: the token does not start with http, so it stays
    ("(https://t.co/x) and see:https://x.y too", "(https://t.co/x) and see:https://x.y too"),
    ("ftp://x www.x.com httpfoo https:/x http:x", "ftp://x www.x.com httpfoo https:/x http:x"),
    # RE2's (?i) folds U+017F LONG S into 's'; str.lower() does not, so this is no link
    ("httpſ://x stays", "httpſ://x stays"),
], ids=["middle", "upper-and-mixed-case", "only-links", "links-on-two-lines",
        "glued-to-punctuation", "not-links", "long-s"])
def test_tokens_starting_with_a_link_are_removed(raw, expected):
    assert clean(raw) == expected


def test_mentions_hashtags_and_emoji_stay():
    assert clean("@jack   #AI 🚀\tis 😂 fun ✨") == "@jack #AI 🚀 is 😂 fun ✨"


def test_whitespace_is_what_str_split_splits_on():
    # \u3000 ideographic space, \x1f unit separator, \xa0 no-break space, \u2028 line separator;
    # \u200b (zero width space) is not whitespace for str.split() and stays inside its token.
    raw = " a\u3000b\x1fc\xa0d\u2028e f\u200bg \x85h\r\n"
    assert clean(raw) == "a b c d e f\u200bg h"
    assert clean(raw, keep_newlines=True) == "a b c d\ne f\u200bg\nh"


def test_keep_newlines_keeps_single_line_breaks_only():
    raw = "  line one  \t\n\n\n  line two \r\nhttps://t.co/x\n  three\rfour  "
    assert clean(raw) == "line one line two three four"
    # runs holding a line break become one "\n"; a line holding only a link vanishes
    assert clean(raw, keep_newlines=True) == "line one\nline two\nthree\nfour"
    assert clean("a https://t.co/x\nb", keep_newlines=True) == "a\nb"
    assert clean("a\n\n", keep_newlines=True) == "a"


def test_nul_characters_are_deleted():
    """A `\\u0000` in a tweet's JSON never reaches the processed text (nor the tokenizer)."""
    assert clean("a\x00b \x00c\x00 d\x00") == "ab c d"
    assert clean("\x00https://t.co/x after") == "after"  # deleted before the link rule
    assert clean("one\x00\ntwo", keep_newlines=True) == "one\ntwo"
    assert kept_texts(["\x00\x00 one two three", "a\x00b"], min_words=2) == ["one two three"]


def test_whitespace_constants_match_python():
    every = [chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000]
    assert text_rules.WHITESPACE == "".join(c for c in every if c.isspace())
    assert set(text_rules.LINE_BREAKS) == {c for c in every if len(f"a{c}b".splitlines()) == 2}


# --- retweets ---

def test_retweets_by_text_and_by_structure():
    texts = [
        "RT @nasa: we are going back to the moon",  # archive-style retweet: dropped
        "so true RT @nasa: we are going back",  # RT @ not at the start: kept
        " RT @nasa: leading space is not the start",  # raw text, not stripped: kept
        "rt @nasa lowercase is not the marker",  # kept
        "&#82;T @nasa entity spelled RT is raw-text only",  # raw text has no "RT @": kept
        "RT@nasa no space after RT here",  # kept
        "a real retweet with no RT prefix",  # structural flag: dropped
    ]
    flags = [False] * 6 + [True]
    table, stats = filter_tweets(tweets(texts, is_retweet=flags), 3, False)
    assert table.column("text").to_pylist() == [
        "so true RT @nasa: we are going back",
        "RT @nasa: leading space is not the start",
        "rt @nasa lowercase is not the marker",
        "RT @nasa entity spelled RT is raw-text only",
        "RT@nasa no space after RT here",
    ]
    assert stats == {"downloaded": 7, "retweets": 2, "short": 0, "kept": 5}


def test_retweets_are_dropped_before_the_short_test():
    # a short retweet counts as a retweet, not as short
    _, stats = filter_tweets(tweets(["RT @a: hi", "ok", "RT @b: a long enough retweet"]), 3, False)
    assert stats == {"downloaded": 3, "retweets": 2, "short": 1, "kept": 0}


def test_missing_retweet_flag_means_not_a_retweet():
    table = tweets(["one two three", "four five six"])
    table = table.set_column(3, "is_retweet", pa.array([None, True], pa.bool_()))
    kept, stats = filter_tweets(table, 3, False)
    assert kept.column("text").to_pylist() == ["one two three"]
    assert stats["retweets"] == 1


# --- short tweets ---

@pytest.mark.parametrize("min_words, kept", [
    (0, ["", "one", "one two", "one two three"]),
    (2, ["one two", "one two three"]),
    (3, ["one two three"]),  # exactly min_words words is enough
    (4, []),
])
def test_min_words_boundary(min_words, kept):
    texts = ["https://t.co/only-a-link", "one", "one two", "one two three"]
    assert kept_texts(texts, min_words) == kept


def test_words_with_http_at_or_hash_anywhere_do_not_count():
    text = "Email@x HTTPServer c# @jack #tag xhTTpy real words here"
    assert is_short_reference(clean(text), 4)
    assert not is_short_reference(clean(text), 3)
    assert kept_texts([text], 3) == [text]
    assert kept_texts([text], 4) == []


def test_a_text_of_only_links_cleans_to_empty_and_is_short():
    table, stats = filter_tweets(tweets(["https://t.co/a HTTP://t.co/b"]), 1, False)
    assert table.num_rows == 0 and stats["short"] == 1


# --- the table ---

def test_stats_and_passthrough_columns():
    texts = [
        "RT @a: retweeted text here",
        "a perfectly normal tweet https://t.co/x",
        "too short",
        "&amp; another fine tweet",
        "one two",
        "@only @mentions #and https://t.co/links",
    ]
    # ingest writes one row per tweet id, so filter counts rows and never de-duplicates
    table, stats = filter_tweets(tweets(texts, is_retweet=[False] * 6), 3, False)
    assert stats == {"downloaded": 6, "retweets": 1, "short": 3, "kept": 2}
    assert stats["kept"] == stats["downloaded"] - stats["retweets"] - stats["short"]
    assert all(type(v) is int for v in stats.values())
    assert table.column("id").to_pylist() == [101, 103]
    assert table.column("text").to_pylist() == ["a perfectly normal tweet", "& another fine tweet"]
    assert table.schema == tweets([]).schema  # every column, same types, same order


def test_empty_input():
    table, stats = filter_tweets(tweets([]), 3, False)
    assert table.num_rows == 0 and table.schema == tweets([]).schema
    assert stats == {"downloaded": 0, "retweets": 0, "short": 0, "kept": 0}


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string(), pa.string_view()],
                         ids=["string", "large_string", "string_view"])
def test_string_types_and_many_slices(text_type):
    texts = random_texts(random.Random(1), 3000)
    flags = [i % 7 == 0 for i in range(len(texts))]
    with mock.patch.object(flt, "CHUNK_ROWS", 256):  # many slices, several threads
        table, stats = filter_tweets(tweets(texts, is_retweet=flags, text_type=text_type), 2, False)
    assert (table.column("text").to_pylist(), stats) == filter_reference(texts, flags, 2, False)


# --- vectorised == reference, on random text ---

PIECES = [
    " ", "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680",
    "\u2000", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff",
    "http://", "https://", "HTTPS://", "Http://", "http:/", "http", "HTTP", "hTtP", "https:", "ſ",
    "://", "t.co/x", "RT @", "RT", "@", "#", "&amp;", "&amp;amp;", "&lt;", "&gt;", "&amp", "&lt",
    "&", "amp;", "lt;", "&#104;", "&#x20;", "&nbsp;", "&eacute", "&notit;", "&#0;", "&#x110000;",
    "(", ")", ":",
    "word", "x", "é", "K", "İ", "😂", "🚀", "\u0301", "\x00",
]
piece_texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=14).map("".join)


def random_texts(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 16))) for _ in range(n)]


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(piece_texts, max_size=40),
    data=st.data(),
    min_words=st.integers(0, 4),
    keep_newlines=st.booleans(),
)
def test_vectorised_equals_reference_property(texts, data, min_words, keep_newlines):
    flags = data.draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts)))
    with mock.patch.object(flt, "CHUNK_ROWS", 7):
        table, stats = filter_tweets(tweets(texts, is_retweet=flags), min_words, keep_newlines)
    assert (table.column("text").to_pylist(), stats) == filter_reference(
        texts, flags, min_words, keep_newlines
    )


@pytest.mark.parametrize("keep_newlines", [False, True])
def test_vectorised_equals_reference_many_random_texts(keep_newlines):
    rng = random.Random(keep_newlines)
    texts = random_texts(rng, 20000)
    flags = [rng.random() < 0.1 for _ in texts]
    table, stats = filter_tweets(tweets(texts, is_retweet=flags), 3, keep_newlines)
    assert (table.column("text").to_pylist(), stats) == filter_reference(
        texts, flags, 3, keep_newlines
    )


# --- the stage: files, errors ---

def params(**filter_params) -> Params:
    """Params for the stage on tiny tables: no kept-text thresholds unless a test sets them."""
    filter_params = {"min_kept_chars": 0, "warn_kept_chars": 0, **filter_params}
    return make_params(handles=["someone"], **{f"filter.{k}": v for k, v in filter_params.items()})


def test_main_writes_processed_tweets_and_stats(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    texts = ["RT @a: b c d", "one two three four", "one two", "line one\nline two"]
    interim = tmp_path / layout.interim("someone")
    interim.parent.mkdir(parents=True)
    pq.write_table(tweets(texts), interim)

    flt.main("someone", params(min_words=3, keep_newlines=True))
    stats = json.loads((tmp_path / layout.bot("someone").stats).read_text())
    assert stats == {"downloaded": 4, "retweets": 1, "short": 1, "kept": 2, "languages": {"en": 2}}
    out = pq.read_table(tmp_path / layout.processed("someone"))
    assert out.column("text").to_pylist() == ["one two three four", "line one\nline two"]
    assert out.schema == tweets([]).schema
    line = capsys.readouterr().out.strip()
    assert "someone" in line and "kept 2" in line and "\n" not in line


def test_main_streams_row_groups_to_the_same_rows_as_the_whole_table(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = random.Random(5)
    texts = [" ".join(rng.choice(["word", "@a", "#b", "https://t.co/x", "&amp;", "RT @c"])
                      for _ in range(rng.randint(0, 6))) for _ in range(1000)]
    table = tweets(texts, is_retweet=[i % 11 == 0 for i in range(len(texts))])
    interim = tmp_path / layout.interim("someone")
    interim.parent.mkdir(parents=True)
    pq.write_table(table, interim, row_group_size=70)  # many row groups, each cut in slices
    monkeypatch.setattr(flt, "CHUNK_ROWS", 32)
    flt.main("someone", params(min_words=2))
    whole, stats = filter_tweets(table, 2, False)
    out = pq.read_table(tmp_path / layout.processed("someone"))
    assert out.equals(whole) and out.num_rows > 100  # same rows, same order
    assert json.loads((tmp_path / layout.bot("someone").stats).read_text()) == {
        **stats, "languages": {"en": stats["kept"]}}  # tweets(): every tweet's lang is en
    assert f"({flt.kept_chars(whole['text']):,} characters)" in capsys.readouterr().out


def test_main_without_interim_says_run_ingest_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TweetlmError, match=r"^data/interim/someone/tweets.parquet: not found: "
                                           r"run `tweetlm ingest someone`.* first$"):
        flt.main("someone", params())
    assert not (tmp_path / "data/processed").exists() and not (tmp_path / "reports").exists()


def test_main_rejects_an_unreadable_interim_file_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    interim = tmp_path / layout.interim("someone")
    interim.parent.mkdir(parents=True)
    interim.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(TweetlmError) as e:
        flt.main("someone", params())
    message = str(e.value)
    assert message.startswith("data/interim/someone/tweets.parquet: not a readable Parquet file")
    assert "rerun `tweetlm ingest someone`" in message and "\n" not in message


def test_cli_error_is_one_line_without_traceback(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**shipped_raw(), "handles": ["someone"]}))
    proc = subprocess.run(
        [sys.executable, "-m", "tweetlm.core.cli", "filter", "someone"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("tweetlm: error: data/interim/someone/tweets.parquet: not found")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


# --- what the bot will learn from: huggingtweets' kept-text thresholds, the short warning ---

@pytest.mark.parametrize("texts, chars", [
    ([], 0),
    (["one tweet"], 9),
    (["ab", "cde"], 2 + 13 + 3),  # joined by <|endoftext|>, 13 characters, as huggingtweets did
    (["für", "猫が布団", "🐦 ok"], 3 + 13 + 4 + 13 + 4),  # characters (code points), not bytes
], ids=["none", "one", "two-joined", "non-ascii-counts-characters"])
def test_kept_chars_is_huggingtweets_measure(texts, chars):
    assert flt.kept_chars(pa.array(texts, pa.string())) == chars
    assert chars == len("<|endoftext|>".join(texts))


def rules(**overrides):
    return params(**{"min_kept_chars": 6000, "warn_kept_chars": 40000, **overrides}).filter


def counts(downloaded, retweets, short):
    return layout.FilterCounts(downloaded, retweets, short, downloaded - retweets - short)


def test_under_min_kept_chars_is_an_error_that_says_what_to_do():
    with pytest.raises(TweetlmError) as e:
        flt.check_kept("alice", counts(120, 20, 10), 5999, rules())
    assert str(e.value) == (
        "data/raw/alice: only 5,999 characters of text kept (90 of 120 tweets), under "
        "filter.min_kept_chars=6,000: too little to train a bot on; add more of the account's "
        "tweets (the archive's data/tweets.js, more API pages)")
    assert flt.check_kept("alice", counts(120, 20, 10), 6000, rules())  # 6,000 is enough: a warning


@pytest.mark.parametrize("chars, stats, expected", [
    (40000, counts(1000, 100, 100), []),
    (39999, counts(1000, 100, 100), ["warn_kept_chars"]),
    (50000, counts(1163, 0, 994), ["min_words"]),  # the Japanese archive of the issue
    (7000, counts(1163, 0, 994), ["min_words", "warn_kept_chars"]),
    (50000, counts(1000, 600, 200), []),  # half of the original tweets short is not most
], ids=["at-warn-threshold", "under-warn-threshold", "mostly-short", "mostly-short-and-little",
        "half-short"])
def test_warnings_name_the_param_to_change(chars, stats, expected):
    warnings = flt.check_kept("alice", stats, chars, rules())
    assert [("min_words" if "filter.min_words" in w else "warn_kept_chars") for w in warnings] \
        == expected
    assert all(w.startswith("data/raw/alice: ") and "\n" not in w for w in warnings)
    if "min_words" in expected:
        assert warnings[0] == (
            f"data/raw/alice: {stats.short:,} of {stats.downloaded - stats.retweets:,} "
            "tweets were dropped as short (fewer than filter.min_words=3 words; words are counted "
            "by spaces, so a Japanese or Chinese tweet is one word): lower filter.min_words in "
            "params.yaml (0 keeps every tweet) if these are the account's real tweets")


def test_too_little_text_when_most_tweets_are_short_names_min_words():
    with pytest.raises(TweetlmError, match=r"994 of 1,163 tweets were dropped as short .*: lower "
                                           r"filter.min_words in params.yaml$"):
        flt.check_kept("alice", counts(1163, 0, 994), 3000, rules())


def test_the_stage_fails_before_writing_anything(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    interim = tmp_path / layout.interim("someone")
    interim.parent.mkdir(parents=True)
    pq.write_table(tweets(["one two three four", "five six seven eight"]), interim)
    with pytest.raises(TweetlmError, match=r"^data/raw/someone: only 51 characters"):
        flt.main("someone", params(min_kept_chars=6000))
    assert not (tmp_path / "data/processed").exists() and not (tmp_path / "reports").exists()


def test_the_shipped_sample_handle_passes_both_thresholds(tmp_path):
    """The synthetic `sample` (3,200 raw tweets, as its stage writes them) trains without a
    warning under the shipped params."""
    from tweetlm import ingest
    from tweetlm.sample import write_sample

    write_sample(tmp_path, 3200, seed=0)
    table, _ = ingest.ingest(tmp_path, 64)
    shipped = make_params().filter
    kept, stats = filter_tweets(table, shipped.min_words, shipped.keep_newlines)
    chars = flt.kept_chars(kept["text"])
    assert chars >= shipped.warn_kept_chars >= shipped.min_kept_chars == 6000
    assert flt.check_kept("sample", layout.FilterCounts.of(stats), chars, shipped) == []


@pytest.mark.parametrize("lang, code", [
    ("en", "en"), ("ja", "ja"), ("EN-gb", "en"), ("zh-cn", "zh"), ("in", "id"), ("iw", "he"),
    ("qu", "qu"), ("fil", "fil"),  # Quechua, Filipino: real languages
    ("und", None), ("zxx", None), ("qme", None), ("qht", None), ("qam", None), ("", None),
    (None, None), ("english", None),
], ids=lambda v: repr(v))
def test_language_codes_from_twitters_lang(lang, code):
    assert flt.language_code(lang) == code


def test_the_kept_tweets_languages_are_counted():
    rows = [("RT @x: retweeted, not kept", "fr"), ("short", "de"), ("a kept tweet here", "en"),
            ("another kept tweet", "en-gb"), ("ein behaltener Tweet", "de"),
            ("only a link https://t.co/a b c", "qme"), ("no language given here", None)]
    table = pa.table({"id": list(range(len(rows))), "text": [t for t, _ in rows],
                      "is_retweet": [False] * len(rows), "lang": [lang for _, lang in rows]})
    part = next(flt.filter_parts([table], min_words=3, keep_newlines=False))
    assert part.kept.num_rows == 5 and part.languages == {"en": 2, "de": 1}
