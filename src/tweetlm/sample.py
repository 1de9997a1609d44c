"""The synthetic sample handle: raw tweet files in every format tweetlm reads, offline.

SYNTHETIC DATA. Every tweet here is made up by a seeded template generator; the
account is "Sample Bot (synthetic)" (@tweetlm_sample) and every tweet's `source` says
"tweetlm synthetic sample". No network, no real person.

`tweetlm sample --out data/raw/sample --tweets 3200 --seed 0` writes, as one folder
(built aside, then swapped in; same seed, byte-identical files):

    twitter-archive.zip           the Twitter/X account archive: data/tweets.js and
                                  data/tweets-part1.js (window.YTD prefix, {"tweet": ...}
                                  entries, retweets only as 'RT @' text), plus
                                  data/like.js, data/account.js and an HTML page that
                                  hold no tweets of the account
    archive-2019/tweet.js         an older archive's tweet.js (window.YTD.tweet.part0,
                                  the older `[ {` layout), overlapping the zip
    statuses_user_timeline.json   API v1.1 statuses, compact JSON array (full_text,
                                  retweeted_status, quotes, replies)
    stream.jsonl                  API v1.1 JSON Lines in compatibility mode: `text`
                                  truncated, extended_tweet.full_text for long ones
    v2/users_tweets_page1.json    API v2 responses, two pages: data, includes (users,
    v2/users_tweets_page2.json    referenced tweets), meta; note_tweet long posts,
                                  referenced_tweets
    twarc2.jsonl                  twarc2 output: one v2 response page per line

About `tweets` unique tweets in all (3,200 is what the v1.1 API gave for one account),
oldest in the archive and newest in the v2 files, with overlaps so the same tweet
appears in two files. The text is tweet-like English on a dozen everyday topics, with
the cases the pipeline must handle: retweets (structural and 'RT @' text), replies,
quotes, short tweets, links (http, https, HTTPS, glued to punctuation), HTML
entities (&amp; and the double-escaped &amp;amp;), emoji, mentions, hashtags, line
breaks, and long posts.

The benchmarks' much bigger archive (a 1 GB tweets.js, streamed) is written by
benchmarks/big_archive.py from this module's text generator: it lives there because an
edit here reruns the `sample` stage, and so the whole pipeline.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tweetlm.core.errors import TweetlmError
from tweetlm.core.outputs import atomic_path

USER = {"id": "1480000000000000042", "name": "Sample Bot (synthetic)", "screen_name": "tweetlm_sample"}
SOURCE_HTML = '<a href="https://github.com/tweetlm" rel="nofollow">tweetlm synthetic sample</a>'
EPOCH = datetime(2021, 1, 4, 8, 0, tzinfo=timezone.utc)
TWEPOCH_MS = 1288834974657  # Twitter's snowflake epoch
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# ---------------------------------------------------------------- text

FRIENDS = ["maya_codes", "dev_dan", "runclubjo", "the_real_priya", "kofi_bakes", "lenatrains",
           "sam_reads", "noodle_cat", "weatherwill", "ana_gardens", "tomsynth", "ml_mira"]
TOPICS = {
    "coffee": {
        "things": ["oat flat white", "pour over", "espresso", "cold brew", "second coffee",
                   "new grinder", "cortado", "bag of Ethiopian beans"],
        "tags": ["coffee", "MondayMotivation", "caffeine"],
        "places": ["the corner cafe", "my desk", "the station kiosk", "the office kitchen"],
    },
    "code": {
        "things": ["a flaky test", "the build", "this regex", "a Rust borrow checker error",
                   "the staging deploy", "a one-line fix", "the migration script", "my dotfiles",
                   "a Python type hint", "the CI pipeline", "an off-by-one bug", "the README"],
        "tags": ["python", "rustlang", "100DaysOfCode", "devlife", "opensource"],
        "places": ["the terminal", "prod", "a code review", "the standup"],
    },
    "running": {
        "things": ["a 10k", "hill repeats", "the long run", "new running shoes", "a tempo run",
                   "parkrun", "an easy 5k", "interval session"],
        "tags": ["running", "parkrun", "marathontraining"],
        "places": ["the river path", "the park", "the track", "the canal"],
    },
    "cats": {
        "things": ["the cat", "a cardboard box", "the laser pointer", "a 5am wake-up call",
                   "the new cat tree", "a very loud purr"],
        "tags": ["caturday", "catsoftwitter"],
        "places": ["my keyboard", "the windowsill", "the laundry basket"],
    },
    "weather": {
        "things": ["the rain", "a surprise heatwave", "fog", "the first frost", "that wind",
                   "a double rainbow", "sleet"],
        "tags": ["weather", "uksnow", "sunny"],
        "places": ["the bus stop", "the garden", "the bike ride home"],
    },
    "books": {
        "things": ["a new sci-fi novel", "the library haul", "a 900 page fantasy book",
                   "an essay collection", "the audiobook", "a used bookshop find"],
        "tags": ["amreading", "booktwitter", "scifi"],
        "places": ["the train", "bed", "the library", "the beach"],
    },
    "music": {
        "things": ["the new album", "a synth patch", "this playlist", "a vinyl reissue",
                   "the gig last night", "a bassline"],
        "tags": ["nowplaying", "synth", "vinyl"],
        "places": ["the studio", "headphones", "the record shop"],
    },
    "baking": {
        "things": ["sourdough", "the starter", "banana bread", "a lemon tart", "focaccia",
                   "cinnamon buns", "a collapsed souffle"],
        "tags": ["baking", "sourdough", "GBBO"],
        "places": ["the oven", "the kitchen", "the farmers market"],
    },
    "trains": {
        "things": ["the 8:12", "a replacement bus", "the sleeper train", "a delayed connection",
                   "the quiet coach", "a scenic route"],
        "tags": ["trains", "commute"],
        "places": ["platform 4", "the station", "the dining car"],
    },
    "garden": {
        "things": ["the tomatoes", "a slug invasion", "the new raised bed", "sunflowers",
                   "the compost heap", "basil seedlings"],
        "tags": ["gardening", "growyourown"],
        "places": ["the allotment", "the balcony", "the greenhouse"],
    },
    "ml": {
        "things": ["a tiny language model", "the loss curve", "a learning rate warmup",
                   "my GPU budget", "a tokenizer bug", "the eval set", "a fine-tune"],
        "tags": ["MachineLearning", "NLP", "AI"],
        "places": ["a notebook", "the cluster", "the paper reading group"],
    },
    "games": {
        "things": ["the boss fight", "a speedrun", "the new patch", "a board game night",
                   "a crossword", "chess puzzles"],
        "tags": ["gaming", "boardgames", "wordle"],
        "places": ["the sofa", "the pub quiz", "discord"],
    },
}
ADJ = ["great", "weird", "underrated", "overrated", "chaotic", "lovely", "cursed", "perfect",
       "exhausting", "surprisingly good", "a bit much", "wholesome", "brilliant", "fine actually"]
FEEL = ["so happy", "mildly annoyed", "weirdly proud", "exhausted", "very excited", "grateful",
        "a little nervous", "unreasonably smug", "cautiously optimistic", "delighted"]
REACT = ["10/10 would recommend.", "never again.", "worth it.", "send help.", "no regrets.",
         "what a time to be alive.", "anyway.", "I have learned nothing.", "ok that's my day.",
         "honestly the best part of the week.", "we move."]
TIMES = ["this morning", "last night", "today", "just now", "on Sunday", "after lunch",
         "before work", "at 2am", "this weekend", "all afternoon"]
VERBS = ["tried", "finished", "fixed", "broke", "started", "survived", "finally understood",
         "accidentally deleted", "rewrote", "found", "booked", "ordered"]
EMOJI = ["😂", "🙃", "☕", "🏃", "🐈", "🌧️", "📚", "🎧", "🍞", "🚆", "🌱", "🤖", "🎮", "✨",
         "🔥", "👀", "💀", "🙏", "❤️", "🎉", "😅", "🤔"]
SHORT = ["lol", "same", "👀", "this.", "oh no", "yes!!", "big mood", "🔥🔥🔥", "ok", "haha", "wow",
         "nope", "🙃", "true", "brb"]
TEMPLATES = [
    "{time} I {verb} {thing} and honestly it was {adj}. {react}",
    "hot take: {thing} is {adj}",
    "{Feel} about {thing} {time} {emoji}",
    "can't stop thinking about {thing}. {react}",
    "Reminder: {thing} is {adj} & so are you",
    "{time} at {place}: {thing}. {adj}, {react}",
    "spent {time} on {thing}, {feel} with how it went",
    "Is it just me or is {thing} {adj}? {emoji}",
    "three things I learned {time}:\n1. {thing} is {adj}\n2. {thing2} is not\n3. {react}",
    "PSA: {thing} at {place} is {adj} {emoji} {emoji}",
    "me, {time}: I will not think about {thing}\nme, 5 minutes later: {thing}",
    "unpopular opinion but {thing} > {thing2}",
    "Today's small win: {verb} {thing} {emoji}",
    "Not me {verb_ing} {thing} at {place} again",
    "If you need me I'll be at {place} with {thing} {emoji}",
    "{thing} update: still {adj}. {react}",
    "Who else is {verb_ing} {thing} this week?",
    "the way {thing} just made my whole day {emoji}",
    "rating {thing}: {score}/10, {adj}",
    "Honestly {thing} and {thing2} are the same energy",
]


def _ing(verb: str) -> str:
    word = verb.split()[-1]
    stem = {"tried": "trying", "finished": "finishing", "fixed": "fixing", "broke": "breaking",
            "started": "starting", "survived": "surviving", "understood": "understanding",
            "deleted": "deleting", "rewrote": "rewriting", "found": "finding",
            "booked": "booking", "ordered": "ordering"}[word]
    return stem


class TextMaker:
    """Seeded, template-based tweet text: plausible, varied, clearly not anyone's."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.n = 0

    def link(self, glued: bool = False) -> str:
        r = self.rng
        code = "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
                       for _ in range(10))
        scheme = r.choices(["https://", "http://", "HTTPS://"], weights=[8, 1, 1])[0]
        url = f"{scheme}t.co/{code}"
        if glued:
            url = r.choice(["({})", "{}.", "{},", "<{}>", "\"{}\"", "{}!", "{}…"]).format(url)
        return url

    def sentence(self, topic: str | None = None) -> tuple[str, str]:
        r = self.rng
        topic = topic or r.choice(list(TOPICS))
        t = TOPICS[topic]
        verb = r.choice(VERBS)
        things = r.sample(t["things"], 2)
        text = r.choice(TEMPLATES).format(
            time=r.choice(TIMES), verb=verb, verb_ing=_ing(verb), thing=things[0], thing2=things[1],
            adj=r.choice(ADJ), react=r.choice(REACT), feel=r.choice(FEEL), Feel=r.choice(FEEL).capitalize(),
            emoji=r.choice(EMOJI), place=r.choice(t["places"]), score=r.randint(1, 11),
        )
        return text[0].upper() + text[1:] if r.random() < 0.5 else text, topic

    def tweet(self) -> tuple[str, list[str], list[str], list[str]]:
        """(text as Twitter serves it, hashtags, mentions, urls)."""
        r = self.rng
        text, topic = self.sentence()
        tags, mentions, urls = [], [], []
        if r.random() < 0.25:
            tag = r.choice(TOPICS[topic]["tags"])
            tags.append(tag)
            text += f" #{tag}"
        if r.random() < 0.15:
            who = r.choice(FRIENDS)
            mentions.append(who)
            text = text + f" cc @{who}" if r.random() < 0.5 else f"with @{who}: " + text
        if r.random() < 0.2:
            url = self.link(glued=r.random() < 0.4)
            urls.append(url)
            text += " " + url if r.random() < 0.7 else f" (more: {url})"
        if r.random() < 0.2:
            text += " " + r.choice(EMOJI)
        return _escape(text, double=r.random() < 0.05), tags, mentions, urls

    def long(self) -> str:
        parts = [self.sentence()[0] for _ in range(self.rng.randint(5, 8))]
        return _escape("\n\n".join(parts))

    def short(self) -> str:
        r = self.rng
        return _escape(r.choice(SHORT + [self.link(), f"@{r.choice(FRIENDS)} {r.choice(SHORT)}"]))


