"""The account's name and face, for the card and predictions.png, as huggingtweets showed
them: data/accounts/<handle>.json, {"display_name": ..., "avatar": a PNG data URI}.

From an account archive (unpacked or zipped): data/account.js `accountDisplayName`, and
the avatar in data/profile_media/ named `<accountId>-<the last part of profile.js's
avatarMediaUrl>`. From other sources: the display name the tweets' user objects give most
often (retweets left out: some tools put the original's author there). Local files only;
null where nothing says.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tweetlm.ingest.archive import ytd_value

AVATAR_PX = 200  # the picture's avatar is 120 px; the card's 92
MAX_AVATAR = 8 << 20  # bytes: profile images are small; more is no avatar


@dataclass(frozen=True)
class ArchiveRoot:
    """Where an archive's data/ is: an unpacked folder, or a zip and its members' prefix."""

    path: Path
    prefix: str | None = None  # None: a folder; else the zip members' path before data/

    def read(self, name: str, limit: int = MAX_AVATAR) -> bytes | None:
        try:
            if self.prefix is None:
                file = self.path / name
                return file.read_bytes() if file.is_file() and file.stat().st_size <= limit else None
            with zipfile.ZipFile(self.path) as z:
                info = z.getinfo(self.prefix + name)
                return z.read(info) if info.file_size <= limit else None
        except (KeyError, OSError, zipfile.BadZipFile, ValueError, RuntimeError):
            return None  # a courtesy: the tweets are what matters


def from_archives(roots: list[ArchiveRoot]) -> dict:
    """The display name and avatar the first archive that has them gives."""
    for root in roots:
        account = _entry(root.read("data/account.js"), "account")
        name = account.get("accountDisplayName")
        if not isinstance(name, str) or not name.strip():
            continue
        avatar = None
        url = _entry(root.read("data/profile.js"), "profile").get("avatarMediaUrl")
        if isinstance(url, str) and isinstance(account.get("accountId"), str):
            image = root.read(f"data/profile_media/{account['accountId']}-"
                              f"{PurePosixPath(url).name}")
            avatar = data_uri(image) if image else None
        return {"display_name": name.strip(), "avatar": avatar}
    return {}


def from_rows(rows: pa.Table) -> dict:
    """The display name most of the account's own tweets give, or {}."""
    names = pc.utf8_trim_whitespace(
        rows.column("name").filter(pc.invert(rows.column("is_retweet"))).drop_null())
    if not len(names):  # (combining no chunks would have pyarrow import pandas)
        return {}
    counts = pc.value_counts(names.combine_chunks()).to_pylist()  # a few distinct names
    counts = [count for count in counts if count["values"]]  # {values: name, counts: n}
    if not counts:
        return {}
    return {"display_name": max(counts, key=lambda count: count["counts"])["values"],
            "avatar": None}


def data_uri(image: bytes) -> str | None:
    """A profile image as a square PNG data URI, or None if it is no image Pillow reads."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(image)) as img:
            img = img.convert("RGB")
            side = min(img.size)
            left, top = (img.width - side) // 2, (img.height - side) // 2
            img = img.crop((left, top, left + side, top + side)).resize((AVATAR_PX, AVATAR_PX))
            out = io.BytesIO()
            img.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _entry(data: bytes | None, key: str) -> dict:
    """`{key: {...}}` of an archive file `window.YTD.<type>.part0 = [{key: {...}}]`, or {}."""
    if not data:
        return {}
    try:
        entries = ytd_value(data)
    except orjson.JSONDecodeError:
        return {}
    first = entries[0] if isinstance(entries, list) and entries else None
    value = first.get(key) if isinstance(first, dict) else None
    return value if isinstance(value, dict) else {}



