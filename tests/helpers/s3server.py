"""A real S3 server for tests: SeaweedFS (`weed mini`) on 127.0.0.1, one per test module.

Use it with `pytest_plugins = ["s3server"]` in a test file, then the `s3_server` fixture.
Every port it opens is on the loopback address and chosen free; credentials are random
per server; the process is stopped when the module's tests end (SIGTERM, then SIGKILL)
and, through PR_SET_PDEATHSIG, dies with the test process even if pytest itself is killed.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
WEED = Path(sys.executable).parent / "weed"
START_TIMEOUT = 60.0  # seconds for all components to come up
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL

# Every listener `weed mini` opens, HTTP and gRPC, so that none takes a default port that
# another test run (or a developer's own SeaweedFS) may hold.
PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
    "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
    "admin.port", "admin.port.grpc",
)


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports that were free a moment ago (held together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    return free_ports(1)[0]


def _die_with_parent() -> None:
    # Runs in the child before exec: SIGKILL it when the test process goes away.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class S3Server:
    """A running `weed mini`; `endpoint`, `access_key` and `secret_key` are what a client needs."""

    proc: subprocess.Popen
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    log_path: Path
    socket_dir: Path
    grpc_ports: list[int]
    _clients: dict = field(default_factory=dict)

    def client(self, secret_key: str | None = None):
        """A botocore S3 client for this server (botocore comes with dvc-s3)."""
        import botocore.config
        import botocore.session

        key = secret_key or self.secret_key
        if key not in self._clients:
            self._clients[key] = botocore.session.get_session().create_client(
                "s3", endpoint_url=self.endpoint, region_name="us-east-1",
                aws_access_key_id=self.access_key, aws_secret_access_key=key,
                config=botocore.config.Config(
                    connect_timeout=5, read_timeout=30, retries={"max_attempts": 1}
                ),
            )
        return self._clients[key]

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """{key: size} of every object in `bucket` under `prefix`."""
        found = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = obj["Size"]
        return found

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, wait a bounded time, then SIGKILL. The server runs in its own process group."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        # weed puts some gRPC sockets in /tmp whatever we say, named by port: remove ours.
        for port in self.grpc_ports:
            for path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                path.unlink(missing_ok=True)


def start_s3_server(workdir: Path, timeout: float = START_TIMEOUT) -> S3Server:
    """Start `weed mini` with its data under `workdir`; return once S3 answers a signed request."""
    if not WEED.exists():
        pytest.fail(f"{WEED} not found: install the test extras (pip install -e '.[test]')")
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True)
    log_path = workdir / "weed.log"
    access_key, secret_key = "tweetlm" + secrets.token_hex(6), secrets.token_hex(20)
    identities = {"identities": [{
        "name": "tweetlm-test",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}
    (workdir / "s3.json").write_text(json.dumps(identities))
    # Unix sockets have a ~100-byte path limit, so they get a short folder of their own.
    socket_dir = Path(tempfile.mkdtemp(prefix="weed"))
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS))))
    cmd = [
        str(WEED), f"-logdir={workdir}", "-logtostderr=false", "-alsologtostderr=false",
        "mini", f"-dir={data_dir}", f"-ip={HOST}", f"-ip.bind={HOST}",
        "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.config={workdir / 's3.json'}",
        # A missing bucket must stay missing (the default creates it on first upload).
        "-s3.autoCreateBucket=false",
        f"-filer.localSocket={socket_dir / 'filer.sock'}",
        f"-s3.localSocket={socket_dir / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    server = S3Server(
        proc, f"http://{HOST}:{ports['s3.port']}", access_key, secret_key, data_dir, log_path,
        socket_dir, [port for flag, port in ports.items() if flag.endswith(".grpc")],
    )
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"weed mini exited with {proc.returncode}")
            try:
                server.client().list_buckets()
                return server
            except Exception as e:  # not up yet: connection refused, 503, ...
                error = e
                time.sleep(0.2)
        raise TimeoutError(f"S3 did not answer within {timeout:.0f}s: {error}")
    except BaseException as e:
        tail = server.log_tail()
        server.stop()
        if isinstance(e, KeyboardInterrupt):
            raise
        pytest.fail(f"could not start SeaweedFS: {e}\n--- {log_path}\n{tail}")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory) -> S3Server:
    """A SeaweedFS S3 server on 127.0.0.1 for this module's tests, stopped afterwards."""
    server = start_s3_server(tmp_path_factory.mktemp("s3server"))
    try:
        yield server
    finally:
        server.stop()
