"""Progress bars (ingest's bytes, train's steps): on a terminal only, so DVC's logs and pipes
stay one line per event."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import pytest
import yaml

from helpers.params import shipped_raw
from tweetlm.sample import write_sample

CLI = [sys.executable, "-m", "tweetlm.core.cli"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**shipped_raw(), "handles": ["someone"]}))
    (tmp_path / "data/raw/someone").mkdir(parents=True)
    write_sample(tmp_path / "data/raw/someone", 3200, seed=0)
    return tmp_path


def on_a_terminal(args: list[str], cwd) -> tuple[int, str, str]:
    """Run `tweetlm ARGS` with stderr on a terminal 100 columns wide (a new pty is 0 x 0,
    where tqdm draws nothing) and stdout on a pipe: (exit status, what the terminal showed,
    stdout)."""
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(CLI + args, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=child)
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
    return proc.wait(), shown.decode(errors="replace"), stdout


def test_no_bar_when_stderr_is_not_a_terminal(project):
    proc = subprocess.run(CLI + ["ingest", "someone"], cwd=project, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no bar, no control characters: a DVC log gets nothing extra
    assert proc.stdout.count("\n") == 1 and proc.stdout.startswith("ingest someone: 3")


def test_bar_of_bytes_read_when_stderr_is_a_terminal(project):
    status, shown, stdout = on_a_terminal(["ingest", "someone"], project)
    assert status == 0, shown
    assert "ingest:" in shown and "B" in shown and "\r" in shown  # a bar of bytes, redrawn in place
    assert "tweetlm: error" not in shown
    assert stdout.count("\n") == 1 and stdout.startswith("ingest someone: 3")  # the event line


@pytest.mark.slow
def test_bar_of_training_steps_when_stderr_is_a_terminal(project):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["model"]["tiny"].update(n_layer=1, n_embd=32, vocab_size=512)
    params["train"].update(block_size=32, epochs=0.2, logging_steps=10)
    params["wandb"]["mode"] = "disabled"
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("ingest", "filter", "tokenize"):
        subprocess.run(CLI + [stage, "someone"], cwd=project, check=True, capture_output=True)
    status, shown, stdout = on_a_terminal(["train", "someone"], project)
    assert status == 0, shown
    steps = int(stdout.split(" steps on ")[0].rsplit(" ", 1)[1])  # "... = 53 steps on cpu"
    assert steps > 10
    assert re.search(rf"train someone: +\d+%\|.*\| *\d+/{steps} \[", shown), shown[-500:]
    assert "step/s" in shown or "s/step" in shown  # tqdm's rate, in steps
    assert "\r" in shown and "tweetlm: error" not in shown
    # the log lines are whole lines on stdout, the bar never in them
    lines = stdout.splitlines()
    assert any(line.startswith(f"train someone: step {steps} eval loss ") for line in lines)
    assert all(line.startswith("train someone: ") for line in lines)
    assert "\r" not in stdout
