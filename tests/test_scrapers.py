"""Tweets of anyone: what scrapers, browser exporters and published datasets give
(tests/data/real/scrapers/, whose README says where each layout was read from and counts
every figure below by hand), declared layouts, and the line a file of no known layout gets.

The cast: T1..T8 are tweets of @marsh_wren ("Marsh Wren"), T3 a retweet, T8 a long post of
448 characters; PARENT (@heron_watch) appears where a tool saves others' tweets too.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers.params import make_params

from tweetlm import ingest as ig
from tweetlm.core.errors import TweetlmError
from tweetlm.ingest import read

SCRAPERS = Path(__file__).resolve().parent / "data" / "real" / "scrapers"
T3, T5, T8 = 1643001234567890944, 1643700000000000000, 1644800000000000001
PARENT = 1642601111222333444
ARCHIVE_2024 = next((SCRAPERS / "archive-2024").iterdir())


def ingest_copy(tmp_path: Path, *files: Path):
    raw = tmp_path / "raw"
    raw.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, raw / f.name)
    return ig.ingest(raw, 64)


# file, unique tweets of the account, retweets, format, records that are no tweets, others'
LAYOUTS = [
    ("snscrape/snscrape-0.3.5dev-2021-04-marsh_wren.jsonl", 7, 1, "snscrape", 0, 0),
    ("snscrape/snscrape-0.4.3-marsh_wren.jsonl", 7, 1, "snscrape", 0, 0),
    ("snscrape/snscrape-0.6.2-marsh_wren.jsonl", 7, 1, "snscrape", 0, 0),
    ("twscrape/twscrape-0.16-user_tweets-marsh_wren.jsonl", 7, 1, "snscrape", 0, 0),
    ("twint/twint-master-json-marsh_wren/tweets.json", 7, 1, "twint", 0, 0),
    ("twint/twint-2.1.20-pypi-2020-json/tweets.json", 4, 1, "twint", 0, 0),
    ("graphql/tweet-results-raw-marsh_wren.jsonl", 8, 1, "graphql", 0, 0),
    ("graphql/twikit-envelope-raw_tweets.jsonl", 8, 1, "graphql", 0, 0),
    # a timeline: PARENT is in a conversation module (counted with the non-tweets)
    ("graphql/UserTweets-2025-timeline_v2.json", 8, 1, "graphql", 1, 0),
    ("graphql/UserTweets-2026-timeline-user_core.json", 8, 1, "graphql", 1, 0),
    ("twitter-web-exporter/twitter-UserTweets-1743523200123.json", 8, 1, "web-exporter", 0, 1),
    ("twitter-web-exporter/twitter-UserTweets-1743523200456.csv", 8, 1, "csv", 0, 1),
    ("apify/apidojo-tweet-scraper/dataset_tweet-scraper_2025-06-01_18-22-04-118.json",
     8, 1, "scraper", 0, 0),
    ("apify/apidojo-tweet-scraper/dataset_tweet-scraper_2025-06-01_18-22-04-118.jsonl",
     8, 1, "scraper", 1, 0),  # {"noResults": true}
    # retweeted and quoted originals by others are items of their own; RT only by its text
    ("apify/pocesar-twitter-scraper-2021/dataset_twitter-scraper_2021-06-20_09-14-51-602.json",
     7, 0, "web-exporter", 1, 2),
    ("apify/UNVERIFIED-brief-style-idstr-fulltext/dataset.json", 7, 0, "v1.1", 1, 0),
    ("apify/UNVERIFIED-brief-style-idstr-fulltext/dataset.jsonl", 7, 0, "v1.1", 1, 0),
    ("scraping-service/marsh_wren.result.json", 8, 1, "scraper", 0, 0),
    ("research-dataset/levels-birders-2023.jsonl", 8, 1, "dataset", 1, 0),
    ("csv/twint-csv-marsh_wren/tweets.csv", 7, 1, "csv", 0, 0),
    ("csv/snscrape-pandas-tutorial-marsh_wren_tweets.csv", 7, 0, "csv", 0, 0),
    ("csv/legacy-twitter-archive-tweets.csv", 6, 1, "csv", 0, 0),
]


@pytest.mark.parametrize("name, unique, retweets, fmt, not_tweets, others", LAYOUTS,
                         ids=[n.split("/")[-1][:40] for n, *_ in LAYOUTS])
def test_each_layout_reads_the_accounts_tweets(tmp_path, name, unique, retweets, fmt,
                                               not_tweets, others):
    table, report = ingest_copy(tmp_path, SCRAPERS / name)
    rows = table.to_pylist()
    assert len(rows) == unique == len({r["id"] for r in rows})
    assert sum(r["is_retweet"] for r in rows) == retweets
    assert {r["format"] for r in rows} == {fmt}
    assert sum(report.not_tweets.values()) == not_tweets and report.others == others
    assert PARENT not in {r["id"] for r in rows}  # a conversation's parent is not the account's
    assert all(r["created_at"].year >= 2016 and r["text"].strip() for r in rows)
    long = [r["text"] for r in rows if r["id"] == T8]
    assert not long or (len(long[0]) == 448 and not long[0].endswith("\u2026"))


def test_snscrape_text_is_raw_content_not_rendered_and_quotes_are_not_rows(tmp_path):
    name = SCRAPERS / "snscrape/snscrape-0.6.2-marsh_wren.jsonl"
    records = [json.loads(line) for line in name.read_text().splitlines() if line.strip()]
    table, _ = ingest_copy(tmp_path, name)
    got = {r["id"]: r for r in table.to_pylist()}
    for record in records:
        assert got[record["id"]]["text"] == record["rawContent"] != record["renderedContent"] \
            or record["rawContent"] == record["renderedContent"]
        if record.get("quotedTweet"):
            assert record["quotedTweet"]["id"] not in got and got[record["id"]]["is_quote"]
        if record.get("retweetedTweet"):
            assert record["retweetedTweet"]["id"] not in got and got[record["id"]]["is_retweet"]


def test_twint_dates_come_from_the_offset_not_the_zone_name(tmp_path):
    name = SCRAPERS / "twint/twint-master-json-marsh_wren/tweets.json"
    record = json.loads(name.read_text().splitlines()[0])
    table, _ = ingest_copy(tmp_path, name)
    got = {r["id"]: r for r in table.to_pylist()}[record["id"]]
    local = datetime.strptime(f"{record['date']} {record['time']} {record['timezone']}",
                              "%Y-%m-%d %H:%M:%S %z")
    assert got["created_at"] == local.astimezone(timezone.utc)
    assert got["text"] == record["tweet"]


def test_a_timeline_keeps_the_pinned_tweet_once_and_leaves_out_ads_and_modules(tmp_path):
    name = SCRAPERS / "graphql/UserTweets-2025-timeline_v2.json"
    text = name.read_text()
    assert "TimelinePinEntry" in text and "who-to-follow" in text  # what the fixture holds
    table, report = ingest_copy(tmp_path, name)
    assert table.num_rows == 8 and report.duplicates == 1  # pinned, then in the timeline


def test_the_fast_path_reads_scraper_lines_after_a_metadata_line(tmp_path, monkeypatch):
    """A dataset's leading metadata line or an error item does not cost the fast path."""
    meta = {"_meta": {"dataset": "levels"}, "_readme": "one tweet per line"}
    lines = [json.dumps(meta)] + [json.dumps({"tweet_id": str(10**18 + i), "text": f"tweet {i}",
                                              "published_at_utc": "2023-04-02T05:41:10Z",
                                              "post_type": "original"}) for i in range(3000)]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/d.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(read, "CHUNK", 1 << 14)
    modes, real_read = [], read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: modes.append(exact)
                        or real_read(s, pool, exact))
    table, report = ig.ingest(tmp_path / "raw", 64)
    assert table.num_rows == 3000 and modes == [False] and report.not_tweets == {"d.jsonl": 1}


