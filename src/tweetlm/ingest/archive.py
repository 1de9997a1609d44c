"""The Twitter/X account archive as people have it: its root, its tweet files, the rest.

An unpacked archive is a folder (the *root*) holding

    Your archive.html        the offline viewer
    assets/                  the viewer's scripts, fonts, images (thousands of files)
    data/manifest.js         `window.__THAR_CONFIG = {...}`: every data type and its files
    data/*.js                one `window.YTD.<type>.partN = [...]` file per data type
    data/*_media/            tweets_media/, profile_media/, deleted_tweets_media/ ...
    data/README.txt

A folder is a root when it holds `Your archive.html`, or a data/manifest.js that starts
`window.__THAR_CONFIG =` (or `window.YTD.manifest.part0 =`), or a data/ folder with
`window.YTD.*` files. Of its tree only the account's tweets are read: the files the
manifest lists under `dataTypes.tweets` (`tweet` in archives before late 2022), else, with
no manifest, data/tweets.js, data/tweet.js and their -partN.js parts by name. The rest of
the tree it owns (the html, assets/, every other data/*.js, data/*_media/) is passed over
and counted; anything else in the folder is read like any raw file.

Not the account's current tweets, so passed over like likes and DMs: deleted-tweets.js
(the ~14 days of tweets deleted but not yet purged), twitter-circle-tweet.js (seen only by
the circle), community-tweet.js, note-tweet.js (long-post bodies; their tweets.js entries
hold the first 280 characters) and tweet-headers.js (ids and dates, no text).
huggingtweets trained on the account's public timeline, which none of these are part of.

Archives made before 2019 ("Grailbird") unpack to another tree:

    index.html, tweets.csv   the offline viewer and a CSV of the tweets
    css/ img/ js/ lib/       the viewer's files
    data/js/tweet_index.js   `var tweet_index = [...]`: the month files
    data/js/tweets/2015_03.js  `Grailbird.data.tweets_2015_03 =`, then `[ {...}, ... ]`: API
                             v1.1 tweets (id_str, text, retweeted_status, created_at
                             '2015-03-31 23:45:14 +0000'), one file a month
    data/js/*.js, data/csv/  the account's details; older archives: CSV per month

A folder is such a root when it holds data/js/tweet_index.js or data/js/tweets/ with month
files; its month files are read, in name order, and the rest of its tree passed over. The
JSON files are the complete record, so tweets.csv is not read.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import orjson

from tweetlm.core.errors import TweetlmError, first_line, show_path

HTML = "Your archive.html"
MANIFEST = "data/manifest.js"
TWEET_TYPES = ("tweets", "tweet")  # the manifest's dataTypes of the account's own tweets
YTD_RE = re.compile(rb"\s*window\.YTD\.([A-Za-z0-9_]+)\.part\d+\s*=\s*")
MANIFEST_RE = re.compile(rb"\s*window\.(?:__THAR_CONFIG|YTD\.manifest\.part\d+)\s*=\s*")
TWEETS_NAME_RE = re.compile(r"tweets?(?:-part\d+)?\.js")
NOTES_NAME_RE = re.compile(r"note-tweet(?:-part\d+)?\.js")  # long posts' full text (notes.py)
ZIP_NOTES_RE = re.compile(r"(?:^|/)data/note-tweet(?:-part\d+)?\.js$")
GRAILBIRD_RE = re.compile(rb"\s*Grailbird\.data\.tweets_\d{4}_\d{2}\s*=\s*")
GRAILBIRD_INDEX = "data/js/tweet_index.js"
GRAILBIRD_MONTHS = "data/js/tweets"  # its month files, named like 2015_03.js
MONTH_RE = re.compile(r"\d{4}_\d{2}\.js")
# a zip with no manifest: its tweet files by name, in either tree
ZIP_TWEETS_RE = re.compile(
    rf"(?:^|/)(?:{TWEETS_NAME_RE.pattern}|{GRAILBIRD_MONTHS}/{MONTH_RE.pattern})$")
GRAILBIRD_OWNS = {"index.html", "tweets.csv", "README.txt", "css", "img", "js", "lib", "data"}
BOM = b"\xef\xbb\xbf"
MAX_MANIFEST = 64 << 20  # bytes: a manifest lists files, it is never this big


def _head(path: Path, size: int = 256) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError:
        return b""


def ytd_value(data: bytes):
    """The JSON value of an archive data file `window.YTD.<type>.partN = [...]` (or of
    bare JSON); raises orjson.JSONDecodeError."""
    start = YTD_RE.match(data, 3 if data.startswith(BOM) else 0)
    return orjson.loads(data[start.end():].rstrip().rstrip(b";") if start else data)


def is_manifest(head: bytes) -> bool:
    """Whether a file's first bytes are an archive manifest's."""
    return bool(MANIFEST_RE.match(head, 3 if head.startswith(BOM) else 0))


def _is_ytd(head: bytes) -> bool:
    return bool(YTD_RE.match(head, 3 if head.startswith(BOM) else 0))


def root_kind(folder: Path, files: list[str], dirs: list[str]) -> str | None:
    """Whether `folder` (holding `files` and `dirs`) is an unpacked archive's root: 'ytd'
    (the archive since 2019), 'grailbird' (before) or None."""
    if HTML in files:
        return "ytd"
    if "data" not in dirs:
        return None
    data = folder / "data"
    if is_manifest(_head(data / "manifest.js")):
        return "ytd"
    try:
        scripts = sorted(p for p in data.iterdir() if p.suffix == ".js" and p.is_file())
    except OSError:
        return None
    if any(_is_ytd(_head(p)) for p in scripts):
        return "ytd"
    if (folder / GRAILBIRD_INDEX).is_file() or _months(folder):
        return "grailbird"
    return None


def _months(root: Path) -> list[Path]:
    try:
        return sorted(p for p in (root / GRAILBIRD_MONTHS).iterdir()
                      if MONTH_RE.fullmatch(p.name) and p.is_file())
    except OSError:
        return []


def owns(kind: str, relative: tuple[str, ...]) -> bool:
    """Whether a path (its parts below the root) is part of the archive's own tree."""
    top = relative[0]
    if kind == "grailbird":
        return top in GRAILBIRD_OWNS
    if len(relative) == 1:
        return top == HTML
    if top == "assets":
        return True
    if top != "data":
        return False
    if len(relative) == 2:
        return relative[1].endswith(".js") or relative[1] == "README.txt"
    return relative[1].endswith("_media")


