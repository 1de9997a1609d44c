"""Cutting JSON text into segments of whole records for pyarrow, chunk by chunk.

Two kinds of scanner, fed the same chunks, each returning a `Segment` of the records
completed so far:

- `ExactScanner`: a vectorised (numpy) scan of the JSON structure -- quotes, escapes,
  brackets, commas -- that finds every record boundary exactly, for any layout, and names
  the byte offset of what is wrong (`ParseError`).
- the fast scanners, which cut without looking inside records: `FastLinesScanner` (JSON
  Lines, at the chunk's last newline) and `FastArrayScanner` (an array, at its last
  element separator). Whatever they cannot vouch for raises `Fallback`: the caller reads
  the source again with `ExactScanner`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

WHITESPACE = b" \t\r\n"
WRAP = b'{"d":['  # a fast array segment is read as one record holding a list
LINES_BLOCK = 4 << 20  # pyarrow block for JSON Lines: longer lines go the exact way
MAX_CARRY = 64 << 20  # bytes a fast scanner carries without finding a cut: then read exactly


class ParseError(Exception):
    """Bad JSON at a byte offset of the source; the caller names the file and place."""

    def __init__(self, offset: int, problem: str):
        super().__init__(problem)
        self.offset, self.problem = offset, problem


class Fallback(Exception):
    """A fast path met something it cannot vouch for: read the source exactly."""


_DELTA = np.zeros(256, np.int8)
_DELTA[ord("{")] = _DELTA[ord("[")] = 1
_DELTA[ord("}")] = _DELTA[ord("]")] = -1
_BLANK = np.frombuffer(WHITESPACE + b";", np.uint8)


@dataclass
class Segment:
    """Whole records of one source, ready for pyarrow.

    From `ExactScanner`: one JSON value per line, each byte at its place in the file,
    which starts at byte `start`. From the fast scanners: JSON Lines as they are, or an
    array's elements wrapped as '{"d":[...]}'; `start` is -1 (their errors are found by
    reading the file again with `ExactScanner`).
    """

    start: int
    data: bytes
    elements: int | None  # array elements it holds, one per line (None: not counted)
    block: int  # pyarrow block size that fits its longest line
    empty_ok: bool = False  # the last segment of an empty array `[ ]`
    fast: bool = False  # from a fast scanner: on any doubt, read the source exactly
    wrapped: bool = False  # '{"d":[' elements ']}', from FastArrayScanner
    lead: int = 0  # records at its start known to be no tweets (read.py's _shape_of)


class ExactScanner:
    """Rewrites JSON text, chunk by chunk, into newline-delimited records for pyarrow.

    The text is one top-level array of records (mode "array": a v1.1 download or an
    archive's tweets.js) or a sequence of values (mode "lines": JSON Lines,
    concatenated or pretty-printed objects). Every output byte sits where its input
    byte was, so an offset in a segment is an offset in the file. Outside strings,
    the array's separating commas become newlines (one element per line), other
    newlines inside records (and all of them in array mode) become blanks, and so do
    the array's own brackets and whatever precedes the JSON (BOM, `window.YTD... =`).
    """

    def __init__(self, mode: str, start: int):
        self.mode = mode
        self.start = start  # offset of the first JSON byte ('[' in array mode)
        self.pos = 0  # offset of the next chunk
        self.in_string = 0
        self.backslashes = 0  # length of the backslash run that ended the previous chunk
        self.depth = 0
        self.closed = False  # array mode: the closing ']' was seen
        self.commas = 0  # array mode: elements separated so far
        self.last_break = 0  # offset of the last newline in the output
        self.longest = 0  # longest output line so far
        self.tail = b""  # rewritten bytes after the last record boundary
        self.tail_start = 0
        # lines mode: where the last record began, the last newline between records and the
        # last newline of all (for telling a cut last line, see `finish`), records completed
        self.opened = self.between = self.newline = -1
        self.records = 0
        self.cut_at: int | None = None  # the cut last line's offset, once dropped

    def feed(self, chunk: bytes) -> Segment | None:
        """Scan one chunk; returns the records completed so far, if any."""
        base, self.pos = self.pos, self.pos + len(chunk)
        buf = np.frombuffer(chunk, np.uint8)
        if self.closed:
            self._check_blank(buf, base)
            return None
        out = buf.copy()
        if base < self.start:
            out[: self.start - base] = 32
        pos, ch = self._structure(buf)
        delta = _DELTA[ch]
        depth = np.cumsum(delta, dtype=np.int64) + self.depth
        if depth.size:
            if depth.min() < 0:
                i = int(np.argmax(depth < 0))
                self._fail(base + int(pos[i]), f"unexpected {chr(ch[i])!r}: brackets do not match; "
                           "fix or download the file again")
            self.depth = int(depth[-1])
        if self.mode == "array":
            breaks, stops = self._array_breaks(buf, out, base, pos, ch, delta, depth), None
        else:
            breaks, stops = self._line_breaks(buf, out, base, pos, ch, delta, depth)
        return self._cut(chunk, out, base, breaks, stops)

    def _array_breaks(self, buf, out, base: int, pos, ch, delta, depth):
        """Array mode: blank the array's brackets and every newline, turn the elements'
        separating commas into newlines (returned: their offsets in the chunk); check that
        nothing but blanks follows the closing ']'."""
        before = depth - delta
        newline = ch == 10
        out[pos[newline]] = 32
        out[pos[(before == 0) & (delta == 1)]] = 32  # the opening '['
        close = np.flatnonzero((depth == 0) & (delta == -1))
        if close.size:
            i = int(close[0])
            if ch[i] != ord("]"):
                self._fail(base + int(pos[i]), "the array closes with '}': brackets do not match")
            out[pos[i]] = 32
            after = pos[i + 1:][~newline[i + 1:]]
            if after.size:
                self._fail(base + int(after[0]), "a second JSON value after the array: a file "
                           "holds one array, or one JSON object per line")
            self._check_blank(buf[pos[i] + 1:], base + int(pos[i]) + 1)
            self.closed = True
        breaks = pos[(ch == 44) & (before == 1)]
        out[breaks] = 10
        self.commas += breaks.size
        return breaks

    def _line_breaks(self, buf, out, base: int, pos, ch, delta, depth):
        """Lines mode: blank the newlines inside records; returns (the newlines between
        records, the records' closing brackets), offsets in the chunk, and notes where the
        last record opened and the last newlines were (for `cut_line`)."""
        before = depth - delta
        newline = ch == 10
        out[pos[newline & (before >= 1)]] = 32
        breaks = pos[newline & (before == 0)]
        stops = pos[(depth == 0) & (delta == -1)]
        opens = pos[(before == 0) & (delta == 1)]
        self.records += stops.size
        if opens.size:
            self.opened = base + int(opens[-1])
        newlines = np.flatnonzero(buf == 10)  # in strings too (raw, so invalid there)
        if newlines.size:
            self.newline = base + int(newlines[-1])
        if breaks.size:
            self.between = base + int(breaks[-1])
        return breaks, stops

    def _cut(self, chunk: bytes, out, base: int, breaks, stops) -> Segment | None:
        """The segment of records completed so far: cut after the last complete record; the
        rest waits for the next chunk."""
        if breaks.size:
            lines = np.diff(breaks, prepend=self.last_break - base)
            self.longest = max(self.longest, int(lines.max()))
            self.last_break = base + int(breaks[-1])
        if self.closed:
            cut = len(chunk)
        elif self.mode == "array":
            cut = int(breaks[-1]) + 1 if breaks.size else 0
        else:
            cut = int(stops[-1]) + 1 if stops.size else 0
        if not cut:
            self.tail += out.tobytes()
            return None
        data = self.tail + out[:cut].tobytes()
        start = self.tail_start
        self.tail, self.tail_start = out[cut:].tobytes(), base + cut
        elements = None
        if self.mode == "array":  # one per comma, and the last one after the last comma
            elements = breaks.size + (1 if self.closed else 0)
        return Segment(start, data, elements, self._block(base + cut),
                       empty_ok=self.closed and self.commas == 0)

    def finish(self) -> Segment | None:
        """The records left at the end of the text; raises if it ends inside one, unless
        that one is the cut last line of JSON Lines (`cut_line`): then it is dropped and
        its offset kept in `cut_at`."""
        if self.mode == "lines" and (self.in_string or self.depth > 0) and self.cut_line():
            self.cut_at = self.opened
            self.tail = b""
            return None
        if self.in_string:
            self._fail(self.pos, "the file ends inside a string: it is truncated; download it again")
        if self.depth > 0 or (self.mode == "array" and not self.closed):
            self._fail(self.pos, f"the file ends with {max(self.depth, 1)} bracket(s) still open: "
                       "it is truncated; download it again")
        data, self.tail = self.tail, b""
        if not data.strip(WHITESPACE):
            return None
        return Segment(self.tail_start, data, None, self._block(self.pos))

    def cut_line(self) -> bool:
        """Whether the unfinished record is a cut last line of JSON Lines: complete records
        came before it, it starts a line of its own (the record before it ended before the
        last newline) and no newline follows its start. A record that spans lines, or a file
        whose only record is unfinished, is truncated, not cut."""
        return (self.records > 0 and self.opened > self.newline
                and self.between >= self.tail_start)

    def _block(self, end: int) -> int:
        return max(1 << 20, self.longest + 2, end - self.last_break + 2)

    def _structure(self, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets and bytes of brackets, commas and newlines outside strings."""
        mask = buf == 34
        mask |= buf == 44
        mask |= buf == 10
        folded = buf & 0xDF  # '[' and '{' fold to 0x5B, ']' and '}' to 0x5D
        mask |= folded == 0x5B
        mask |= folded == 0x5D
        pos = np.flatnonzero(mask)
        ch = buf[pos]
        quote = ch == 34
        real = quote.copy()  # quotes that open or close strings
        escaped = self._escaped(buf, pos[quote])
        if escaped.size:
            real[np.flatnonzero(quote)[escaped]] = False
        quotes = np.cumsum(real, dtype=np.int64) + self.in_string
        if quotes.size:
            self.in_string = int(quotes[-1]) & 1
        keep = ~quote & ((quotes & 1) == 0)
        return pos[keep], ch[keep]

    def _escaped(self, buf: np.ndarray, quotes: np.ndarray) -> np.ndarray:
        """Indices into `quotes` of those escaped by an odd run of backslashes."""
        carry = self.backslashes
        bs = np.flatnonzero(buf == 92)
        # A run of backslashes: its start (index into bs) for every backslash.
        first = np.ones(bs.size, bool)
        first[1:] = np.diff(bs) != 1
        run_start = np.maximum.accumulate(np.where(first, np.arange(bs.size), 0))
        if bs.size and bs[-1] == buf.size - 1:  # a run reaches the chunk's end
            last_run = int(bs[run_start[-1]])
            self.backslashes = buf.size - last_run + (carry if last_run == 0 else 0)
        else:
            self.backslashes = 0
        if not quotes.size or (not bs.size and not carry):
            return np.empty(0, np.int64)
        prev = np.zeros(quotes.size, bool)
        inner = quotes > 0
        prev[inner] = buf[quotes[inner] - 1] == 92
        prev[~inner] = carry > 0
        cand = np.flatnonzero(prev)
        if not cand.size:
            return cand
        at = quotes[cand]  # the quotes after a backslash
        length = np.full(at.size, carry, np.int64)  # a quote at offset 0: only the carried run
        mid = at > 0
        end = np.searchsorted(bs, at[mid] - 1)
        run = run_start[end]
        length[mid] = end - run + 1 + np.where(bs[run] == 0, carry, 0)
        return cand[(length & 1) == 1]

    def _check_blank(self, buf: np.ndarray, base: int) -> None:
        junk = np.flatnonzero(~np.isin(buf, _BLANK))
        if junk.size:
            self._fail(base + int(junk[0]), "unexpected data after the array: a file holds "
                       "one array, or one JSON object per line")

    def _fail(self, offset: int, problem: str):
        raise ParseError(offset, problem)


class FastLinesScanner:
    """JSON Lines as they come: each segment ends at the last newline of its chunk.

    Records that span lines, lines longer than a block, or anything else pyarrow rejects
    send the source to `ExactScanner`.
    """

    def __init__(self, start: int):
        self.skip = start  # BOM and leading blanks
        self.pos = 0
        self.tail = b""
        self.cut_at: int | None = None  # the cut last line's offset, once dropped

    def feed(self, chunk) -> Segment | None:
        buf = self._join(chunk)
        cut = _rfind(buf, b"\n") + 1
        if not cut:
            self.tail = _keep(buf)
            return None
        self.tail = buf[cut:].tobytes()
        return Segment(-1, buf[:cut], None, LINES_BLOCK, fast=True)

    def finish(self) -> Segment | None:
        """The last line; None, with its offset in `cut_at`, when it is a record cut short
        (ExactScanner.cut_line; the lines before it are whole records, or pyarrow rejects
        them and the exact scan decides again)."""
        body = self.tail.lstrip(WHITESPACE)
        if not body:
            return None
        start = self.pos - len(body)
        if body[:1] == b"{" and start > self.skip:
            probe = ExactScanner("lines", 0)
            try:
                probe.feed(body)
            except ParseError:
                probe.depth = 0
            if (probe.depth > 0 or probe.in_string) and not probe.records:  # one record, cut
                self.cut_at = start
                return None
        return Segment(-1, self.tail, None, max(LINES_BLOCK, len(self.tail) + 1), fast=True)

    def _join(self, chunk) -> np.ndarray:
        base, self.pos = self.pos, self.pos + len(chunk)
        chunk = memoryview(chunk)[max(self.skip - base, 0):]
        buf = np.empty(len(self.tail) + len(chunk), np.uint8)
        buf[:len(self.tail)] = np.frombuffer(self.tail, np.uint8)
        buf[len(self.tail):] = np.frombuffer(chunk, np.uint8)
        return buf


class FastArrayScanner:
    """A JSON array of objects (an archive's tweets.js, a v1.1 download), fast.

    The first two elements show how this file separates elements, e.g. '\\n  },\\n  {\\n
    "tweet" :' in an archive or '},{"created_at":' in compact v1.1. Each chunk is cut at
    the last such separator (found from the end: a few bytes are searched, not the
    chunk) and the elements before it are wrapped as '{"d":[...]}': one JSON record
    holding a list, which pyarrow parses as it is, commas and all.

    A cut is only right between two elements; a cut inside an element makes both
    segments invalid JSON (an object's text never holds a shorter complete object
    before its own end, and a cut inside a string leaves it unterminated), so pyarrow
    rejects them and the source is read again by `ExactScanner`. Junk after the array or a
    truncated end goes the same way, and `ExactScanner` names the place.
    """

    def __init__(self, separator: tuple[bytes, int, int], start: int):
        self.sep, self.end_at, self.next_at = separator  # the bytes; where '}' and '{' are
        self.skip = start + 1  # everything up to and including the '['
        self.pos = 0
        self.tail = b""

    @staticmethod
    def separator(head: bytes, start: int) -> tuple[bytes, int, int] | None:
        """From the '}' ending the first element (and the blanks before it, back to a newline)
        to the first key of the second: its bytes and the offsets of '}' and '{' in it."""
        probe = ExactScanner("array", start)
        try:
            seg = probe.feed(head)
        except ParseError:
            return None
        if seg is None or not probe.commas:
            return None
        comma = seg.start + bytes(seg.data).index(b"\n")  # the probe turned it into a newline
        end = len(head[:comma].rstrip(WHITESPACE)) - 1
        begin = len(head) - len(head[comma + 1:].lstrip(WHITESPACE))
        if end < 0 or head[end:end + 1] != b"}" or head[begin:begin + 1] != b"{":
            return None
        key = re.match(rb'\{\s*"(?:[^"\\]|\\.){1,64}"\s*:', head[begin:begin + 256])
        line = head.rfind(b"\n", 0, end)
        first = line if line >= 0 and not head[line + 1:end].strip(b" \t\r") else end
        stop = begin + (key.end() if key else 1)
        return head[first:stop], end - first, begin - first

    def feed(self, chunk) -> Segment | None:
        base, self.pos = self.pos, self.pos + len(chunk)
        chunk = memoryview(chunk)[max(self.skip - base, 0):]
        buf = np.empty(len(WRAP) + len(self.tail) + len(chunk) + 2, np.uint8)
        head = len(WRAP) + len(self.tail)
        buf[:len(WRAP)] = np.frombuffer(WRAP, np.uint8)
        buf[len(WRAP):head] = np.frombuffer(self.tail, np.uint8)
        buf[head:-2] = np.frombuffer(chunk, np.uint8)
        at = _rfind(buf[:-2], self.sep, start=len(WRAP))
        if at < 0:
            self.tail = _keep(buf[len(WRAP):-2])
            return None
        self.tail = buf[at + self.next_at:-2].tobytes()
        end = at + self.end_at + 1  # just after the element's '}'
        buf[end:end + 2] = np.frombuffer(b"]}", np.uint8)
        return Segment(-1, buf[:end + 2], None, end + 3, fast=True, wrapped=True)

    def finish(self) -> Segment | None:
        body = self.tail.rstrip(WHITESPACE + b";")
        if not body.endswith(b"]"):
            raise Fallback  # truncated, or junk after the array: ExactScanner says where
        data = WRAP + body[:-1] + b"]}"
        return Segment(-1, data, None, len(data) + 1, fast=True, wrapped=True)


def _rfind(buf: np.ndarray, needle: bytes, start: int = 0) -> int:
    """The last offset of `needle` in `buf` at or after `start`, or -1; searches from the
    end in growing windows, so a match near the end costs next to nothing."""
    window = 1 << 16
    while True:
        lo = max(start, buf.size - window)
        at = buf[lo:].tobytes().rfind(needle)
        if at >= 0:
            return lo + at
        if lo == start:
            return -1
        window *= 8


def _keep(buf: np.ndarray) -> bytes:
    """Bytes to carry into the next chunk: no record boundary yet. A fast scanner that
    finds none in several chunks is looking for the wrong thing: read exactly instead."""
    if buf.size > MAX_CARRY:
        raise Fallback
    return buf.tobytes()
