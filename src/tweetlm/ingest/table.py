"""A whole raw folder -> one table of unique tweets, ordered, and written as Parquet."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tweetlm.core import arrays
from tweetlm.core.errors import TweetlmError, show_path, warn
from tweetlm.core.progress import progress
from tweetlm.ingest import account
from tweetlm.ingest.notes import join_notes, read_notes
from tweetlm.ingest.read import WORKERS, read_source
from tweetlm.ingest.sources import Source, find_sources

SCHEMA = pa.schema([  # the output; tweetlm.ingest's docstring says what each column holds
    pa.field("id", pa.int64(), nullable=False),
    pa.field("created_at", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("text", pa.string(), nullable=False),
    pa.field("is_retweet", pa.bool_(), nullable=False),
    pa.field("is_reply", pa.bool_(), nullable=False),
    pa.field("is_quote", pa.bool_(), nullable=False),
    pa.field("lang", pa.string()),
    pa.field("source", pa.string(), nullable=False),
    pa.field("format", pa.string(), nullable=False),
])
# Columns of SCHEMA worth a Parquet dictionary: few distinct values. The texts are not:
# trying one costs more than the write. filter keeps the encoding its input has.
DICTIONARY_COLUMNS = ("lang", "source", "format")


@dataclass
class Report:
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    archive_files: int = 0  # files of archives (unpacked or zipped) passed over
    archives: list[str] = field(default_factory=list)  # unpacked archive roots found
    rows: int = 0  # tweets read, duplicates included
    no_text: dict[str, int] = field(default_factory=dict)  # file -> tweets without text
    dated_by_id: int = 0  # tweets without created_at, dated by their snowflake id
    cut_lines: dict[str, int] = field(default_factory=dict)  # file -> its cut last line, dropped
    not_tweets: dict[str, int] = field(default_factory=dict)  # file -> records no tweets, skipped
    others: int = 0  # tweets by other accounts than the one most are by, left out
    notes_joined: int = 0  # archive long posts that got their full text from note-tweet.js
    account: dict = field(default_factory=dict)  # display_name, avatar (account.py)
    duplicates: int = 0
    edits: int = 0  # earlier versions of edited tweets whose latest version was read
    truncated: dict[str, int] = field(default_factory=dict)  # file -> tweets kept with cut text
    tweets: int = 0  # rows written


def ingest(raw_dir: Path | str, max_archive_mb: int) -> tuple[pa.Table, Report]:
    """Read every raw file under `raw_dir` into one SCHEMA table of unique tweets."""
    rows, order, report = collect(raw_dir, max_archive_mb)
    return _ordered(rows, order), report


def collect(raw_dir: Path | str, max_archive_mb: int) -> tuple[pa.Table, pa.Array, Report]:
    """All tweets read, and the row order of the output: duplicates out, by created_at and id."""
    report = Report()
    found = find_sources(Path(raw_dir), max_archive_mb)
    report.skipped, report.archive_files = found.skipped, found.archive_files
    report.archives = found.archives
    rows = read_all(found.sources, report)
    if rows is None:
        raise TweetlmError(f"{show_path(raw_dir)}: holds no tweet files, only "
                           f"{', '.join(map(show_path, report.skipped))}: add the account's tweets")
    rows = _account_only(rows, raw_dir, report)
    report.account = account.from_archives(found.roots) or account.from_rows(rows)
    if found.notes:
        rows, report.notes_joined, notes_cut = join_notes(rows, read_notes(found.notes))
        if notes_cut:
            warn(f"{show_path(raw_dir)}: {notes_cut} long post(s) stay cut ('…'): no note in "
                 "the archive's data/note-tweet.js matches them (same second, same start)")
    ids = rows.column("id").combine_chunks()
    # Duplicates: keep the longest text, then the first file in path order.
    order = pc.sort_indices(
        pa.table({"id": ids, "len": pc.binary_length(rows.column("text")),
                  "row": arrays.ints(np.arange(rows.num_rows))}),
        sort_keys=[("id", "ascending"), ("len", "descending"), ("row", "ascending")],
    )
    order = arrays.to_numpy(order)
    sorted_ids = arrays.to_numpy(ids)[order]
    first = np.ones(order.size, bool)
    first[1:] = sorted_ids[1:] != sorted_ids[:-1]
    chosen = arrays.ints(order[first])
    report.duplicates = int(order.size - len(chosen))
    # An edited tweet: its latest version only, as the timeline shows it (when that was read).
    latest = rows.column("latest_id").take(chosen)
    superseded = pc.fill_null(pc.is_in(latest, value_set=ids), arrays.FALSE)
    report.edits = pc.sum(superseded).as_py() or 0
    if report.edits:
        chosen = chosen.filter(pc.invert(superseded))
    report.tweets = len(chosen)
    warn_truncated(rows, chosen, raw_dir, report)
    final = pc.sort_indices(
        pa.table({"created_at": rows.column("created_at").take(chosen), "id": ids.take(chosen)}),
        sort_keys=[("created_at", "ascending"), ("id", "ascending")],
    )
    return rows, chosen.take(final), report


def _account_only(rows: pa.Table, raw_dir, report: Report) -> pa.Table:
    """Only the account's tweets, where a layout names each tweet's author and holds others'
    as records of their own: the handle most tweets are by is the account's."""
    authors = rows.column("author")
    if authors.null_count == len(authors):
        return rows
    counts = pc.value_counts(authors.combine_chunks().drop_null()).to_pylist()
    account = max(counts, key=lambda count: count["counts"])["values"]  # the commonest author
    others = pc.fill_null(pc.not_equal(authors, arrays.scalar(account, pa.string())), arrays.FALSE)
    report.others = pc.sum(others).as_py() or 0
    if report.others:
        warn(f"{show_path(raw_dir)}: left out {report.others} tweet(s) by other accounts than "
             f"@{account} (a conversation's parents, retweeted or quoted originals)")
        rows = rows.filter(pc.invert(others))
    return rows


