"""Secrets: no credential from the environment or .dvc/config.local ends up in anything the
pipeline writes -- outputs, cards, reports, dvclive plots, W&B offline runs, dvc.lock, the DVC
cache, git objects, logs, stdout/stderr -- nor in the home, temp and cache folders the tools use.

`planted_pipeline()` builds, once per test session, a project copy whose environment and
.dvc/config.local hold fake credentials (unique random markers), with a small training setup;
it runs `dvc repro tokenize@sample` (the base, which tests/test_faults.py copies) and then the
whole pipeline in a copy (the reference run test_faults.py compares resumed runs against).
Every file under that sandbox is then searched for the markers.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import Project, copy_project, ran_stages

# Small enough that a training run takes seconds on 2 CPU cores, large enough to checkpoint
# several times (63 steps, a checkpoint every 10). tests/test_faults.py relies on these.
SMALL = {
    "model.tiny.n_layer": 1,
    "model.tiny.n_embd": 32,
    "model.tiny.vocab_size": 512,
    "train.block_size": 32,
    "train.epochs": 0.2,
    "train.checkpoint_steps": 10,
    "train.logging_steps": 10,
    "predict.num_sequences": 2,
    "predict.max_length": 32,
}
# Credentials a user may well have exported while running the pipeline.
SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "WANDB_API_KEY",
              "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "GITHUB_TOKEN")
SECRET_CONFIG = ("access_key_id", "secret_access_key", "session_token")  # in config.local


@dataclass
class Planted:
    sandbox: Path  # the project copies, their HOME and TMPDIR: everything the runs write
    base: Project  # data and tokenize done: copy it, never modify it
    reference: Project  # the whole pipeline done, uninterrupted
    markers: dict[str, str]  # where the fake credential was planted -> its value
    outputs: dict[str, str] = field(default_factory=dict)  # command -> stdout + stderr


_planted: list[Planted] = []


def clone(project: Project, dest: Path) -> Project:
    """A private copy of `project`: files, git repo, DVC cache and lock, same environment."""
    shutil.copytree(project.root, dest, symlinks=True)
    return Project(dest, {**project.env, "PYTHONPATH": str(dest / "src")})


def planted_pipeline(tmp_path_factory) -> Planted:
    """Build (once per session) the planted base and the reference run; see the docstring."""
    if _planted:
        return _planted[0]
    sandbox = tmp_path_factory.mktemp("planted")
    base = copy_project(sandbox / "base")
    markers = {f"env {name}": secrets.token_hex(20) for name in SECRET_ENV}  # 40 chars, like a key
    markers.update({f"config.local {key}": secrets.token_hex(20) for key in SECRET_CONFIG})
    home, tmp = sandbox / "home", sandbox / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = base.env
    for name in list(env):  # the host's own tool folders would be outside the search
        if name.startswith(("XDG_", "WANDB_", "HF_", "HUGGINGFACE_", "DVC_")) or name in SECRET_ENV:
            del env[name]
    env.update({
        "HOME": str(home), "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"), "DVC_NO_ANALYTICS": "1",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_SILENT": "true",
        "WANDB_MODE": "offline",  # as shipped: W&B writes runs under wandb/
    })
    env.update({name: markers[f"env {name}"] for name in SECRET_ENV})
    base.set_params(**SMALL)
    # A remote with keys, made the default, and DVC's site cache inside the sandbox.
    (base.root / ".dvc/config.local").write_text(
        "[core]\n"
        "    remote = vault\n"
        f"    site_cache_dir = {sandbox / 'dvc-site-cache'}\n"
        "['remote \"vault\"']\n"
        "    url = s3://tweetlm-secrets-test/cache\n"
        "    endpointurl = http://127.0.0.1:9\n"
        + "".join(f"    {key} = {markers[f'config.local {key}']}\n" for key in SECRET_CONFIG)
    )
    planted = Planted(sandbox, base, base, markers)

    def run(project: Project, *args: str) -> subprocess.CompletedProcess:
        proc = project.dvc(*args)
        planted.outputs[f"{project.root.name}: dvc {' '.join(args)}"] = proc.stdout + proc.stderr
        return proc

    # config.local is really read: the remote it names is the default
    assert run(base, "remote", "default").stdout.strip() == "vault"
    out = run(base, "repro", "tokenize@sample")
    assert ran_stages(out.stdout) == {"validate", "sample", "ingest@sample", "filter@sample",
                                      "tokenize@sample"}, out.stdout
    planted.reference = clone(base, sandbox / "reference")
    out = run(planted.reference, "repro")
    assert ran_stages(out.stdout) == {"train@sample", "predict@sample", "card@sample"}, out.stdout
    _planted.append(planted)
    return planted


def find_markers(planted: Planted, roots: list[Path], skip: set[Path],
                 searched: Counter | None = None) -> list[str]:
    """'<where>: <marker name>' for every planted value found in a file under `roots`, in a
    git object of a project copy (decompressed), or in a command's output."""
    values = {name: value.encode() for name, value in planted.markers.items()}
    found = []
    searched = Counter() if searched is None else searched

    def search(where: str, data: bytes) -> None:
        searched["places"] += 1
        searched["bytes"] += len(data)
        found.extend(f"{where}: {name}" for name, value in values.items() if value in data)

    for root in roots:
        for path in sorted(root.rglob("*")):
            if path in skip or path.is_symlink() or not path.is_file():
                continue
            search(str(path), path.read_bytes())
        if (root / ".git").is_dir():  # loose and packed objects are zlib-compressed
            objects = subprocess.run(
                ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=root,
                capture_output=True, check=True).stdout
            search(f"{root}/.git objects", objects)
    for command, text in planted.outputs.items():
        search(f"output of {command}", text.encode())
    return found