@pytest.mark.parametrize("name", ["snscrape/snscrape-0.6.2-marsh_wren.jsonl",
                                  "graphql/twikit-envelope-raw_tweets.jsonl",
                                  "apify/apidojo-tweet-scraper/dataset_tweet-scraper_2025-06-01_18-22-04-118.jsonl"])
def test_fast_and_exact_paths_agree_on_scraper_lines(tmp_path, monkeypatch, name):
    fast, _ = ingest_copy(tmp_path, SCRAPERS / name)
    real_read = read._read
    monkeypatch.setattr(read, "_read", lambda s, pool, exact: real_read(s, pool, True))
    exact, _ = ig.ingest(tmp_path / "raw", 64)
    assert fast.equals(exact)


# ---------------------------------------------------------------- long posts in full


def test_an_archives_note_tweets_give_its_long_posts_in_full(tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(ARCHIVE_2024, raw / "archive")
    notes = json.loads((raw / "archive/data/note-tweet.js").read_text().split("=", 1)[1])
    full = {n["noteTweet"]["core"]["text"] for n in notes}
    table, report = ig.ingest(raw, 64)
    texts = table.column("text").to_pylist()
    assert report.notes_joined == 3 and table.num_rows == 8
    assert len(full & set(texts)) == 3  # the fourth note's tweet is not in tweets.js
    assert not [t for t in texts if t.endswith("\u2026") and not t.startswith("RT @")]
    assert "stay cut" not in capsys.readouterr().err


def test_a_long_post_no_note_matches_stays_cut_with_one_warning(tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(ARCHIVE_2024, raw / "archive")
    note_file = raw / "archive/data/note-tweet.js"
    note_file.write_text(note_file.read_text().replace("Starling murmuration", "Starlings"))
    table, report = ig.ingest(raw, 64)
    assert report.notes_joined == 2
    err = capsys.readouterr().err
    assert err.count("stay cut") == 1 and "1 long post(s) stay cut" in err


# ---------------------------------------------------------------- declared layouts

UNKNOWN = [  # a layout no built-in one knows (a federated network's export, say)
    {"post": {"uid": "1700000000000000001", "body": "first post from the marsh today",
              "time": "2023-09-08T10:00:00Z"}, "kind": "note"},
    {"post": {"uid": "1700000000000000002", "body": "boosted: somebody else's words",
              "time": "2023-09-08T11:00:00Z"}, "kind": "boost"},
    {"post": {"uid": "1700000000000000003", "body": "third post with several words",
              "time": "2023-09-08T12:00:00Z"}, "kind": "note"},
]


def test_a_file_of_no_known_layout_says_its_keys_and_how_to_declare(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "export.jsonl").write_text("".join(json.dumps(x) + "\n" for x in UNKNOWN))
    with pytest.raises(TweetlmError) as e:
        ig.ingest(raw, 64)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"{raw}/export.jsonl: holds no tweets")
    assert "'post', 'kind'" in message and "tweetlm-fields.yaml" in message
    (raw / "export.jsonl").write_text(json.dumps([{"tweetId": "1", "tweet": "hi there",
                                                   "date": "2023"}]))
    with pytest.raises(TweetlmError, match=r"nearest known layout: twint, which needs 'id'"):
        ig.ingest(raw, 64)


def test_a_declared_layout_reads_json_lines(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "export.jsonl").write_text("".join(json.dumps(x) + "\n" for x in UNKNOWN))
    (raw / "tweetlm-fields.yaml").write_text(
        "id: post.uid\ntext: post.body\ncreated_at: post.time\nretweet: kind == boost\n")
    table, report = ig.ingest(raw, 64)
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [1700000000000000001, 1700000000000000002,
                                       1700000000000000003]
    assert [r["is_retweet"] for r in rows] == [False, True, False]
    assert rows[0]["text"] == "first post from the marsh today"
    assert rows[2]["created_at"] == datetime(2023, 9, 8, 12, tzinfo=timezone.utc)
    assert {r["format"] for r in rows} == {"declared"} and report.files == ["export.jsonl"]


def test_a_declared_layout_reads_a_wrapper_list_and_a_csv(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "page.json").write_text(json.dumps({"account": "marsh", "posts": [
        {"uid": 1700000000000000004, "body": "a post with a numeric id", "boosted": False},
        {"error": "rate limited"},
        {"uid": "1700000000000000005", "body": "a boosted post here", "boosted": True}]}))
    (raw / "more.csv").write_text("uid,body,boosted\n1700000000000000006,\"a csv, with a "
                                  "comma\",false\n1700000000000000007,boosted csv row,true\n")
    (raw / "tweetlm-fields.yaml").write_text("id: uid\ntext: body\nretweet: boosted\n"
                                             "records: posts\n")
    table, report = ig.ingest(raw, 64)
    rows = {r["id"] - 1700000000000000000: r for r in table.to_pylist()}
    assert sorted(rows) == [4, 5, 6, 7] and report.dated_by_id == 4
    assert [rows[i]["is_retweet"] for i in (4, 5, 6, 7)] == [False, True, False, True]
    assert rows[6]["text"] == "a csv, with a comma"
    assert report.not_tweets == {"page.json": 1}


@pytest.mark.parametrize("declared, problem", [
    ("text: body\n", "id: is required"),
    ("id: uid\ntext: body\ncolour: red\n", "colour: is not a known key"),
    ("id: uid\ntext: the body\n", "text: a field name or dotted path"),
    ("- id\n- text\n", "expected 'id: <field>' and 'text: <field>' lines"),
    ("id: [unclosed\n", "not readable YAML"),
], ids=["no-id", "unknown-key", "blank-in-path", "a-list", "bad-yaml"])
def test_a_bad_declaration_is_one_line_naming_the_key(tmp_path, declared, problem):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "export.jsonl").write_text(json.dumps(UNKNOWN[0]) + "\n")
    (raw / "tweetlm-fields.yaml").write_text(declared)
    with pytest.raises(TweetlmError) as e:
        ig.ingest(raw, 64)
    assert str(e.value).startswith(f"{raw}/tweetlm-fields.yaml: ") and problem in str(e.value)
    assert "\n" not in str(e.value)