def read_all(sources: list[Source], report: Report) -> pa.Table | None:
    """All sources' tweets with int64 ids, UTC dates, `format` and `source`; tweets without
    text left out. None if every source was a non-tweet archive file."""
    tables = []
    total = sum(s.size for s in sources)  # a bar of bytes read, on a terminal
    with ThreadPoolExecutor(WORKERS) as pool, \
            progress(total, "ingest", unit="B", unit_scale=True, unit_divisor=1024) as bar:
        for source in sources:
            start = bar.n
            rows, archive, no_text, dated_by_id, cut_line, not_tweets = \
                read_source(source, pool, bar.update)
            bar.update(start + source.size - bar.n)  # a skipped file is not read to its end
            if rows is None:
                report.skipped.append(source.name)
                continue
            report.files.append(source.name)
            report.rows += rows.num_rows
            report.dated_by_id += dated_by_id
            if no_text:
                report.no_text[source.name] = no_text
                warn(f"{source.shown}: {no_text} tweet(s) have no text; skipped", bar.write)
            if cut_line is not None:
                report.cut_lines[source.name] = cut_line
                warn(f"{source.shown}:{cut_line}: the last line is cut mid-record (the stream "
                     "or download stopped while writing it): dropped it, read the "
                     f"{rows.num_rows + no_text} complete record(s) before it", bar.write)
            if not_tweets:
                report.not_tweets[source.name] = not_tweets
                warn(f"{source.shown}: skipped {not_tweets} record(s) that are not tweets of the "
                     "account (error items, metadata, others' tweets in a conversation)", bar.write)
            n = rows.num_rows
            if archive:
                rows = rows.set_column(rows.schema.get_field_index("format"), "format",
                                       pa.repeat(arrays.scalar("archive", pa.string()), n))
            rows = rows.append_column("source", pa.DictionaryArray.from_arrays(
                arrays.ints(np.zeros(n, np.int32), pa.int32()), arrays.strings([source.name])))
            tables.append(rows)
    if not tables:
        return None
    rows = pa.concat_tables(tables, promote_options="permissive")
    del tables
    # One chunk per column, a column at a time (peak: the rows plus one column): a take from
    # many chunks copies them all, on every call of `write`'s loop.
    for i, name in enumerate(rows.column_names):
        rows = rows.set_column(i, name, rows.column(i).combine_chunks())
    return rows


def warn_truncated(rows: pa.Table, chosen: pa.Array, raw_dir, report: Report) -> None:
    """One warning per file for the tweets kept whose text was cut short (no full copy read)."""
    cut = pc.fill_null(rows.column("truncated").take(chosen), arrays.FALSE)
    if not pc.any(cut).as_py():
        return
    files = rows.column("source").take(chosen).filter(cut).cast(pa.string())
    for entry in pc.value_counts(files).to_pylist():
        name, n = entry["values"], entry["counts"]
        report.truncated[name] = n
        warn(f"{show_path(Path(raw_dir) / name)}: {n} tweet(s) have text cut short "
             "('truncated': true): kept as cut; a v1.1 timeline saved without "
             "tweet_mode='extended' has them, save it again with tweet_mode='extended' to "
             "train on their full text")


def _ordered(rows: pa.Table, order: pa.Array) -> pa.Table:
    return rows.take(order).select(SCHEMA.names).cast(SCHEMA)


def write(rows: pa.Table, order: pa.Array, path: Path, batch: int = 1 << 17) -> None:
    """The output as Parquet, `batch` rows at a time: never a second copy of all the rows."""
    # snappy: the filter reads it fastest; no dictionary for columns whose values rarely repeat
    # (trying one and falling back costs more than the rest of the write)
    with pq.ParquetWriter(path, SCHEMA, use_dictionary=list(DICTIONARY_COLUMNS)) as writer:
        for i in range(0, max(len(order), 1), batch):
            writer.write_table(_ordered(rows, order[i:i + batch]), row_group_size=batch)