@pytest.mark.slow  # runs the whole pipeline
def test_no_credential_reaches_any_file_or_output(tmp_path_factory, capsys):
    planted = planted_pipeline(tmp_path_factory)
    root = planted.reference.root
    config_local = [p.root / ".dvc/config.local" for p in (planted.base, planted.reference)]

    # The run really exercised what could leak: W&B offline runs with their metadata and
    # debug logs, dvclive plots, a card, DVC's cache and its site cache.
    runs = sorted((root / "wandb").glob("offline-run-*"))
    assert len(runs) == 2, runs  # tokenize and train (card only names the mode)
    for run in runs:
        for name in ("logs/debug.log", "logs/debug-internal.log", "logs/debug-core.log"):
            assert (run / name).is_file(), run / name
        # offline, the config and the system metadata (program, host...) are in the run log
        (log,) = run.glob("run-*.wandb")
        assert b'"block_size"' in log.read_bytes() and b"bin/tweetlm" in log.read_bytes()
    assert (root / "reports/sample/train/plots/metrics/train/loss.tsv").is_file()
    assert (root / "models/sample/README.md").is_file()
    assert any((root / ".dvc/cache/files/md5").rglob("*"))
    assert any((planted.sandbox / "dvc-site-cache").rglob("*"))

    # The search finds a planted value where it was planted (config.local, outside the skip)...
    assert find_markers(planted, [config_local[0].parent], set()), "the search finds nothing"
    # ...and nowhere else: project copies, HOME (W&B's and DVC's global folders), TMPDIR.
    searched = Counter()
    leaks = find_markers(planted, [planted.sandbox], set(config_local), searched)
    assert leaks == [], "\n".join(leaks)
    with capsys.disabled():  # the figure docs/robustness.md quotes
        print(f"\nsearched {searched['places']} files, git object dumps and command outputs "
              f"({searched['bytes'] / 2**20:.0f} MiB) for {len(planted.markers)} planted "
              "credentials: none found")
