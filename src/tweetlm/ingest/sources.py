"""Finding the raw files under data/raw/<handle>/ and opening them, zip members included.

Skipped: hidden files and folders (`.DS_Store`, `.git`), `__MACOSX`, `Thumbs.db`,
`desktop.ini`, and files named README* or LICENSE*. An unpacked Twitter/X archive
(archive.py) gives its tweet files; the rest of its tree is passed over and counted. A
.zip (told by its first bytes, not its name) is the archive too: only its tweet files are
read (its manifest's, else tweets.js / tweet.js / tweets-partN.js, or a pre-2019
archive's data/js/tweets/YYYY_MM.js, by name), streamed
without unpacking anything; members named outside it ('../', absolute) and tweet files
that would expand past `ingest.max_archive_mb` (declared sizes first, then the bytes
actually read) are refused.
"""

from __future__ import annotations

import lzma
import os
import re
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from tweetlm.core.errors import TweetlmError, first_line, show_path
from tweetlm.ingest import archive, declared
from tweetlm.ingest.account import ArchiveRoot
from tweetlm.ingest.formats import Shape

SKIP_NAMES = {"thumbs.db", "desktop.ini", "__macosx"}
DVC_CACHE = Path(".dvc/cache")  # from the project root, where stages run
SKIP_PREFIXES = ("readme", "license", "licence")


@dataclass
class Source:
    """One raw input: a file, or a member of an archive .zip."""

    name: str  # shown in messages and the `source` column
    path: Path
    member: str | None = None  # zip member name
    limit: int | None = None  # max bytes to expand (zip members)
    size: int = 0  # bytes it holds (a zip member's declared size): for the progress bar
    declared: Shape | None = None  # the folder's tweetlm-fields.yaml: read with these fields

    @property
    def shown(self) -> str:
        """The source as messages name it: its path from the project root."""
        where = self.path.as_posix()
        return show_path(where if self.member is None else f"{where}/{self.member}")

    @contextmanager
    def open(self):
        if self.member is None:
            with open(self.path, "rb") as f:
                yield f
        else:
            with zipfile.ZipFile(self.path) as z, z.open(self.member) as f:
                yield f

    def chunks(self, size: int, on_read=None):
        """The bytes, `size` at a time, as views of one reused buffer: use each at once.
        `on_read(n)` is told each chunk's length (the progress bar).

        Reusing the buffer matters: fresh memory costs page faults, here as much as the scan.
        """
        buffer = bytearray(size)
        try:
            with self.open() as f:
                total = 0
                while True:
                    n = f.readinto(buffer)
                    if not n:
                        return
                    total += n
                    if self.limit is not None and total > self.limit:
                        raise TweetlmError(
                            f"{self.shown}: expands past ingest.max_archive_mb="
                            f"{self.limit >> 20} MiB (its declared size says less: a damaged or "
                            "hostile zip); raise the limit only if the archive is genuine")
                    if on_read is not None:
                        on_read(n)
                    yield memoryview(buffer)[:n]
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError) as e:  # corrupt data
            raise TweetlmError(f"{self.shown}: damaged zip member ({first_line(e)}): "
                               "download the archive again")
        except (RuntimeError, NotImplementedError) as e:  # encrypted, unsupported compression
            raise TweetlmError(f"{self.shown}: cannot unpack ({first_line(e)}): unzip the "
                               "archive and put data/tweets.js in the folder instead")
        except OSError as e:
            raise TweetlmError(f"{self.shown}: cannot read: {e.strerror or first_line(e)}")

    def where(self, offset: int) -> str:
        """'file:line:column' of a byte offset (reads the file again: errors only)."""
        place = self.line_column(offset)
        if place is None:
            return f"{self.shown}: byte {offset}"
        return f"{self.shown}:{place[0]}:{place[1]}"

    def line_column(self, offset: int) -> tuple[int, int] | None:
        """(line, column) of a byte offset, both from 1 (reads the file again); None if the
        file cannot be read again."""
        line, last_newline, seen = 1, -1, 0
        try:
            with self.open() as f:
                while seen < offset:
                    data = f.read(min(16 << 20, offset - seen))
                    if not data:
                        break
                    newlines = data.count(b"\n")
                    if newlines:
                        line += newlines
                        last_newline = seen + data.rindex(b"\n")
                    seen += len(data)
        except Exception:  # the place is a courtesy: never hide the real message behind it
            return None
        return line, offset - last_newline


