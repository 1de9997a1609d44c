"""A big synthetic Twitter/X archive, streamed: the data of benchmarks/bench_data.py and of
the 1 GB memory test (tests/test_fuzz.py).

`write_archive(path, tweets, seed)` writes an archive tweets.js (or, layout="jsonl", API
v1.1 JSON Lines; "snscrape", snscrape 0.6's JSON Lines; "csv", a dataset CSV) of any size
without holding it in memory. The texts come from the sample
handle's generator (tweetlm.sample), so they are the sample's; same seed, same bytes.
Not part of the pipeline: editing this file reruns no stage.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tweetlm.sample import (EPOCH, FRIENDS, SOURCE_HTML, USER, TextMaker, bare_url, snowflake,
                            v1_date, v2_date)

ENTRY = """  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "%(id)s"
          ],
          "editableUntil" : "%(until)s",
          "editsRemaining" : "5",
          "isEditEligible" : false
        }
      },
      "retweeted" : false,
      "source" : "<a href=\\"https://github.com/tweetlm\\" rel=\\"nofollow\\">tweetlm synthetic sample</a>",
      "entities" : {
        "hashtags" : [ %(tags)s],
        "symbols" : [ ],
        "user_mentions" : [ %(mentions)s],
        "urls" : [ %(urls)s]
      },
      "display_text_range" : [
        "0",
        "%(length)d"
      ],
      "favorite_count" : "%(favs)d",%(reply)s
      "id_str" : "%(id)s",
      "truncated" : false,
      "retweet_count" : "%(rts)d",
      "id" : "%(id)s",
      "created_at" : "%(created)s",
      "favorited" : false,
      "full_text" : %(text)s,
      "lang" : "%(lang)s"
    }
  }"""
MENTION = """{
            "name" : "%(name)s",
            "screen_name" : "%(user)s",
            "indices" : [
              "%(a)d",
              "%(b)d"
            ],
            "id_str" : "%(uid)s",
            "id" : "%(uid)s"
          } """
TAG = """{
            "text" : "%(tag)s",
            "indices" : [
              "%(a)d",
              "%(b)d"
            ]
          } """
URL = """{
            "url" : "%(url)s",
            "expanded_url" : "https://example.com/%(path)s",
            "display_url" : "example.com/%(path)s",
            "indices" : [
              "%(a)d",
              "%(b)d"
            ]
          } """
TIMELINE_S = 6 * 365 * 86400  # about the time the synthetic tweets span at most, from sample.EPOCH
REPLY = """
      "in_reply_to_status_id_str" : "%(rid)s",
      "in_reply_to_status_id" : "%(rid)s",
      "in_reply_to_user_id" : "%(uid)s",
      "in_reply_to_screen_name" : "%(user)s",
      "in_reply_to_user_id_str" : "%(uid)s","""


LAYOUTS = ("archive", "jsonl", "snscrape", "csv")
CSV_HEADER = "id,created_at,username,name,text,lang,retweet_count,favorite_count,is_retweet\n"


def write_archive(path: Path | str, tweets: int, seed: int = 0, jsonl: bool = False,
                  layout: str = "archive") -> int:
    """Stream `tweets` synthetic tweets into an archive tweets.js (or `layout`: v1.1 JSON
    Lines, snscrape's JSON Lines, a dataset CSV; jsonl=True is layout="jsonl").

    Entries look like the real archive's (edit_info, entities with indices, numbers as
    strings, pretty-printed, about 1.2 KB each); texts come from the sample's generator
    (a pool of 20,000 drawn at random), so lengths and features -- 'RT @' retweets,
    replies, links, emoji, entities -- are the sample's. Memory stays flat.
    Returns the bytes written.
    """
    layout = "jsonl" if jsonl else layout
    lines = layout != "archive"
    rng = random.Random(seed)
    pool = [_pool_entry(rng, layout) for _ in range(min(tweets, 20_000))]
    when, written = int(EPOCH.timestamp()), 0
    least, most = gaps(tweets)
    with open(path, "wb") as f:
        buf = [{"archive": "window.YTD.tweets.part0 = [\n", "csv": CSV_HEADER}.get(layout, "")]
        for i in range(tweets):
            when += rng.randint(least, most)
            at = datetime.fromtimestamp(when, timezone.utc)
            tid = snowflake(at, i)
            template, fields = pool[rng.randrange(len(pool))]
            fields = {**fields, "id": tid, "created": v1_date(at), "favs": rng.randint(0, 40),
                      "rts": rng.randint(0, 5), "iso": at.isoformat()}
            if "rid" in fields:
                fields["rid"] = snowflake(at - timedelta(hours=2), i)
            if not lines:
                fields["until"] = v2_date(at + timedelta(hours=1))
                buf.append(("" if i == 0 else ",\n") + template % fields)
            else:
                buf.append(template % fields)
            if len(buf) >= 4096:
                data = "".join(buf).encode()
                f.write(data)
                written += len(data)
                buf = []
        buf.append("" if lines else "\n]")
        data = "".join(buf).encode()
        f.write(data)
        written += len(data)
    return written


def gaps(tweets: int) -> tuple[int, int]:
    """The least and most seconds between two of `tweets` tweets: the sample's pace, 30-3000,
    unless that many would outrun TIMELINE_S (past 1.2M tweets they would pass 2080, where
    snowflake ids overflow int64 and ingest rightly refuses them); then faster, the same
    span on average."""
    pace = TIMELINE_S // max(tweets, 1)  # mean seconds between tweets
    if pace >= (30 + 3000) // 2:
        return 30, 3000
    least = max(1, min(30, pace // 2))
    return least, max(least, 2 * pace - least)


def _pool_entry(rng: random.Random, layout: str) -> tuple[str, dict]:
    """One text with its entities, as a %-template for `write_archive`."""
    maker = TextMaker(rng)
    r = rng.random()
    if r < 0.07:
        text, tags, mentions, urls = maker.short(), [], [], []
    else:
        text, tags, mentions, urls = maker.tweet()
    reply = ""
    if 0.07 <= r < 0.19:
        friend = rng.choice(FRIENDS)
        text, mentions = f"RT @{friend}: {text}", [friend] + mentions
    elif 0.19 <= r < 0.31:
        reply = rng.choice(FRIENDS)
        text, mentions = f"@{reply} {text}", [reply] + mentions
    uid = 1000 + FRIENDS.index(reply) if reply else 0
    retweet = text.startswith("RT @")
    if layout == "snscrape":  # snscrape 0.6's Tweet, one per line (its key order)
        friend = text[4:text.index(":")] if retweet else ""
        d = {"_type": "snscrape.modules.twitter.Tweet", "url": "https://twitter.com/x/status/0",
             "date": "%(iso)s", "rawContent": text, "renderedContent": text, "id": 0,
             "user": {"_type": "snscrape.modules.twitter.User", "username": USER["screen_name"],
                      "id": int(USER["id"]), "displayname": USER["name"]},
             "replyCount": 0, "retweetCount": 0, "likeCount": 0, "quoteCount": 0,
             "conversationId": 0, "lang": "en", "source": SOURCE_HTML,
             "retweetedTweet": {"_type": "snscrape.modules.twitter.Tweet", "id": 1, "rawContent":
                                text[len(friend) + 6:], "user": {"username": friend}}
             if retweet else None,
             "quotedTweet": None, "inReplyToTweetId": None, "mentionedUsers": None}
        line = json.dumps(d, ensure_ascii=False).replace("%", "%%").replace("%%(", "%(")
        line = line.replace('"id": 0', '"id": %(id)s', 1).replace('"conversationId": 0',
                                                                   '"conversationId": %(id)s')
        return line + "\n", {"rid": ""} if reply else {}
    if layout == "csv":  # a dataset's row: quoted where the text needs it
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(
            ["ID", "ISO", USER["screen_name"], USER["name"], text, "en", 0, 0, retweet])
        row = out.getvalue().replace("%", "%%").replace("ID,ISO,", "%(id)s,%(iso)s,", 1)
        return row, {"rid": ""} if reply else {}
    if layout == "jsonl":  # an API v1.1 status, one per line
        d = {"created_at": "%(created)s", "id": 0, "id_str": "%(id)s", "full_text": text,
             "source": SOURCE_HTML, "lang": "en",
             "user": {"id_str": USER["id"], "screen_name": USER["screen_name"]},
             "entities": {"hashtags": [{"text": t} for t in tags],
                          "user_mentions": [{"screen_name": m} for m in mentions],
                          "urls": [{"url": bare_url(u)} for u in urls]},
             "retweet_count": 0, "favorite_count": 0}
        if reply:
            d["in_reply_to_status_id_str"] = "%(rid)s"
            d["in_reply_to_user_id_str"] = str(uid)
        line = json.dumps(d, ensure_ascii=False).replace("%", "%%")
        line = line.replace('"id": 0', '"id": %(id)s').replace("%%(", "%(") + "\n"
        return line, {"rid": ""} if reply else {}

    def span(token):
        a = max(text.find(token), 0)
        return {"a": a, "b": a + len(token)}

    fields = {
        "length": len(text), "lang": "en",
        "tags": ", ".join(TAG % {"tag": t, **span("#" + t)} for t in tags),
        "mentions": ", ".join(MENTION % {"user": m, "name": m.title(), "uid": 1000 + FRIENDS.index(m),
                                         **span("@" + m)} for m in mentions),
        "urls": ", ".join(URL % {"url": u, "path": u[-10:], **span(u)} for u in map(bare_url, urls)),
    }
    template = (ENTRY % {**fields, "text": json.dumps(text, ensure_ascii=False).replace("%", "%%"),
                         "id": "%(id)s", "until": "%(until)s", "favs": 0, "rts": 0,
                         "created": "%(created)s",
                         "reply": REPLY % {"rid": "%(rid)s", "uid": uid, "user": reply} if reply else ""})
    template = template.replace('"favorite_count" : "0"', '"favorite_count" : "%(favs)d"')
    template = template.replace('"retweet_count" : "0"', '"retweet_count" : "%(rts)d"')
    return template, {"rid": ""} if reply else {}


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Write a big synthetic archive tweets.js (or API v1.1 JSON Lines, "
                    "snscrape JSON Lines, a dataset CSV), "
                    "streamed: the input of benchmarks/bench_data.py. Put it in "
                    "data/raw/<handle>/ to time a pipeline on it.")
    parser.add_argument("out", help="file to write, e.g. data/raw/big/tweets.js")
    parser.add_argument("--tweets", type=int, default=100_000,
                        help="how many tweets, about 1.2 KB each (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="same seed, same bytes (default: %(default)s)")
    parser.add_argument("--jsonl", action="store_true",
                        help="API v1.1 JSON Lines instead of the archive's tweets.js")
    parser.add_argument("--layout", choices=LAYOUTS, default="archive",
                        help="archive (tweets.js), jsonl (API v1.1), snscrape (its JSON Lines) "
                             "or csv (a dataset's) (default: %(default)s)")
    args = parser.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    written = write_archive(args.out, args.tweets, args.seed, args.jsonl, args.layout)
    print(f"big_archive: {args.tweets:,} tweets, {written:,} bytes -> {args.out}")


if __name__ == "__main__":
    main()
