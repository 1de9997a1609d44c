"""A bot of several handles: balancing their training tweets, and saying when it went too far.

Left alone, a bot would mostly imitate whichever handle tweets the most, so tokenize repeats
the smaller handles' training tweets until their characters match the largest's (as
huggingtweets did). Repeated too often, a handle's tweets come back word for word: tokenize
and the card both warn, from the counts tokenize records.
"""

from __future__ import annotations

import zlib

import numpy as np


def balance(train: dict[str, list[str]], seed: int) -> tuple[dict[str, list[str]], dict]:
    """Oversample each handle's training tweets until its characters reach the largest
    handle's: whole copies, then the shortest prefix of a seeded permutation that gets there
    (so it passes the target by less than one tweet). -> (balanced lists, per-handle counts)."""
    chars = {h: sum(map(len, texts)) for h, texts in train.items()}
    target = max(chars.values())
    balanced, counts = {}, {}
    for handle, texts in train.items():
        out = list(texts)
        if 0 < chars[handle] < target:
            copies, rest = divmod(target, chars[handle])
            out = texts * copies
            if rest:
                order = np.random.default_rng([seed, zlib.crc32(handle.encode()), 1]).permutation(
                    len(texts))
                reach = np.cumsum([len(texts[i]) for i in order])
                out += [texts[i] for i in order[:int(np.searchsorted(reach, rest)) + 1]]
        balanced[handle] = out
        counts[handle] = {"train_tweets": len(texts), "train_chars": chars[handle],
                          "balanced_tweets": len(out), "balanced_chars": sum(map(len, out))}
    return balanced, counts


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