def _check_link(path: Path, raw_dir: Path) -> None:
    """A link under data/raw/<h>/ may point inside that folder (or into DVC's cache, which
    `cache.type: symlink` links raw files to); one pointing elsewhere is refused, unread: it
    would train on, and print from, a file that is not the project's."""
    if not path.is_symlink():
        return
    target = Path(os.path.realpath(path))
    inside = (Path(os.path.realpath(raw_dir)), Path(os.path.realpath(DVC_CACHE)))
    if not any(target == root or root in target.parents for root in inside):
        raise TweetlmError(f"{show_path(path)}: a link to something outside "
                           f"{show_path(raw_dir)}/: refusing to read through it; copy the "
                           "file into the folder instead")


def _skip(name: str) -> bool:
    low = name.lower()
    return name.startswith(".") or low in SKIP_NAMES or low.startswith(SKIP_PREFIXES)


@dataclass
class Found:
    """What a raw folder holds: the sources to read, in path order, and what is not read."""

    sources: list[Source]
    skipped: list[str]  # relative paths: hidden files, README*, LICENSE* ...
    archive_files: int = 0  # files of archives (unpacked or zipped) passed over
    archives: list[str] = field(default_factory=list)  # unpacked archive roots (relative)
    declared: Shape | None = None  # from the folder's tweetlm-fields.yaml
    notes: list[Source] = field(default_factory=list)  # archives' note-tweet.js (passed over too)
    roots: list[ArchiveRoot] = field(default_factory=list)  # archives, for the account's name


def find_sources(raw_dir: Path, max_archive_mb: int) -> Found:
    """The files under `raw_dir` to read, in path order: unpacked archives and zips opened
    into their tweet files, everything else as it is."""
    if not raw_dir.is_dir():
        what = "is not a folder" if raw_dir.exists() else "not found"
        raise TweetlmError(f"{show_path(raw_dir)}: {what}: put the account's tweet files there "
                           "(API JSON, JSON Lines, or the Twitter/X archive, zipped or unpacked)")
    found = Found([], [])
    for path in _walk(raw_dir, found):
        _add_file(path, raw_dir, found, max_archive_mb)
    for source in found.sources:
        if source.member is None:
            source.declared = found.declared
    if not found.sources:
        raise TweetlmError(f"{show_path(raw_dir)}: holds no tweet files: put the account's API "
                           "JSON, JSON Lines or Twitter/X archive (zipped or unpacked) there")
    return found


def _walk(raw_dir: Path, found: Found) -> list[Path]:
    """The files under `raw_dir` that may hold tweets, in path order: an unpacked archive's
    tweet files, and every file outside archives but the skipped ones and declared.json.
    Notes on `found` what else it met: archive roots, their other files, skipped files, the
    declared shape."""
    paths = []
    roots: list[tuple[Path, str, set[Path]]] = []  # unpacked archives: kind, tweet files
    for folder, dirs, files in os.walk(raw_dir):
        folder = Path(folder)
        for name in dirs + files:
            _check_link(folder / name, raw_dir)
        # a link to a folder inside raw_dir: its files are read where they are
        dirs[:] = sorted(d for d in dirs if not _skip(d) and not (folder / d).is_symlink())
        kind = archive.root_kind(folder, files, dirs)
        if kind:
            tweets = archive.tweet_files(kind, folder, folder.relative_to(raw_dir))
            roots.append((folder, kind, set(tweets)))
            found.archives.append(folder.relative_to(raw_dir).as_posix())
            found.roots.append(ArchiveRoot(folder))
        for name in sorted(files):
            path = folder / name
            root = next(((r, k, t) for r, k, t in reversed(roots) if r in path.parents), None)
            if root and (path in root[2] or archive.owns(root[1], path.relative_to(root[0]).parts)):
                if path in root[2]:
                    paths.append(path)
                else:
                    found.archive_files += 1
                    if archive.NOTES_NAME_RE.fullmatch(name) and path.parent.name == "data":
                        found.notes.append(Source(path.relative_to(raw_dir).as_posix(), path))
            elif _skip(name):
                found.skipped.append(path.relative_to(raw_dir).as_posix())
            elif name == declared.DECLARED_NAME and folder == raw_dir:
                found.declared = declared.shape(declared.load(path))
            else:
                paths.append(path)
    return sorted(paths, key=lambda p: p.relative_to(raw_dir).parts)


