"""Params for tests: the shipped params.yaml (the one source of values) with overrides."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml

from tweetlm.core.params import Params, parse_params

ROOT = Path(__file__).resolve().parents[2]


@cache
def _shipped() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def shipped_raw() -> dict:
    """A fresh copy of the shipped params.yaml as plain data."""
    return copy.deepcopy(_shipped())


def make_params(**overrides) -> Params:
    """The shipped params with dotted keys replaced and validated, e.g.
    make_params(handles=["alice"], **{"model.base": "tiny", "train.epochs": 1})."""
    raw = shipped_raw()
    for key, value in overrides.items():
        node = raw
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return parse_params(raw)
