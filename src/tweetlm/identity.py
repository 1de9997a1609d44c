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


def oversampling_warnings(bot: str, balance: dict, limit: float) -> list[str]:
    """One line per handle whose training tweets a bot repeats more than `limit` times:
    the bot will say that handle's tweets word for word (tokenize's output and the card)."""
    out = []
    for handle, n in balance.items():
        times = n["balanced_chars"] / max(n["train_chars"], 1)
        if times > limit:
            out.append(f"bot {bot}: @{handle}'s {n['train_tweets']} training tweets are repeated "
                       f"{times:.0f}x to match the largest handle (tokenize.max_oversampling="
                       f"{limit:g}): the bot will repeat them word for word; add more of "
                       f"@{handle}'s tweets or leave it out of the bot")
    return out
