"""Memorization: does a sampled tweet copy one of the bot's training tweets?

Both sides are compared after the filter's cleaning (tweetlm.shared.text, the rules the filter
stage applies: HTML unescaped, links dropped, whitespace collapsed), casefolded. A sample copies a training tweet when it IS that tweet
(verbatim), or when more than `threshold` of its word n-grams (`ngram` words each) occur in
that one tweet: a stitched-together near copy. A sample shorter than `ngram` words counts as
one n-gram: a copy when all of it occurs, word for word, in one training tweet.

The check scans the training tweets once per call, looking up only the samples' n-grams, so
memory stays small whatever the corpus.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from tweetlm.shared.text import clean_text_reference


@dataclass(frozen=True)
class Check:
    copy: bool
    verbatim: bool
    overlap: float  # largest share of the sample's n-grams found in one training tweet
    source: str | None  # that training tweet, as the bot was trained on it

    def to_json(self) -> dict:
        return asdict(self)


def normalize(text: str, keep_newlines: bool) -> str:
    return " ".join(clean_text_reference(text, keep_newlines).casefold().split())


def _grams(words: list[str], n: int) -> set[str]:
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def check(samples: list[str], tweets: list[str], ngram: int, threshold: float,
          keep_newlines: bool) -> list[Check]:
    """One Check per sample against the training `tweets`."""
    norm = [normalize(s, keep_newlines) for s in samples]
    wanted: dict[str, list[int]] = {}  # long samples: n-gram -> the samples holding it
    totals, short = [0] * len(samples), {}  # short samples: index -> " text "
    for i, text in enumerate(norm):
        words = text.split()
        if len(words) >= ngram:
            grams = _grams(words, ngram)
            totals[i] = len(grams)
            for g in grams:
                wanted.setdefault(g, []).append(i)
        elif words:
            short[i] = f" {text} "
    exact: dict[str, list[int]] = {}  # normalized sample -> the samples that are it
    for i, text in enumerate(norm):
        if text:
            exact.setdefault(text, []).append(i)
    best = [(0.0, None)] * len(samples)  # (overlap, training tweet)
    verbatim = [None] * len(samples)
    for tweet in tweets:
        text = normalize(tweet, keep_newlines)
        for i in exact.get(text, ()):
            verbatim[i] = tweet
        hits = Counter(i for g in _grams(text.split(), ngram) & wanted.keys() for i in wanted[g])
        for i, count in hits.items():
            if count / totals[i] > best[i][0]:
                best[i] = (count / totals[i], tweet)
        if short:
            padded = f" {text} "
            for i, s in short.items():
                if best[i][0] < 1 and s in padded:
                    best[i] = (1.0, tweet)
    out = []
    for i in range(len(samples)):
        overlap, source = (1.0, verbatim[i]) if verbatim[i] is not None else best[i]
        copy = verbatim[i] is not None or overlap > threshold
        out.append(Check(copy, verbatim[i] is not None, round(overlap, 4),
                         source if copy else None))
    return out
