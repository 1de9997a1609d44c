"""Who a bot is, as predict's picture and the card both show it: names, avatar, data origin."""

from __future__ import annotations

import colorsys
import hashlib

from tweetlm.core.layout import SAMPLE_HANDLE
from tweetlm.core.params import Params

SYNTHETIC_HANDLES = {SAMPLE_HANDLE}  # written by the `sample` stage, not tweeted by anyone


def display_name(handle: str, params: Params) -> str:
    return params.card.display_names.get(handle, handle)


def avatar_color(handle: str) -> tuple[int, int, int]:
    """A stable colour per handle for the placeholder avatar (we have no profile images)."""
    hue = hashlib.sha256(handle.encode()).digest()[0] / 256
    return tuple(round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.42, 0.55))


def initials(name: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in name).split()
    if not words:
        return "?"
    return (words[0][:2] if len(words) == 1 else words[0][0] + words[1][0]).upper()