def test_a_declared_column_missing_from_the_csv_is_named(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "posts.csv").write_text("uid,content\n1,hello there\n")
    (raw / "tweetlm-fields.yaml").write_text("id: uid\ntext: body\n")
    with pytest.raises(TweetlmError, match=r"posts.csv: no column 'body', which "
                                           r"tweetlm-fields.yaml names: its header has 'uid', "
                                           r"'content'"):
        ig.ingest(raw, 64)


# ---------------------------------------------------------------- the account's name and face


def test_ingest_notes_the_archives_display_name_and_avatar(tmp_path, monkeypatch):
    from PIL import Image

    from tweetlm.shared import identity
    from tweetlm.core import layout

    monkeypatch.chdir(tmp_path)
    shutil.copytree(ARCHIVE_2024, layout.raw_dir("wren") / "archive")
    ig.main("wren", make_params(handles=["wren"]))
    account = json.loads(layout.account("wren").read_text())
    assert account["display_name"] == "Marsh Wren"
    face = identity.avatar_image("wren")
    jpeg = next((ARCHIVE_2024 / "data/profile_media").glob("*-Rw9kQeZt.jpg"))
    want = Image.open(jpeg).convert("RGB").getpixel((24, 24))  # the avatar, not the banner
    assert face.size == (200, 200)
    assert all(abs(a - b) <= 12 for a, b in zip(face.getpixel((100, 100)), want))
    assert identity.display_name("wren", make_params(handles=["wren"])) == "Marsh Wren"
    named = make_params(handles=["wren"], **{"card.display_names": {"wren": "Wren of the Levels"}})
    assert identity.display_name("wren", named) == "Wren of the Levels"  # params still win


