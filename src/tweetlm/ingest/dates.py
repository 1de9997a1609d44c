"""`created_at` strings -> UTC timestamps: v1.1/archive 'Wed Oct 10 20:19:24 +0000 2018'
parsed vectorised (numpy over the string bytes), anything else by Arrow (pre-2019
archives' '2018-10-10 20:19:24 +0000', v2's ISO 8601).

A tweet without created_at (API v2 saved with the default fields: id, text,
edit_history_tweet_ids) gets the time its id encodes: ids from 2010-11-04 on are Twitter's
snowflakes, whose bits above the lowest 22 count milliseconds since 1288834974657
(2010-11-04T01:42:54.657Z). Older ids were a plain sequence and say nothing of time."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tweetlm.core import arrays

MONTHS_B = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec")
DAYS_B = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
V1_FORMAT = "%a %b %d %H:%M:%S %z %Y"
GRAILBIRD_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # archives before 2019: '2015-03-31 23:45:14 +0000'
UTC = pa.timestamp("ms", tz="UTC")
SNOWFLAKE_EPOCH_MS = 1288834974657
FIRST_SNOWFLAKE = 29700859247  # smaller ids predate snowflakes (oduwsdl/tweetedat's boundary)
_PLACEHOLDER = "Thu Jan 01 00:00:00 +0000 1970"  # parses; stands in for a missing date


class BadDate(ValueError):
    """The row whose date is missing or not a date, and what to say about it."""

    def __init__(self, row: int, problem: str, show_value: bool = True):
        super().__init__(problem)
        self.row, self.problem, self.show_value = row, problem, show_value


def parse_dates(raw: pa.Array, ids: pa.Array | None = None) -> tuple[pa.Array, int]:
    """created_at as UTC: v1.1/archive 'Wed Oct 10 20:19:24 +0000 2018', or ISO 8601 (v2);
    where it is missing, the time in the tweet id (int64 `ids`). -> (dates, how many came
    from ids). Raises BadDate for the first row without a date."""
    if not raw.null_count:
        return _parse(raw), 0
    missing = arrays.to_numpy(pc.is_null(raw))
    id_values = arrays.to_numpy(ids) if ids is not None else np.zeros(len(raw), np.int64)
    undated = missing & (id_values < FIRST_SNOWFLAKE)
    if undated.any():
        raise BadDate(int(np.argmax(undated)), "is missing, and the id is older than 2010-11-04 "
                      "so it holds no time: download with created_at (API v2: "
                      "tweet.fields=created_at)", show_value=False)
    from_ids = arrays.ints((id_values[missing] >> 22) + SNOWFLAKE_EPOCH_MS).cast(UTC)
    dates = _parse(raw.fill_null(arrays.scalar(_PLACEHOLDER, raw.type)))
    return pc.replace_with_mask(dates, arrays.bools(missing), from_ids), int(missing.sum())


def _parse(raw: pa.Array) -> pa.Array:
    """parse_dates of a column without nulls."""
    ms, ok = v1_dates(raw)
    dates = arrays.ints(ms, valid=ok).cast(UTC)
    if ok.all():
        return dates
    rest = arrays.bools(~ok)
    others = pc.filter(raw, rest)
    parsed = _iso_naive_or_epoch(others)  # all of one such layout: one cast, no strptime
    if parsed is not None:
        return pc.replace_with_mask(dates, rest, parsed)
    parsed = pc.strptime(others, format=V1_FORMAT, unit="ms", error_is_null=True)
    if parsed.null_count:
        parsed = pc.coalesce(parsed, pc.strptime(others, format=GRAILBIRD_FORMAT, unit="ms",
                                                 error_is_null=True))
    iso = pc.is_null(parsed)
    if pc.any(iso).as_py():
        more = _iso_naive_or_epoch(pc.filter(others, iso))
        parsed = None if more is None else pc.replace_with_mask(parsed, iso, more)
    if parsed is None or parsed.null_count:  # dates of several layouts: one by one
        parsed = pa.concat_arrays([_one(raw, int(i)) for i in np.flatnonzero(~ok)])
    return pc.replace_with_mask(dates, rest, parsed)


def _one(raw: pa.Array, i: int) -> pa.Array:
    """Row i's date, of any layout parse_dates knows; BadDate if none."""
    value = raw[i:i + 1]
    for f in (V1_FORMAT, GRAILBIRD_FORMAT):
        parsed = pc.strptime(value, format=f, unit="ms", error_is_null=True)
        if not parsed.null_count:
            return parsed
    parsed = _iso_naive_or_epoch(value)
    if parsed is None:
        raise BadDate(i, "is not a date like 'Wed Oct 10 20:19:24 +0000 2018' or "
                      "'2018-10-10T20:19:24.000Z'")
    return parsed


