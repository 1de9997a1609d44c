"""The planted pipeline: a project copy with fake credentials and small training settings,
run once per test session and shared by tests/test_secrets.py and tests/test_faults.py
(through the session fixture `planted` in conftest).

`planted_pipeline(sandbox)` builds a copy whose environment and .dvc/config.local hold fake
credentials (unique random markers), runs `dvc repro tokenize@sample` there (the base, which
the faults tests copy, never modify) and then the whole pipeline in a clone of it (the
reference run that resumed runs are compared against). Everything the runs write -- the
project copies, their HOME and TMPDIR -- is under `sandbox`.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from helpers.project import Project, clone, copy_project, ran_stages
from tweetlm.core.layout import stage_id

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


def planted_pipeline(sandbox: Path) -> Planted:
    """Build the planted base and the reference run under the empty folder `sandbox`."""
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
    out = run(base, "repro", stage_id("tokenize", "sample"))
    assert ran_stages(out.stdout) == {"validate", "sample", stage_id("ingest", "sample"), stage_id("filter", "sample"),
                                      stage_id("tokenize", "sample")}, out.stdout
    planted.reference = clone(base, sandbox / "reference")
    out = run(planted.reference, "repro")
    assert ran_stages(out.stdout) == {stage_id("train", "sample"), stage_id("predict", "sample"), stage_id("card", "sample"),
                                      stage_id("gallery", "sample"), "gallery-page"}, out.stdout
    return planted