def test_other_sources_give_the_display_name_their_user_objects_hold(tmp_path, monkeypatch):
    from tweetlm.core import layout

    monkeypatch.chdir(tmp_path)
    raw = layout.raw_dir("wren")
    raw.mkdir(parents=True)
    shutil.copy(SCRAPERS / "graphql/UserTweets-2026-timeline-user_core.json", raw)
    ig.main("wren", make_params(handles=["wren"]))
    assert json.loads(layout.account("wren").read_text()) == {"display_name": "Marsh Wren",
                                                               "avatar": None}


def test_the_picture_and_the_card_show_the_avatar(tmp_path):
    from PIL import Image

    from tweetlm.shared.identity import avatar_color
    from tweetlm.predict import picture

    red = Image.new("RGB", (200, 200), (220, 20, 30))
    plain = picture.draw_card(["Marsh Wren"], ["wren"], [], "footer")
    faced = picture.draw_card(["Marsh Wren"], ["wren"], [], "footer", [red])
    centre = (picture.MARGIN + picture.AVATAR // 2, picture.MARGIN + picture.AVATAR // 2)
    assert faced.getpixel(centre) == (220, 20, 30)
    assert plain.getpixel(centre) != (220, 20, 30)
    assert plain.getpixel((picture.MARGIN + 4, picture.MARGIN + 4)) == \
        faced.getpixel((picture.MARGIN + 4, picture.MARGIN + 4))  # outside the circle: paper
    assert avatar_color("wren") != (220, 20, 30)


def test_the_card_shows_the_accounts_name_and_avatar(tmp_path, monkeypatch):
    from test_card import render

    from tweetlm.core import layout
    from tweetlm.ingest.account import data_uri

    monkeypatch.chdir(tmp_path)
    jpeg = next((ARCHIVE_2024 / "data/profile_media").glob("*-Rw9kQeZt.jpg")).read_bytes()
    layout.account("alice").parent.mkdir(parents=True)
    layout.account("alice").write_text(json.dumps({"display_name": "Alice Marsh",
                                                   "avatar": data_uri(jpeg)}))
    text = render()
    assert "background-image: url('data:image/png;base64," in text
    assert "Alice Marsh" in text and ">AM</div>" not in text
    layout.account("alice").unlink()
    assert ">AL</div>" in render()  # no account.json: initials on a colour, as before


def test_a_declared_layout_leaves_an_archive_beside_it_alone(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(ARCHIVE_2024, raw / "archive")
    (raw / "export.jsonl").write_text("".join(json.dumps(x) + "\n" for x in UNKNOWN))
    (raw / "tweetlm-fields.yaml").write_text("id: post.uid\ntext: post.body\n")
    table, report = ig.ingest(raw, 64)
    assert table.num_rows == 8 + 3 and report.notes_joined == 3
    assert sorted(set(table.column("format").to_pylist())) == ["archive", "declared"]


def test_a_tab_separated_dataset_reads_like_a_csv(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "tweets.tsv").write_text("id\ttext\tcreated_at\tis_retweet\n"
                                    "1438000000000000001\thello there, marsh\t2021-09-15T08:53:00Z\tfalse\n"
                                    "1438000000000000002\tRT @x: theirs\t2021-09-16T08:53:00Z\ttrue\n")
    table, _ = ig.ingest(raw, 64)
    assert table.column("text").to_pylist() == ["hello there, marsh", "RT @x: theirs"]
    assert table.column("is_retweet").to_pylist() == [False, True]
