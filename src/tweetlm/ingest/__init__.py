"""Raw tweet files -> one table of unique tweets: data/interim/<handle>/tweets.parquet.

Input: every file under data/raw/<handle>/ (subfolders too), format told by content,
never by name (docs/inputs.md lists every layout; formats.py holds their fields):

- what scrapers, exporters and datasets give (formats.py): snscrape and twscrape JSON
  Lines, twint, X's GraphQL tweet objects (bare, TweetWithVisibilityResults, twikit's
  `tweet_obj` envelopes, whole timeline responses), twitter-web-exporter, Apify and
  scraping services' items (bare or in a `tweets`/`items`/`results` list), published
  datasets' JSON Lines; CSV files (csvfile.py); and a layout the user declares in
  tweetlm-fields.yaml beside the files (declared.py). Records that are no tweets (error
  items, a metadata line) are skipped and counted;

- Twitter API v1.1 statuses: a JSON array of tweets (`full_text`, or `text` and
  `extended_tweet.full_text`; `retweeted_status` marks a retweet), or a search response
  `{"statuses": [...], "search_metadata": {...}}`;
- API v2 responses: `{"data": [...], "includes": ..., "meta": ..., "errors": ...}`, and
  the single-tweet `{"data": {...}}` (`note_tweet.text` holds long posts,
  `referenced_tweets` marks retweets, replies and quotes). Only `data` is read:
  `includes.tweets` are other people's tweets, `errors` the ids that could not be had;
- JSON Lines: one v1.1 or v2 tweet per line (twarc1), or one v2 response page per line
  (twarc2, with its `__twarc` key). Any whitespace-separated sequence of JSON objects
  works, pretty-printed too. A last line cut mid-record (a stream killed while writing)
  is dropped with a warning naming the file and line; every complete record is kept;
- the account archive from Twitter/X (archive.py): the .zip as downloaded, whose tweet
  files are streamed without unpacking anything, or the folder it unpacks to (Your
  archive.html, assets/, data/manifest.js, data/*.js, data/*_media/), whose tweet files
  are read and the rest of the tree passed over and counted. Either way the tweet files
  are those the archive's data/manifest.js lists (else data/tweets.js / tweet.js /
  tweets-partN.js): `window.YTD.tweets.part0 = [{"tweet": {...}}, ...]`. deleted-tweets.js
  and the other tweet-like files are not the account's current timeline: passed over.
  An archive made before 2019 ("Grailbird": index.html, tweets.csv, data/js/tweets/
  2015_03.js ...) is read the same way, zipped or unpacked: its month files
  `Grailbird.data.tweets_2015_03 = [...]` (v1.1 tweets, created_at '2015-03-31 23:45:14
  +0000'), the rest of its tree passed over.

Skipped: hidden files and folders, README*/LICENSE* and the like (sources.py), and
archive files away from an archive tree that hold other data (like.js, account.js,
manifest.js ...); the summary line names them and counts the archive files passed over.
Any other file that is not one of the formats above is an error: it is better to say so
than to train on a folder that silently lost half its tweets.

Output columns (`SCHEMA`), one row per tweet id, sorted by created_at then id:

    id          int64, the tweet id (ids exceed 2**53: parsed from the id string, never a float)
    created_at  timestamp[ms, UTC] (v1.1/archive 'Wed Oct 10 20:19:24 +0000 2018', v2 ISO 8601);
                without one (v2 saved with default fields), the time in the snowflake id,
                for ids from 2010-11-04 on (dates.py); the summary line counts them
    text        the full text as the source gives it (HTML entities and links untouched):
                note_tweet.text > extended_tweet.full_text > full_text > text
    is_retweet  a retweet by structure: v1.1 `retweeted_status`, v2 `referenced_tweets`
                type retweeted. Archives have no such field: the filter's `RT @` rule
                catches their retweets
    is_reply    v1.1 in_reply_to_status_id_str / in_reply_to_user_id_str, v2
                referenced_tweets replied_to / in_reply_to_user_id
    is_quote    v1.1 is_quote_status / quoted_status_id_str, v2 referenced_tweets quoted
    lang        the language code the source gives, or null
    source      the raw file the row came from, relative to data/raw/<handle>/
                ('archive.zip/data/tweets.js' for a zip member)
    format      'v1.1', 'v2', 'archive', 'graphql', 'snscrape', 'twint', 'web-exporter',
                'scraper', 'dataset', 'csv' or 'declared'

(formats.py holds each format's fields, once, for both ways of reading them.)
A tweet id found in several files or pages is kept once: the copy with the longest
text (a full text beats a truncated one), then the first file in path order. Tweets
with no text at all are dropped, counted and reported on stderr, per file. An edited tweet
is kept once, as its latest version (the timeline shows only that one): every version of
it is an entry of its own in an archive (`edit_info`, listing the chain of ids) and can be
in a v2 response (`edit_history_tweet_ids`, a default field); an earlier version is left
out when the chain's last id was read, and the summary line counts them. A v1.1 tweet
whose `truncated` is true with no `extended_tweet.full_text` (a timeline saved without
tweet_mode=extended: text cut to 140 characters) is kept as it is, with one warning per
file, unless a full copy of it was read.

How it is fast: no tweet becomes a Python object. A file streams through in 16 MiB
chunks; each chunk is cut into a segment of whole records (scan.py) that pyarrow's JSON
reader parses natively into just the fields above, on worker threads, while the main
thread reads and cuts the next chunk (read.py). Cutting costs next to nothing:

- JSON Lines: at the chunk's last newline.
- an array (an archive's tweets.js, a v1.1 download): at the chunk's last element
  separator, whose exact bytes the file's first two elements show (e.g.
  '\\n  },\\n  {\\n    "tweet" :'), searched from the end; the elements before it are
  wrapped as '{"d":[...]}' and read as one list. A cut in the wrong place can only
  give invalid JSON, which pyarrow rejects.

Whatever a fast path cannot vouch for sends the file through `scan.ExactScanner`, which
finds every record boundary exactly; a segment pyarrow still rejects is read record by
record with orjson, which either handles it or names the file, line and column of the
problem. Memory stays at a few segments in flight plus the output columns. On a
terminal, a bar on stderr shows the bytes read (tqdm); in DVC's logs and in pipes it is
off, so they get one line per event.

An archive's long posts get their full text from its note-tweet.js (notes.py). Where a
layout names each tweet's author and saves others' tweets too, only the account's are
kept (the handle most are by). data/accounts/<handle>.json holds the account's
display name and avatar (account.py), for predictions.png and the card.

Modules: archive (the Twitter/X archive's tree and manifest), sources (finding files,
zip members), scan (cutting bytes into segments), formats (the field tables), csvfile
(CSV), declared (tweetlm-fields.yaml), dates (created_at), read (one source -> rows),
notes (long posts), account (name and face), table (the folder -> one ordered table of
unique tweets, and its Parquet file).

Bad input stops the stage with one line naming the file and the place (line:column,
or the tweet id) and what to do, and leaves the previous tweets.parquet as it was:
malformed or truncated JSON (a truncated array or archive tweets.js is corrupt, not cut),
JSON without tweets, a tweet with neither created_at nor a snowflake id, bytes that are
not UTF-8, an empty or missing folder, an unsupported file, an archive whose manifest is
damaged or lists a tweet file that is missing, a .zip with members named outside it
('../', absolute) or whose tweet files would expand past `ingest.max_archive_mb`
(checked on the declared sizes first, then on the bytes actually read).
"""

