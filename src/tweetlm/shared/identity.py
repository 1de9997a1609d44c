"""Who a bot is, as predict's picture and the card both show it: names, avatar, data origin."""

from __future__ import annotations

import base64
import colorsys
import hashlib
import io
import json
from pathlib import Path

from tweetlm.core.layout import SAMPLE_HANDLE, account
from tweetlm.core.params import Params

SYNTHETIC_HANDLES = {SAMPLE_HANDLE}  # written by the `sample` stage, not tweeted by anyone


def display_name(handle: str, params: Params) -> str:
    """card.display_names' name, else the one the account's tweets give (ingest's
    data/accounts/<handle>.json), else the handle."""
    return name_of(handle, params.card.display_names)


def name_of(handle: str, display_names: dict[str, str], root: Path = Path(".")) -> str:
    """display_name() with the names given, in the project at `root`."""
    return display_names.get(handle) or _account(handle, root).get("display_name") or handle


def avatar(handle: str) -> str | None:
    """The account's profile image as a PNG data URI (from its archive), or None."""
    uri = _account(handle).get("avatar")
    return uri if isinstance(uri, str) and uri.startswith("data:image/png;base64,") else None


def avatar_image(handle: str):
    """avatar() as a Pillow image, or None."""
    uri = avatar(handle)
    if uri is None:
        return None
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def _account(handle: str, root: Path = Path(".")) -> dict:
    try:
        value = json.loads((root / account(handle)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # not ingested here (a bot's card in a test, a model pulled alone)
    return value if isinstance(value, dict) else {}


def avatar_color(handle: str) -> tuple[int, int, int]:
    """A stable colour per handle for the placeholder avatar (when no profile image is had)."""
    hue = hashlib.sha256(handle.encode()).digest()[0] / 256
    return tuple(round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.42, 0.55))


def initials(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name).split()
    if not words:
        return "?"
    return (words[0][:2] if len(words) == 1 else words[0][0] + words[1][0]).upper()