def _escape(text: str, double: bool = False) -> str:
    """HTML-escape as Twitter does (&amp; &lt; &gt;); `double` repeats it, as old archives did."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("&amp;", "&amp;amp;") if double else text


# ---------------------------------------------------------------- the account's tweets


@dataclass
class Tweet:
    id: str
    created: datetime
    text: str  # full text, Twitter-escaped
    kind: str = "tweet"  # tweet | retweet | reply | quote | short | long
    lang: str = "en"
    tags: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    other: dict | None = None  # the retweeted / replied-to / quoted tweet


def snowflake(when: datetime, seq: int) -> str:
    ms = int(when.timestamp() * 1000) - TWEPOCH_MS
    return str((ms << 22) | ((seq % 1024) << 12) | (seq % 4096))


def make_tweets(n: int, seed: int) -> list[Tweet]:
    """`n` tweets of the sample account, oldest first, with unique snowflake ids."""
    rng = random.Random(seed)
    maker = TextMaker(rng)
    tweets, when = [], EPOCH
    for i in range(n):
        when += timedelta(seconds=rng.randint(600, 60000))
        kind = rng.choices(["tweet", "retweet", "reply", "quote", "short", "long"],
                           weights=[62, 12, 12, 5, 7, 2])[0]
        tid = snowflake(when, i)
        other_id = snowflake(when - timedelta(hours=rng.randint(1, 300)), i + 7)
        friend = rng.choice(FRIENDS)
        if kind == "short":
            t = Tweet(tid, when, maker.short(), kind, lang="und" if rng.random() < 0.5 else "en")
        elif kind == "long":
            t = Tweet(tid, when, maker.long(), kind)
        else:
            text, tags, mentions, urls = maker.tweet()
            t = Tweet(tid, when, text, kind, tags=tags, mentions=mentions, urls=urls)
        if kind == "retweet":
            t.other = {"id": other_id, "user": friend, "text": t.text}
            t.text = f"RT @{friend}: {t.text}"
            t.mentions = [friend] + t.mentions
        elif kind == "reply":
            t.other = {"id": other_id, "user": friend}
            t.text = f"@{friend} {t.text}"
            t.mentions = [friend] + t.mentions
        elif kind == "quote":
            url = f"https://t.co/q{tid[-8:]}"
            t.other = {"id": other_id, "user": friend, "text": maker.tweet()[0], "url": url}
            t.text = f"{t.text} {url}"
            t.urls = t.urls + [url]
        tweets.append(t)
    return tweets


# ---------------------------------------------------------------- formats


def v1_date(when: datetime) -> str:
    return (f"{DAYS[when.weekday()]} {MONTHS[when.month - 1]} {when.day:02d} "
            f"{when:%H:%M:%S} +0000 {when.year}")


def v2_date(when: datetime) -> str:
    return f"{when:%Y-%m-%dT%H:%M:%S}.000Z"


def _entities(t: Tweet, text: str) -> dict:
    def spans(token: str) -> list[int]:
        at = text.find(token)
        return [max(at, 0), max(at, 0) + len(token)]

    return {
        "hashtags": [{"text": h, "indices": spans("#" + h)} for h in t.tags],
        "symbols": [],
        "user_mentions": [{"screen_name": m, "name": m.replace("_", " ").title(),
                           "id_str": str(1000 + FRIENDS.index(m)), "indices": spans("@" + m)}
                          for m in t.mentions],
        "urls": [{"url": bare_url(u), "expanded_url": "https://example.com/" + bare_url(u)[-10:],
                  "display_url": "example.com/…", "indices": spans(bare_url(u))} for u in t.urls],
    }


def bare_url(url: str) -> str:
    """A link without the punctuation it was glued to."""
    return url.strip("()<>\".,!…")


def _other_user(name: str) -> dict:
    return {"id_str": str(1000 + FRIENDS.index(name)), "screen_name": name,
            "name": name.replace("_", " ").title()}


def to_v1(t: Tweet, compat: bool = False) -> dict:
    """An API v1.1 status: tweet_mode=extended, or compatibility mode (`text`, `extended_tweet`)."""
    d = {
        "created_at": v1_date(t.created), "id": int(t.id), "id_str": t.id,
        "truncated": False, "display_text_range": [0, len(t.text)],
        "entities": _entities(t, t.text), "source": SOURCE_HTML,
        "in_reply_to_status_id": None, "in_reply_to_status_id_str": None,
        "in_reply_to_user_id": None, "in_reply_to_user_id_str": None,
        "in_reply_to_screen_name": None,
        "user": {"id": int(USER["id"]), "id_str": USER["id"], "name": USER["name"],
                 "screen_name": USER["screen_name"]},
        "is_quote_status": t.kind == "quote", "retweet_count": 0, "favorite_count": 0,
        "favorited": False, "retweeted": t.kind == "retweet", "lang": t.lang,
    }
    if compat and len(t.text) > 140:
        d["text"] = t.text[:139] + "…"
        d["truncated"] = True
        d["extended_tweet"] = {"full_text": t.text, "display_text_range": [0, len(t.text)]}
    elif compat:
        d["text"] = t.text
    else:
        d["full_text"] = t.text
    if t.kind == "retweet":
        o = t.other
        d["retweeted_status"] = {"created_at": v1_date(t.created - timedelta(hours=3)),
                                 "id": int(o["id"]), "id_str": o["id"], "full_text": o["text"],
                                 "user": _other_user(o["user"]), "lang": "en"}
    elif t.kind == "reply":
        o = t.other
        d.update(in_reply_to_status_id=int(o["id"]), in_reply_to_status_id_str=o["id"],
                 in_reply_to_user_id=1000 + FRIENDS.index(o["user"]),
                 in_reply_to_user_id_str=str(1000 + FRIENDS.index(o["user"])),
                 in_reply_to_screen_name=o["user"])
    elif t.kind == "quote":
        o = t.other
        d["quoted_status_id"], d["quoted_status_id_str"] = int(o["id"]), o["id"]
        d["quoted_status"] = {"id_str": o["id"], "full_text": o["text"], "user": _other_user(o["user"])}
    return d


def to_archive(t: Tweet) -> dict:
    """An archive entry: v1.1-like, numbers as strings, retweets only as 'RT @' text."""
    text = t.text
    d = {
        "edit_info": {"initial": {"editTweetIds": [t.id],
                                  "editableUntil": v2_date(t.created + timedelta(hours=1)),
                                  "editsRemaining": "5", "isEditEligible": t.kind == "tweet"}},
        "retweeted": False, "source": SOURCE_HTML,
        "entities": _entities(t, text),
        "display_text_range": ["0", str(len(text))],
        "favorite_count": "0", "id_str": t.id, "truncated": False, "retweet_count": "0",
        "id": t.id, "created_at": v1_date(t.created), "favorited": False,
        "full_text": text, "lang": t.lang,
    }
    for e in d["entities"].values():
        for item in e:
            item["indices"] = [str(i) for i in item["indices"]]
    if t.kind == "reply":
        o = t.other
        d.update(in_reply_to_status_id_str=o["id"], in_reply_to_status_id=o["id"],
                 in_reply_to_user_id=str(1000 + FRIENDS.index(o["user"])),
                 in_reply_to_user_id_str=str(1000 + FRIENDS.index(o["user"])),
                 in_reply_to_screen_name=o["user"])
    return {"tweet": d}


def to_v2(t: Tweet) -> dict:
    """An API v2 tweet with tweet.fields=created_at,lang,referenced_tweets,note_tweet,..."""
    d = {"id": t.id, "text": t.text, "created_at": v2_date(t.created), "author_id": USER["id"],
         "conversation_id": t.id, "lang": t.lang, "edit_history_tweet_ids": [t.id],
         "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}}
    if len(t.text) > 280:  # a long post: `text` is cut, note_tweet has it all
        d["text"] = t.text[:279] + "…"
        d["note_tweet"] = {"text": t.text}
    if t.kind == "retweet":
        d["referenced_tweets"] = [{"type": "retweeted", "id": t.other["id"]}]
    elif t.kind == "reply":
        d["referenced_tweets"] = [{"type": "replied_to", "id": t.other["id"]}]
        d["in_reply_to_user_id"] = str(1000 + FRIENDS.index(t.other["user"]))
        d["conversation_id"] = t.other["id"]
    elif t.kind == "quote":
        d["referenced_tweets"] = [{"type": "quoted", "id": t.other["id"]}]
    return d


def v2_page(tweets: list[Tweet], next_token: str | None) -> dict:
    """One GET /2/users/:id/tweets response."""
    refs = [t for t in tweets if t.other]
    page = {
        "data": [to_v2(t) for t in tweets],
        "includes": {
            "users": [{"id": USER["id"], "name": USER["name"], "username": USER["screen_name"]}]
            + [{"id": str(1000 + FRIENDS.index(f)), "name": f.replace("_", " ").title(), "username": f}
               for f in sorted({t.other["user"] for t in refs})],
            "tweets": [{"id": t.other["id"], "text": t.other.get("text", "an earlier tweet"),
                        "author_id": str(1000 + FRIENDS.index(t.other["user"]))} for t in refs],
        },
        "meta": {"result_count": len(tweets), "newest_id": tweets[0].id, "oldest_id": tweets[-1].id},
    }
    if next_token:
        page["meta"]["next_token"] = next_token
    return page


def archive_js(entries: list[dict], part: str = "tweets.part0", old: bool = False) -> bytes:
    """A tweets.js as the archive has it: `window.YTD.<part> = [` + pretty JSON entries."""
    if old:  # 2019 layout: `[ {` ... `}, {` at column 0
        body = ", ".join(json.dumps(e, indent=2, ensure_ascii=False, separators=(",", " : ")) for e in entries)
        return f"window.YTD.{part} = [ {body} ]".encode()
    body = ",\n".join(_indent(json.dumps(e, indent=2, ensure_ascii=False, separators=(",", " : ")))
                      for e in entries)
    return f"window.YTD.{part} = [\n{body}\n]".encode()


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


# ---------------------------------------------------------------- the folder


def _split(n: int) -> dict[str, range]:
    """Which tweets (oldest first) go to which file; neighbours overlap."""
    def at(f):
        return round(n * f)
    return {
        "zip0": range(0, at(0.40)), "zip1": range(at(0.40), at(0.60)),
        "old": range(at(0.36), at(0.64)),
        "v1": range(at(0.60), at(0.86)), "stream": range(at(0.84), at(0.91)),
        "v2a": range(at(0.91), at(0.95)), "v2b": range(at(0.95), at(0.97)),
        "twarc": range(at(0.965), n),
    }


def write_sample(folder: Path, tweets: int, seed: int) -> None:
    """Write the sample's raw files into an existing, empty `folder`."""
    all_tweets = make_tweets(tweets, seed)
    part = {k: [all_tweets[i] for i in r] for k, r in _split(tweets).items()}
    rng = random.Random(seed + 1)

    # The archive .zip, newest first as the archive lists them.
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name: str, data: bytes):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
        add("Your archive.html", b"<!doctype html><title>Your archive (synthetic)</title>\n")
        add("data/account.js", b'window.YTD.account.part0 = [ {\n  "account" : {\n    "username" : "'
            + USER["screen_name"].encode() + b'",\n    "accountDisplayName" : "'
            + USER["name"].encode() + b'"\n  }\n} ]')
        likes = [{"like": {"tweetId": snowflake(EPOCH, i), "fullText": TextMaker(rng).tweet()[0]}}
                 for i in range(20)]
        add("data/like.js", archive_js(likes, "like.part0"))
        add("data/tweets.js", archive_js([to_archive(t) for t in reversed(part["zip0"])]))
        add("data/tweets-part1.js", archive_js([to_archive(t) for t in reversed(part["zip1"])],
                                               "tweets.part1"))
    (folder / "twitter-archive.zip").write_bytes(zbuf.getvalue())

    (folder / "archive-2019").mkdir()
    # The 2019 archive: bare tweet objects, no {"tweet": ...} wrapper.
    (folder / "archive-2019" / "tweet.js").write_bytes(
        archive_js([to_archive(t)["tweet"] for t in reversed(part["old"])], "tweet.part0", old=True))

    v1 = [to_v1(t) for t in reversed(part["v1"])]
    (folder / "statuses_user_timeline.json").write_bytes(
        json.dumps(v1, ensure_ascii=False, separators=(",", ":")).encode())
    (folder / "stream.jsonl").write_bytes(b"".join(
        json.dumps(to_v1(t, compat=True), ensure_ascii=False).encode() + b"\n" for t in part["stream"]))

    (folder / "v2").mkdir()
    newest = list(reversed(part["v2a"] + part["v2b"]))
    half = len(part["v2b"])
    pages = [newest[:half], newest[half:]]
    for i, page in enumerate(pages, 1):
        token = f"synthetic{seed}p{i + 1}" if i < len(pages) else None
        (folder / "v2" / f"users_tweets_page{i}.json").write_text(
            json.dumps(v2_page(page, token), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    newest = list(reversed(part["twarc"]))
    lines = []
    for i in range(0, len(newest), 100):
        page = v2_page(newest[i:i + 100], None)
        page["__twarc"] = {"url": "https://api.twitter.com/2/users/1480000000000000042/tweets",
                           "version": "2.14.0", "retrieved_at": "2024-01-01T00:00:00+00:00"}
        lines.append(json.dumps(page, ensure_ascii=False))
    (folder / "twarc2.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(out: str, tweets: int, seed: int) -> None:
    """Write the sample folder `out` atomically (replacing what was there)."""
    if tweets < 50:
        raise TweetlmError(f"--tweets {tweets}: use at least 50 so every file gets some tweets")
    with atomic_path(Path(out), directory=True) as tmp:
        tmp.chmod(0o755)  # a data folder, not a private temporary
        write_sample(tmp, tweets, seed)
    print(f"sample: wrote {tweets} synthetic tweets in 7 raw files -> {out}")
