"""W&B tracking: artifacts reference the files DVC already stores, they never copy them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
from pathlib import Path

import pytest

from helpers.params import make_params
from tweetlm.shared import tracking


@pytest.fixture
def wandb_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_ARTIFACT_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home" / var.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return tmp_path


def _files_under(folder):
    return [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files]


def _records(path: Path):
    """The protobuf records of an offline run's run-ID.wandb: W&B's transaction log (a 7-byte
    header, then LevelDB's log format: 32 KiB blocks of records, each a 7-byte header --
    CRC32C, length, kind: 1 full, 2 first, 3 middle, 4 last -- then its bytes)."""
    from wandb.proto import wandb_internal_pb2 as pb

    raw, block, pos, part = path.read_bytes(), 1 << 15, 7, b""
    assert raw[:4] == b":W&B"
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header: zeros
            pos += left
            continue
        _, size, kind = struct.unpack("<IHB", raw[pos:pos + 7])
        if pos + 7 + size > len(raw):  # still being written
            return
        part += raw[pos + 7:pos + 7 + size]
        pos += 7 + size
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(part)
            yield record
            part = b""


def logged(run) -> tuple[dict, dict]:
    """What a finished offline run wrote to its run folder: (output artifact name -> its
    ArtifactRecord, the config as the updates left it)."""
    folder = Path(run.dir).parent
    (log,) = folder.glob("run-*.wandb")
    deadline = time.monotonic() + 60
    # wandb's service may still be writing the log when finish() returns: its last record is
    # the run's exit
    while not any(r.WhichOneof("record_type") == "exit" for r in _records(log)):
        assert time.monotonic() < deadline, f"{log}: no exit record within 60 s"
        time.sleep(0.1)
    artifacts, config = {}, {}
    for record in _records(log):
        kind = record.WhichOneof("record_type")
        if kind == "artifact":
            artifacts[record.artifact.name] = record.artifact
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
    return artifacts, config


def md5_b64(path: Path) -> str:
    return base64.b64encode(hashlib.md5(path.read_bytes()).digest()).decode()


def test_artifacts_are_references_not_copies(wandb_home):
    model = wandb_home / "models" / "alice"
    model.mkdir(parents=True)
    payload = os.urandom(4 << 20)  # big enough to notice a copy anywhere
    files = [model / "model.safetensors", model / "config.json"]
    files[0].write_bytes(payload)
    files[1].write_text("{}")
    params = make_params(handles=["alice"])

    with tracking.stage_run("train", "alice", params) as run:
        assert run is not None
        tracking.log_artifact(run, "model-alice", "model", *files, metadata={"steps": 3})
    artifacts, _ = logged(run)

    artifact = artifacts["model-alice"]
    assert artifact.type == "model" and json.loads(artifact.metadata) == {"steps": 3}
    entries = {e.path: e for e in artifact.manifest.contents}
    assert set(entries) == {f.name for f in files}
    for f in files:  # a reference to the file where DVC keeps it, with its checksum and size
        entry = entries[f.name]
        assert entry.ref == f.resolve().as_uri()
        assert entry.digest == md5_b64(f) and entry.size == f.stat().st_size

    # Nothing of the model's size was written anywhere but the model folder itself.
    big = [p for p in _files_under(wandb_home) if os.path.getsize(p) >= len(payload)
           and not p.startswith(str(model))]
    assert big == []


def test_an_input_and_the_output_it_came_from_have_one_digest(wandb_home):
    """Offline, train's run records the digest of what it read (config `inputs`); it is the
    digest tokenize's run logged for the artifact it wrote, and another once the data changes."""
    data = wandb_home / "data" / "tokenized" / "alice"
    data.mkdir(parents=True)
    (data / "train.arrow").write_bytes(b"blocks")
    (data / "meta.json").write_text('{"a": 1}')
    params = make_params(handles=["alice"])

    def train_input() -> str:
        with tracking.stage_run("train", "alice", params) as run:
            tracking.use_artifact(run, "tokenized-alice", "dataset", data)
        return logged(run)[1]["inputs"]["tokenized-alice"]

    with tracking.stage_run("tokenize", "alice", params) as run:
        tracking.log_artifact(run, "tokenized-alice", "dataset", data)
    output = logged(run)[0]["tokenized-alice"]
    assert sorted(e.path for e in output.manifest.contents) == ["meta.json", "train.arrow"]
    assert train_input() == output.digest
    (data / "meta.json").write_text('{"a": 2}')
    assert train_input() != output.digest