from __future__ import annotations

import json

from tweetlm.core import layout
from tweetlm.core.errors import show_path
from tweetlm.core.outputs import atomic_path
from tweetlm.core.params import Params
from tweetlm.ingest.read import read_source
from tweetlm.ingest.sources import Source, find_sources
from tweetlm.ingest.table import SCHEMA, Report, collect, ingest, write

__all__ = ["SCHEMA", "Report", "Source", "collect", "find_sources", "ingest", "main",
           "read_source", "write"]


def main(handle: str, params: Params) -> None:
    out = layout.interim(handle)
    rows, order, report = collect(layout.raw_dir(handle), params.ingest.max_archive_mb)
    with atomic_path(out) as tmp:
        write(rows, order, tmp)
    with atomic_path(layout.account(handle)) as tmp:
        tmp.write_text(json.dumps({"display_name": None, "avatar": None, **report.account},
                                  ensure_ascii=False) + "\n", encoding="utf-8")
    notes = [f"{report.duplicates} duplicates"]
    if report.edits:
        notes.append(f"{report.edits} earlier version(s) of edited tweets, the latest kept")
    if report.no_text:
        notes.append(f"{sum(report.no_text.values())} without text")
    if report.dated_by_id:
        notes.append(f"{report.dated_by_id} dated by their id (no created_at)")
    if report.cut_lines:
        notes.append(f"dropped the cut last line of {len(report.cut_lines)} file(s)")
    if report.notes_joined:
        notes.append(f"{report.notes_joined} long post(s) in full from note-tweet.js")
    if report.not_tweets:
        notes.append(f"skipped {sum(report.not_tweets.values())} record(s) that are no tweets")
    if report.others:
        notes.append(f"left out {report.others} tweet(s) by other accounts")
    if report.archive_files:
        notes.append(f"passed over {report.archive_files} other archive file(s)")
    if report.skipped:
        notes.append(f"skipped {len(report.skipped)} non-tweet file(s): "
                     + ", ".join(show_path(s) for s in report.skipped[:3])
                     + (" ..." if len(report.skipped) > 3 else ""))
    print(f"ingest {handle}: {report.tweets} tweets from {len(report.files)} file(s) "
          f"({'; '.join(notes)}) -> {out}")
