"""Shared fixtures: a throwaway copy of the project for tests that run DVC or the CLI, and the
planted pipeline (tests/helpers/pipeline.py) that the secrets and faults tests share.

The builders live in tests/helpers/: tests import them from there, never from each other.
"""

from __future__ import annotations

import os

import pytest

from helpers.pipeline import Planted, planted_pipeline
from helpers.project import Project, copy_project

# Never talk to the network or phone home from a test.
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def project(tmp_path) -> Project:
    """A fresh copy of the project (git repo, one commit, DVC initialised, empty cache)."""
    return copy_project(tmp_path / "project")


@pytest.fixture(scope="session")
def planted(tmp_path_factory) -> Planted:
    """The planted base and reference run (helpers/pipeline.py), built once per session."""
    return planted_pipeline(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="session")
def bots_project(tmp_path_factory) -> Project:
    """The sample handle and the bot echo built by `dvc repro`, gallery included
    (helpers/served.py), once per session: the page's tests read it, never modify it."""
    from helpers.served import build_bots

    return build_bots(tmp_path_factory.mktemp("bots") / "project")
