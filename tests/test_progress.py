"""Ingest's progress bar: on a terminal only, so DVC's logs and pipes stay one line per event."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
import yaml

from helpers.params import shipped_raw
from tweetlm.sample import write_sample

CLI = [sys.executable, "-m", "tweetlm.core.cli", "ingest", "someone"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**shipped_raw(), "handles": ["someone"]}))
    (tmp_path / "data/raw/someone").mkdir(parents=True)
    write_sample(tmp_path / "data/raw/someone", 3200, seed=0)
    return tmp_path


def test_no_bar_when_stderr_is_not_a_terminal(project):
    proc = subprocess.run(CLI, cwd=project, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no bar, no control characters: a DVC log gets nothing extra
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("ingest someone: 3")


def test_bar_of_bytes_read_when_stderr_is_a_terminal(project):
    parent, child = pty.openpty()
    # a terminal 100 columns wide (a new pty is 0 x 0, where tqdm draws nothing)
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(CLI, cwd=project, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=child)
    os.close(child)
    shown = b""
    while True:
        try:
            data = os.read(parent, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(parent)
    stdout = proc.stdout.read().decode()
    proc.stdout.close()
    assert proc.wait() == 0, shown.decode(errors="replace")
    text = shown.decode(errors="replace")
    assert "ingest:" in text and "B" in text and "\r" in text  # a bar of bytes, redrawn in place
    assert "tweetlm: error" not in text
    assert stdout.count("\n") == 1 and stdout.startswith("ingest someone: 3")  # the event line