def _iso_naive_or_epoch(values: pa.Array) -> pa.Array | None:
    """ISO 8601 with a zone (v2, snscrape), without one (a dataset's '2020-01-01 12:00:00':
    taken as UTC), or seconds / milliseconds since 1970 as digits; None if they are not all
    one of these."""
    try:
        return values.cast(UTC)
    except pa.ArrowInvalid:
        pass
    try:
        return values.cast(pa.timestamp("ms")).cast(UTC)
    except pa.ArrowInvalid:
        pass
    if pc.all(pc.match_substring_regex(values, r"^[0-9]{10}(?:[0-9]{3})?$")).as_py():
        numbers = arrays.to_numpy(values.cast(pa.int64()))
        seconds = arrays.to_numpy(pc.utf8_length(values)) == 10
        return arrays.ints(np.where(seconds, numbers * 1000, numbers)).cast(UTC)
    return None


def v1_dates(raw: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds since 1970 of 'Wed Oct 10 20:19:24 +0000 2018' dates, vectorised, and
    which rows had one (the others, e.g. v2's ISO dates, are left to Arrow)."""
    n = len(raw)
    ms, ok = np.zeros(n, np.int64), np.zeros(n, bool)
    _, offsets, data = raw.buffers()
    if not n or data is None:
        return ms, ok
    offsets = np.frombuffer(offsets, np.int32)[raw.offset:raw.offset + n + 1]
    data = np.frombuffer(data, np.uint8)
    if (np.diff(offsets) == 30).all():  # the format's fixed width: a zero-copy 2-D view
        rows = np.arange(n)
        b = data[offsets[0]:offsets[-1]].reshape(n, 30)
    else:
        rows = np.flatnonzero(np.diff(offsets) == 30)
        b = data[offsets[rows, None] + np.arange(30)]

    def num(a, z):
        v = b[:, a].astype(np.int64) - 48
        for k in range(a + 1, z):
            v = v * 10 + b[:, k] - 48
        return v

    def name(a, names):
        key = b[:, a].astype(np.int32) << 16 | b[:, a + 1].astype(np.int32) << 8 | b[:, a + 2]
        index = np.full(len(b), -1)
        for i, word in enumerate(names):
            index[key == (word[0] << 16 | word[1] << 8 | word[2])] = i
        return index

    digits = np.r_[8:10, 11:13, 14:16, 17:19, 21:25, 26:30]
    good = ((b[:, digits] - 48) < 10).all(axis=1)  # uint8: below '0' wraps around
    for at, char in ((3, " "), (7, " "), (10, " "), (13, ":"), (16, ":"), (19, " "), (25, " ")):
        good &= b[:, at] == ord(char)
    sign = b[:, 20]
    good &= (sign == ord("+")) | (sign == ord("-"))
    month = name(4, MONTHS_B)
    good &= (name(0, DAYS_B) >= 0) & (month >= 0)
    year, day, hour, minute, sec = num(26, 30), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
    good &= (year >= 1970) & (day >= 1) & (hour < 24) & (minute < 60) & (sec < 61)
    start = ((year - 1970) * 12 + np.maximum(month, 0)).astype("datetime64[M]").astype("datetime64[D]")
    end = ((year - 1970) * 12 + np.maximum(month, 0) + 1).astype("datetime64[M]").astype("datetime64[D]")
    good &= day <= (end - start).astype(np.int64)
    offset = (num(21, 23) * 60 + num(23, 25)) * np.where(sign == ord("-"), -1, 1)
    days = start.astype(np.int64) + day - 1
    value = (days * 86400 + hour * 3600 + minute * 60 + sec - offset * 60) * 1000
    ms[rows[good]] = value[good]
    ok[rows[good]] = True
    return ms, ok