def _add_file(path: Path, raw_dir: Path, found: Found, max_archive_mb: int) -> None:
    """A file as sources on `found`: an archive zip's tweet members, or the file itself."""
    rel = path.relative_to(raw_dir).as_posix()
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise TweetlmError(f"{show_path(path)}: cannot read: {e.strerror}")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        members, passed, notes = _zip_sources(path, rel, max_archive_mb)
        found.sources += members
        found.archive_files += passed
        found.notes += notes
        prefix = members[0].member.rpartition("data/")[0]
        found.roots.append(ArchiveRoot(path, prefix))
    else:
        found.sources.append(Source(rel, path, size=path.stat().st_size))


def _zip_sources(path: Path, rel: str, max_archive_mb: int) -> tuple[list[Source], int, list[Source]]:
    """The archive zip's tweet members as sources, how many other members it has, and its
    note-tweet.js members (among those)."""
    limit = max_archive_mb << 20
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            for info in infos:
                name = info.filename.replace("\\", "/")
                if name.startswith("/") or re.match(r"[A-Za-z]:", name) or \
                        ".." in PurePosixPath(name).parts:
                    raise TweetlmError(f"{show_path(path)}: member {name!r} points outside the "
                                       "archive: refusing it; use the archive as downloaded from "
                                       "Twitter/X")
            files = [i for i in infos if not i.is_dir()]
            sizes = {i.filename: i.file_size for i in files}

            def read(name: str) -> bytes:
                if sizes[name] > min(limit, archive.MAX_MANIFEST):
                    return b""
                with z.open(name) as f:
                    return f.read(min(limit, archive.MAX_MANIFEST) + 1)

            listed = archive.zip_tweet_members(list(sizes), read, show_path(path))
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError) as e:
        raise TweetlmError(f"{show_path(path)}: not a readable zip ({first_line(e)}): download "
                           "the archive again")
    except (RuntimeError, NotImplementedError) as e:  # the manifest encrypted, odd compression
        raise TweetlmError(f"{show_path(path)}: cannot unpack its manifest ({first_line(e)}): "
                           "unzip the archive into the folder instead")
    if listed is None:
        listed = [i.filename for i in files if archive.ZIP_TWEETS_RE.search(i.filename)]
    wanted = set(listed)
    members = [i for i in files if i.filename in wanted]
    if not members:
        raise TweetlmError(f"{show_path(path)}: no data/tweets.js (or data/js/tweets/) in this "
                           "zip: is it the Twitter/X archive? Otherwise unzip it into the folder")
    declared = sum(i.file_size for i in members)
    if declared > limit:
        raise TweetlmError(f"{show_path(path)}: tweet files expand to {declared >> 20} MiB, past "
                           f"ingest.max_archive_mb={max_archive_mb}: raise it if the archive is genuine")
    notes = [Source(f"{rel}/{i.filename}", path, i.filename, limit, i.file_size) for i in files
             if archive.ZIP_NOTES_RE.search(i.filename)]
    return ([Source(f"{rel}/{i.filename}", path, i.filename, limit, i.file_size) for i in members],
            len(files) - len(members), notes)
