"""What train reads: tokenize's tweets and validation blocks, checked against this run's
params, and each epoch's blocks, packed afresh from a new order of the tweets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tweetlm.shared import pretrained
from tweetlm.core import arrays, layout
from tweetlm.core.errors import TweetlmError, not_built, rerun
from tweetlm.core.params import Params


def resolve_base(tokenized: Path, params: Params) -> tuple[pretrained.Base, int]:
    """(the base to train, the resolved block size), once sure the data was tokenized for
    them: params may have moved on since tokenize ran (`tweetlm train` by hand, a hub cache
    updated underneath)."""
    stage = layout.stage_id("tokenize", tokenized.name, tokenized.name in params.bots)
    meta_path = tokenized / layout.TOKENIZED_META
    if not meta_path.is_file():
        raise not_built(meta_path, stage)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("packing") != "per-epoch":
        raise TweetlmError(f"{meta_path}: tokenized by an older tweetlm (fixed blocks): "
                           f"{rerun(stage)}")
    if meta.get("base") != params.model.base:
        raise TweetlmError(f"{meta_path}: tokenized for base {meta.get('base')!r} but "
                           f"model.base is {params.model.base!r}: {rerun(stage)}")
    base = pretrained.resolve(params.model.base, params.model.revision)
    if meta.get("base_revision") != base.revision:
        raise TweetlmError(f"{meta_path}: tokenized with {base.name} at "
                           f"{meta.get('base_revision')} but the cache now has {base.revision}: "
                           f"pin model.revision, or {rerun(stage)}")
    block_size = pretrained.block_size(base, params.train.block_size,
                                       params.model.tiny.n_positions)
    if meta.get("block_size") != block_size:  # train.block_size changed since tokenize ran
        raise TweetlmError(f"{meta_path}: blocks of {meta.get('block_size')} tokens but "
                           f"train.block_size is {params.train.block_size} ({block_size}): "
                           f"{rerun(stage)}")
    return base, block_size


def _split(path: Path):
    """A split tokenize wrote: an Arrow IPC file (tokenize's docstring states the format),
    read with pyarrow alone."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, ValueError, pa.ArrowInvalid) as e:
        raise TweetlmError(f"{path}: unreadable tokenized data ({e}): rerun `dvc repro` "
                           "(tokenize)") from None


def _flat(table) -> tuple[np.ndarray, np.ndarray]:
    """(all token ids, row offsets) of a split, straight from its Arrow column."""
    column = table.column("input_ids").combine_chunks()
    if not len(column):  # no rows (a validation split with tokenize.val_fraction 0)
        return np.zeros(0, np.int64), np.zeros(1, np.int64)
    if column.null_count or column.values.null_count:
        raise TweetlmError("tokenized data with missing token ids: rerun `dvc repro` (tokenize)")
    offsets = arrays.to_numpy(column.offsets)
    values = arrays.to_numpy(column.values)[offsets[0]:offsets[-1]]
    return values.astype(np.int64), (offsets - offsets[0]).astype(np.int64)


class Tweets:
    """The training tweets (token ids, end-of-text included), packed per epoch as
    group_texts packs a text: concatenated in a new order, cut into `block_size` blocks, the
    tail dropped. The order is a function of (seed, epoch) alone, so a resumed run packs the
    same blocks; the number of blocks is the same every epoch (same tokens, another order)."""

    def __init__(self, values: np.ndarray, offsets: np.ndarray, block_size: int, seed: int):
        self.values, self.starts, self.lengths = values, offsets[:-1], np.diff(offsets)
        self.block_size, self.seed = block_size, seed
        self.blocks = len(values) // block_size  # per epoch

    def epoch(self, epoch: int) -> torch.Tensor:
        """The epoch's blocks, (blocks, block_size)."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.lengths))
        lengths = self.lengths[order]
        # position i of the packed stream reads values[start of its tweet + offset in it]
        ends = np.cumsum(lengths)
        shift = np.repeat(self.starts[order] - (ends - lengths), lengths)
        index = np.arange(int(ends[-1]), dtype=np.int64) + shift
        n = self.blocks * self.block_size
        return torch.from_numpy(self.values[index[:n]]).view(self.blocks, self.block_size)


def load(tokenized: Path, block_size: int, seed: int) -> tuple[Tweets, list[torch.Tensor]]:
    """(the training tweets, validation blocks as a list of 1-D tensors, the last one
    possibly shorter)."""
    tweets = Tweets(*_flat(_split(layout.split_file(tokenized, "train"))), block_size, seed)
    values, offsets = _flat(_split(layout.split_file(tokenized, "validation")))
    values = torch.from_numpy(values)
    return tweets, [values[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