def manifest_tweet_files(text: bytes, where: str) -> list[str] | None:
    """The files a manifest lists for the account's tweets (paths from the root, as written
    there), or None when it names no tweet data type."""
    start = MANIFEST_RE.match(text, 3 if text.startswith(BOM) else 0)
    assert start, "not a manifest"
    body = text[start.end():].strip().rstrip(b";")
    try:
        config = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise TweetlmError(f"{where}: the archive's manifest is not valid JSON ({first_line(e)}): "
                           "unpack the archive again, or delete the manifest to read "
                           "data/tweets.js by name") from None
    types = config.get("dataTypes") if isinstance(config, dict) else None
    names, listed = [], False
    for key in TWEET_TYPES:
        entry = types.get(key) if isinstance(types, dict) else None
        files = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(files, list):
            continue
        listed = True
        for item in files:
            name = item.get("fileName") if isinstance(item, dict) else None
            if not isinstance(name, str) or not _safe(name):
                raise TweetlmError(f"{where}: dataTypes.{key} lists {name!r}, not a file inside "
                                   "the archive: unpack the archive again")
            names.append(name)
    return names if listed else None


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def tweet_files(kind: str, root: Path, shown: Path) -> list[Path]:
    """The tweet files of the archive unpacked at `root` (`shown` in messages): the
    manifest's, else by name; a Grailbird archive's month files."""
    if kind == "grailbird":
        return _months(root)
    manifest = root / MANIFEST
    head = _head(manifest)
    if is_manifest(head):
        where = show_path((shown / MANIFEST).as_posix())
        try:
            size = manifest.stat().st_size
            text = manifest.read_bytes() if size <= MAX_MANIFEST else b""
        except OSError as e:
            raise TweetlmError(f"{where}: cannot read: {e.strerror or first_line(e)}")
        if not text:
            raise TweetlmError(f"{where}: {size >> 20} MiB is no archive manifest: unpack the "
                               "archive again")
        names = manifest_tweet_files(text, where)
        if names is not None:
            for name in names:
                if not (root / name).is_file():
                    raise TweetlmError(f"{show_path((shown / name).as_posix())}: listed in the "
                                       f"archive's {MANIFEST} but missing: unpack the whole "
                                       "archive again")
            return [root / name for name in dict.fromkeys(names)]
    data = root / "data"
    try:
        found = [p for p in data.iterdir() if TWEETS_NAME_RE.fullmatch(p.name) and p.is_file()]
    except OSError:
        return []
    return sorted(found, key=lambda p: _part(p.name))


def _part(name: str) -> tuple[int, str]:
    """tweets.js (part 0) before tweets-part1.js, tweets-part2.js ... tweets-part10.js."""
    part = re.search(r"-part(\d+)\.js$", name)
    return (int(part.group(1)) if part else 0, name)


def zip_tweet_members(names: list[str], read, where: str) -> list[str] | None:
    """The tweet members of an archive .zip from its manifest (`read(name)` gives a member's
    bytes), or None when it has no manifest naming them."""
    for name in names:
        if name == MANIFEST or name.endswith("/" + MANIFEST):
            prefix = name[: -len(MANIFEST)]
            text = read(name)
            if not is_manifest(text[:256]):
                continue
            listed = manifest_tweet_files(text, f"{where}/{name}")
            if listed is None:
                continue
            members = set(names)
            for file in listed:
                if prefix + file not in members:
                    raise TweetlmError(f"{where}: {prefix + file} is listed in the archive's "
                                       f"{MANIFEST} but not in the zip: download the archive again")
            return [prefix + file for file in dict.fromkeys(listed)]
    return None
