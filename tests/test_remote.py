"""Sharing results through a DVC remote: the default local-folder remote and a real S3 server.

The promise: after `dvc repro` and `dvc push --run-cache`, a teammate's fresh `git clone`
with an empty cache gets every output back from the remote and runs no stage -- training
included. Proved twice: by DVC's own log and lock file, and by a `tweetlm` shim first on
the clone's PATH that records any call. Then what goes wrong: an unreachable endpoint,
wrong credentials, a missing bucket and a push cut off half way: each ends in an ERROR line
naming the cause, no traceback, an intact cache, and a push that completes when run again.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from helpers.project import lock_entries, BIN, Project, copy_project, ran_stages
from helpers.s3server import HOST, S3Server, closed_port, s3_server  # noqa: F401 (fixture)
from tweetlm.core.layout import stage_id

pytestmark = pytest.mark.slow

# A short training and a few short samples: these tests are about moving outputs.
QUICK = {"train.epochs": 0.5, "predict.num_sequences": 2, "predict.max_length": 64}
# A teammate's earlier run with other params: pushed, never committed, so only the
# run-cache leads to it.
VARIANT = {"filter.min_words": 5}
VARIANT_TARGET = stage_id("filter", "sample")


# ---------------------------------------------------------------------------- helpers

def lock_outs(root: Path) -> dict[str, str]:
    """{path: md5} of every output recorded in dvc.lock (a directory's md5 ends in .dir)."""
    return {out["path"]: out["md5"] for stage in lock_entries(root).values()
            for out in stage.get("outs", [])}


def lock_stages(root: Path) -> set[str]:
    return set(lock_entries(root))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def digest(root: Path, paths) -> dict[str, str]:
    """{file: md5} for every file under `paths` (files or folders) in `root`."""
    found = {}
    for name in paths:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            found[f.relative_to(root).as_posix()] = md5(f) if f.exists() else "missing"
    return found


def cache_digest(root: Path) -> dict[str, str]:
    """{object: md5} of everything in the project's DVC cache (objects and run-cache)."""
    cache = root / ".dvc" / "cache"
    return {p.relative_to(cache).as_posix(): md5(p) for p in cache.rglob("*") if p.is_file()}


def without_retries(project: Project) -> Project:
    """The same checkout with botocore's retries off. By default a pull from a dead endpoint
    retries each request 5 times, each directory manifest 3 times: ~90 s to the same ERROR."""
    return Project(project.root, {**project.env, "AWS_MAX_ATTEMPTS": "1"})


def log_of(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def assert_clean_error(output: str, cause: str) -> None:
    """DVC failed the way a user can act on: an ERROR line naming `cause`, no traceback."""
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert errors, f"no ERROR line in:\n{output}"
    assert any(re.search(cause, line) for line in errors), (
        f"no ERROR line matches {cause!r}:\n{output}"
    )


def teammate_clone(origin: Project, dest: Path) -> tuple[Project, Path]:
    """`git clone` of `origin` at `dest` with an empty DVC cache, whose PATH starts with a
    `tweetlm` shim that logs every call before running the real one."""
    subprocess.run(["git", "clone", "-q", str(origin.root), str(dest)], check=True,
                   capture_output=True, timeout=60)
    shims = dest.parent / f"{dest.name}-shims"
    shims.mkdir()
    calls = dest.parent / f"{dest.name}-tweetlm-calls.log"
    shim = shims / "tweetlm"
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{BIN / "tweetlm"}" "$@"\n')
    shim.chmod(0o755)
    env = dict(origin.env)
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(dest / "src")
    clone = Project(dest, env)
    found = clone.run("sh", "-c", "command -v tweetlm").stdout.strip()
    assert found == str(shim), f"the shim is not what a stage would run: {found}"
    assert not (dest / ".dvc" / "cache").exists(), "a fresh clone has no DVC cache"
    assert not (dest / ".dvc" / "config.local").exists(), "local config must not travel"
    return clone, calls


def assert_restored_without_running(clone: Project, origin: Project, output: str,
                                    calls: Path) -> None:
    """Every output is back, byte for byte, and nothing was computed to get it."""
    # DVC's own record: no stage ran, each one was skipped or restored ...
    assert ran_stages(output) == set(), output
    for stage in map(re.escape, lock_stages(origin.root)):
        assert re.search(
            rf"Stage '{stage}' (didn't change|is cached)|Pulling data for stage: '{stage}'", output
        ), f"DVC says nothing about {stage}:\n{output}"
    # ... its lock file is the one committed (git sees no change) and agrees with the files.
    assert clone.git("status", "--porcelain").stdout == ""
    assert "Data and pipelines are up to date" in log_of(clone.dvc("status"))
    outs = lock_outs(clone.root)
    assert outs == lock_outs(origin.root)
    for path, expected in outs.items():
        if not expected.endswith(".dir"):
            assert md5(clone.root / path) == expected, path
    assert digest(clone.root, outs) == digest(origin.root, outs)
    # Independently of DVC: the shim saw no call.
    assert not calls.exists(), f"tweetlm ran in the clone: {calls.read_text()}"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """The project after a teammate's `dvc repro` of the whole pipeline, lock committed, plus
    an earlier variant run that was pushed but never committed. Built once for the module."""
    project = copy_project(tmp_path_factory.mktemp("team") / "tweetlm")
    project.set_params(**QUICK)
    params = project.root / "params.yaml"
    shipped = params.read_text()
    project.set_params(**VARIANT)
    project.dvc("repro", VARIANT_TARGET)
    # `--run-cache` sends the run records, but the outputs only of the runs in the current
    # dvc.lock: a run's outputs reach the remote when it is pushed while it is current.
    project.dvc("push", "--run-cache")
    project.variant_stats = (project.root / "reports/sample/stats.json").read_text()
    params.write_text(shipped)
    project.dvc("repro")  # the whole pipeline
    project.git("add", "-A")
    project.git("commit", "-q", "-m", "dvc repro")
    assert project.git("status", "--porcelain").stdout == ""
    assert {stage_id("train", "sample"), stage_id("predict", "sample"), stage_id("card", "sample")} <= lock_stages(project.root)
    assert project.variant_stats != (project.root / "reports/sample/stats.json").read_text()
    return project


@pytest.fixture
def bucket(s3_server, request) -> str:
    """A new, empty bucket named after the test."""
    name = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[-63:].strip("-")
    s3_server.create_bucket(name)
    return name


def add_s3_remote(project: Project, name: str, endpoint: str, bucket: str,
                  access_key: str, secret_key: str) -> None:
    """An S3 remote in .dvc/config.local only: what `dvc remote add --local NAME URL` and three
    `dvc remote modify --local` write (the roundtrip test runs those commands themselves)."""
    with open(project.root / ".dvc" / "config.local", "a") as config:
        config.write(f"['remote \"{name}\"']\n    url = s3://{bucket}/tweetlm\n"
                     f"    endpointurl = {endpoint}\n    access_key_id = {access_key}\n"
                     f"    secret_access_key = {secret_key}\n")


# ------------------------------------------------------------------------------ tests

def test_default_remote_is_a_folder_beside_the_project(built):
    """The committed config names a local remote that DVC resolves next to the checkout."""
    listed = log_of(built.dvc("remote", "list"))
    storage = built.root.parent / "tweetlm-dvc-storage"
    assert re.search(rf"^storage\s+{re.escape(str(storage))}\s+\(default\)$", listed, re.M), listed


def test_clone_restores_everything_from_the_local_remote(built):
    out = log_of(built.dvc("push", "--run-cache"))
    assert re.search(r"\d+ files? pushed", out), out
    storage = built.root.parent / "tweetlm-dvc-storage"
    assert any((storage / "files" / "md5").rglob("*")), "nothing reached the default remote"
    assert any((storage / "runs").rglob("*")), "the run-cache did not reach the remote"

    # A teammate clones beside the project and finds the same storage without any setup.
    clone, calls = teammate_clone(built, built.root.parent / "teammate")
    assert log_of(clone.dvc("remote", "list")) == log_of(built.dvc("remote", "list"))
    clone.dvc("pull", "--run-cache")
    repro = log_of(clone.dvc("repro"))
    assert_restored_without_running(clone, built, repro, calls)

    # The run-cache: the teammate tries the params someone already ran (and pushed, but
    # never committed), and gets that run's outputs instead of running it again.
    clone.set_params(**VARIANT)
    variant = log_of(clone.dvc("repro", "--pull", VARIANT_TARGET))
    assert ran_stages(variant) == set(), variant
    assert f"Stage '{VARIANT_TARGET}' is cached - skipping run, checking out outputs" in variant
    assert (clone.root / "reports/sample/stats.json").read_text() == built.variant_stats
    assert not calls.exists(), f"tweetlm ran in the clone: {calls.read_text()}"

    # The shim does catch a stage that really runs (else the checks above prove nothing).
    clone.dvc("repro", "--force", "--single-item", "validate")
    assert calls.read_text().split("\n")[0] == "validate"


def test_clone_restores_everything_from_s3(built, s3_server, bucket, tmp_path_factory):
    # The team adds the S3 remote to the committed config; the credentials stay local.
    built.dvc("remote", "add", "s3", f"s3://{bucket}/tweetlm")
    built.dvc("remote", "modify", "s3", "endpointurl", s3_server.endpoint)
    built.dvc("remote", "modify", "--local", "s3", "access_key_id", s3_server.access_key)
    built.dvc("remote", "modify", "--local", "s3", "secret_access_key", s3_server.secret_key)
    built.git("commit", "-q", "-am", "add the team's S3 remote")
    assert built.git("status", "--porcelain").stdout == ""
    tracked = built.run("git", "grep", "-I", "-l", s3_server.secret_key, check=False)
    assert tracked.returncode == 1, f"secret committed in {tracked.stdout}"

    out = log_of(built.dvc("push", "-r", "s3", "--run-cache"))
    assert re.search(r"\d+ files? pushed", out), out
    objects = s3_server.objects(bucket)
    assert any(k.startswith("tweetlm/files/md5/") for k in objects), objects
    assert any(k.startswith("tweetlm/runs/") for k in objects), objects

    # A teammate elsewhere on the machine (the local remote does not resolve there), with
    # credentials in the environment and S3 as their default remote.
    clone, calls = teammate_clone(built, tmp_path_factory.mktemp("elsewhere") / "tweetlm")
    assert not (clone.root.parent / "tweetlm-dvc-storage").exists()
    clone.env["AWS_ACCESS_KEY_ID"] = s3_server.access_key
    clone.env["AWS_SECRET_ACCESS_KEY"] = s3_server.secret_key
    clone.dvc("remote", "default", "--local", "s3")
    repro = log_of(clone.dvc("repro", "--pull"))
    assert_restored_without_running(clone, built, repro, calls)


# ---------------------------------------------------------------- what goes wrong

@pytest.fixture(scope="module")
def empty_clone(built, tmp_path_factory) -> Project:
    clone, _ = teammate_clone(built, tmp_path_factory.mktemp("errors") / "tweetlm")
    return clone


ERROR_CASES = {
    # case: (how the remote is wrong, the cause DVC's ERROR line must name)
    "endpoint-unreachable": ("port", r"Could not connect to the endpoint URL"),
    "wrong-secret-key": ("secret", r"Forbidden|403|SignatureDoesNotMatch"),
    "missing-bucket": ("bucket", r"NoSuchBucket|bucket does not exist"),
}


@pytest.mark.parametrize("case", ERROR_CASES, ids=list(ERROR_CASES))
def test_remote_errors_name_the_cause_and_lose_nothing(built, empty_clone, s3_server, case):
    """A push from the built project and a pull into an empty clone, both to a broken remote."""
    wrong, cause = ERROR_CASES[case]
    endpoint = f"http://{HOST}:{closed_port()}" if wrong == "port" else s3_server.endpoint
    secret = "not-the-secret" if wrong == "secret" else s3_server.secret_key
    bucket = "no-such-bucket" if wrong == "bucket" else "tweetlm-errors"
    if wrong != "bucket" and bucket not in {b["Name"] for b in
                                            s3_server.client().list_buckets()["Buckets"]}:
        s3_server.create_bucket(bucket)

    for project in (built, empty_clone):
        add_s3_remote(project, case, endpoint, bucket, s3_server.access_key, secret)
    outs = lock_outs(built.root)
    workspace, cache = digest(built.root, outs), cache_digest(built.root)

    started = time.monotonic()
    push = built.dvc("push", "-r", case, check=False, timeout=180)
    print(f"{case}: dvc push failed in {time.monotonic() - started:.1f}s")
    assert push.returncode != 0
    assert_clean_error(log_of(push), cause)
    assert digest(built.root, outs) == workspace
    assert cache_digest(built.root) == cache
    assert built.git("status", "--porcelain").stdout == ""

    before = digest(empty_clone.root, outs)
    pull = without_retries(empty_clone).dvc("pull", "-r", case, check=False, timeout=180)
    assert pull.returncode != 0
    assert_clean_error(log_of(pull), cause)
    assert digest(empty_clone.root, outs) == before
    assert empty_clone.git("status", "--porcelain").stdout == ""


class CuttingProxy:
    """A TCP proxy to the S3 server that forwards the first `budget` bytes sent by the
    client, then either holds every connection open sending nothing more ("stall": the
    push hangs half way, to be killed) or drops them all and refuses new ones ("cut": the
    server is gone half way)."""

    def __init__(self, upstream: str, budget: int, mode: str):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.budget, self.mode = budget, mode
        self.sent = 0
        self.lock = threading.Lock()
        self.tripped = threading.Event()
        self.sockets: list[socket.socket] = []
        self.listener = socket.create_server((HOST, 0))
        self.endpoint = f"http://{HOST}:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        try:
            while data := src.recv(65536):
                if counted:
                    with self.lock:
                        n = max(0, min(len(data), self.budget - self.sent))
                        self.sent += n
                    dst.sendall(data[:n])
                    if n < len(data):
                        self._trip()
                        return
                else:
                    dst.sendall(data)
        except OSError:
            pass
        if not (self.tripped.is_set() and self.mode == "stall"):
            for s in (src, dst):
                _shutdown(s)

    def _trip(self) -> None:
        self.tripped.set()
        if self.mode == "cut":
            self.close()

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                _shutdown(s)
                s.close()


def _shutdown(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def settled_objects(server: S3Server, bucket: str) -> dict[str, int]:
    """The bucket's objects once two listings 0.2 s apart agree (a request the server had
    whole when the push died may still be landing)."""
    deadline = time.monotonic() + 10
    before = server.objects(bucket)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = server.objects(bucket)
        if now == before:
            return now
        before = now
    return before


def push_size(project: Project) -> int:
    """Bytes of cache objects the current dvc.lock needs on the remote."""
    cache = project.root / ".dvc" / "cache" / "files" / "md5"
    total = 0
    for h in lock_outs(project.root).values():
        obj = cache / h[:2] / h[2:]
        total += obj.stat().st_size
        if h.endswith(".dir"):
            for entry in yaml.safe_load(obj.read_text()):
                total += (cache / entry["md5"][:2] / entry["md5"][2:]).stat().st_size
    return total


@pytest.mark.parametrize("mode", ["stall", "cut"], ids=["stall", "cut"])
def test_interrupted_push_completes_when_run_again(built, s3_server, bucket, mode,
                                                   tmp_path_factory):
    """Half a push, then: the push process is SIGKILLed ("stall"), or the server goes away
    under it ("cut"). Nothing local is lost, a second push sends only what is missing,
    and a teammate pulls everything."""
    outs = lock_outs(built.root)
    workspace, cache = digest(built.root, outs), cache_digest(built.root)
    remote = f"flaky-{mode}"
    proxy = CuttingProxy(s3_server.endpoint, push_size(built) // 2, mode)
    add_s3_remote(built, remote, proxy.endpoint, bucket, s3_server.access_key,
                  s3_server.secret_key)
    try:
        push = subprocess.Popen(
            [str(BIN / "dvc"), "push", "-r", remote], cwd=built.root,
            env=without_retries(built).env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            if mode == "stall":
                deadline = time.monotonic() + 60
                while not (proxy.tripped.is_set() and s3_server.objects(bucket)):
                    assert push.poll() is None, f"push ended before the cut:\n{push.stdout.read()}"
                    assert time.monotonic() < deadline, "the push never got half way"
                    time.sleep(0.05)
                push.send_signal(signal.SIGKILL)
                push.wait(10)
                assert push.returncode == -signal.SIGKILL
            else:
                output = push.communicate(timeout=180)[0]
                assert proxy.tripped.is_set(), output
                assert push.returncode != 0, output
                assert_clean_error(output, r"failed to (transfer|push)|Could not connect")
        finally:
            if push.poll() is None:
                push.kill()
                push.wait(10)
    finally:
        proxy.close()

    landed = settled_objects(s3_server, bucket)
    assert landed, "no object reached the server before the interruption"
    assert digest(built.root, outs) == workspace
    assert cache_digest(built.root) == cache

    # Run again (the server is reachable again): only the missing objects go.
    built.dvc("remote", "modify", "--local", remote, "endpointurl", s3_server.endpoint)
    again = log_of(built.dvc("push", "-r", remote))
    sent = int(re.search(r"(\d+) files? pushed", again).group(1))
    total = s3_server.objects(bucket)
    assert sent >= 1 and len(landed) + sent == len(total), (len(landed), sent, len(total))
    print(f"{mode}: {len(landed)} of {len(total)} objects landed before the interruption")

    clone, calls = teammate_clone(built, tmp_path_factory.mktemp(f"after-{mode}") / "tweetlm")
    add_s3_remote(clone, remote, s3_server.endpoint, bucket, s3_server.access_key,
                  s3_server.secret_key)
    clone.dvc("pull", "-r", remote)
    assert digest(clone.root, outs) == digest(built.root, outs)
    assert not calls.exists()


# ----------------------------------------------------------- experiments and the remote

def make_remote(project: Project) -> None:
    """`make remote` (what `make run` does first) with this venv, not a new one."""
    venv = BIN.parent
    project.run("make", "-o", f"{venv}/.installed", "remote", f"VENV={venv}")


def test_exp_push_and_pull_use_the_storage_dvc_push_uses(tmp_path):
    """Two clones beside each other: an experiment pushed from one (from a subfolder, too)
    is pulled, applied and its outputs fetched in the other, all through the one folder
    beside them -- not `/tweetlm-dvc-storage`, where DVC resolves the shipped relative url
    for an experiment's commit unless `make remote` pinned it in config.local."""
    from helpers.pipeline import SMALL
    from helpers.project import copy_project, project_env

    storage = tmp_path / "tweetlm-dvc-storage"
    origin = tmp_path / "origin.git"
    alice = copy_project(tmp_path / "alice")
    alice.set_params(**SMALL)
    alice.git("commit", "-q", "-am", "small training")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    alice.git("remote", "add", "origin", str(origin))
    alice.git("push", "-q", "origin", "main")
    make_remote(alice)
    assert alice.dvc("config", "--local", "remote.storage.url").stdout.strip() == str(storage)
    alice.dvc("exp", "run", "-n", "words5", "-S", "filter.min_words=5")  # the whole pipeline
    processed = (alice.root / "data/processed/sample/tweets.parquet").read_bytes()

    def dvc_in(project: Project, folder: str, *args: str) -> str:
        proc = subprocess.run([str(BIN / "dvc"), *args], cwd=project.root / folder,
                              env=project.env, capture_output=True, text=True)
        assert proc.returncode == 0, log_of(proc)
        return log_of(proc)

    dvc_in(alice, "src", "exp", "push", "origin", "words5")  # from a subfolder
    objects = {p.name for p in (storage / "files/md5").rglob("*") if p.is_file()}
    assert md5(alice.root / "data/processed/sample/tweets.parquet")[2:] in objects

    bob_root = tmp_path / "bob"
    subprocess.run(["git", "clone", "-q", str(origin), str(bob_root)], check=True)
    bob = Project(bob_root, project_env(bob_root))
    make_remote(bob)
    dvc_in(bob, "tests", "exp", "pull", "origin", "words5")
    bob.dvc("exp", "apply", "words5")
    bob.dvc("pull")
    assert "Data and pipelines are up to date." in bob.dvc("status").stdout
    assert (bob.root / "data/processed/sample/tweets.parquet").read_bytes() == processed
    assert yaml.safe_load((bob.root / "params.yaml").read_text())["filter"]["min_words"] == 5

    # and `make remote` leaves a url someone set alone
    bob.dvc("remote", "modify", "--local", "storage", "url", str(tmp_path / "elsewhere"))
    make_remote(bob)
    assert bob.dvc("config", "--local", "remote.storage.url").stdout.strip() == \
        str(tmp_path / "elsewhere")
