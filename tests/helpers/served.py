"""Built bots, a running `tweetlm serve`, and headless Chromium, for the tests of the page.

    project = build_bots(tmp / "project")     # sample, the bot echo: [sample], an experiment
    with serving(project) as url, browser() as chromium:
        page = chromium.new_page()

`build_bots` runs the whole pipeline (gallery included) with the planted pipeline's small
training settings: about half a minute on 2 cores. The browser is Debian's chromium
(apt-get install chromium), driven by Playwright; Playwright's own browser download is not
used (CHROMIUM).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from helpers.pipeline import SMALL
from helpers.project import BIN, Project, copy_project
from tweetlm.core.layout import stage_id

BOT, HANDLE = "echo", "sample"  # echo: a bot of the one handle, so the page has two bots
EXP = "lowlr"  # a DVC experiment of the built project: the bots retrained at a lower rate
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         # any host name but the local one fails to resolve: a request out could not leave
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def build_bots(dest: Path) -> Project:
    """A project copy where `dvc repro` built the sample handle and the bot echo, committed,
    and the experiment EXP of the sample's model (`dvc exp run --temp`: the workspace keeps
    the committed run)."""
    project = copy_project(dest)
    project.set_params(bots={BOT: [HANDLE]}, **SMALL)
    project.dvc("repro")
    project.git("add", "-A")
    project.git("commit", "-qm", "built")
    # train@sample only: a model is what the page compares (its other stages: a minute more)
    project.dvc("exp", "run", "--temp", "-n", EXP, "-S", "train.learning_rate=0.0005",
                stage_id("train", HANDLE))
    return project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited {proc.returncode}:\n{proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@contextlib.contextmanager
def running(cmd: list[str], cwd: Path, env: dict, url: str):
    """A server process, stopped (by its own pid) on exit."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def serving(project: Project, *args: str):
    """`tweetlm serve` in the project on a free port: yields its URL."""
    port = free_port()
    return running([str(BIN / "tweetlm"), "serve", "--port", str(port), *args], project.root,
                   {**project.env, "GRADIO_ANALYTICS_ENABLED": "False"},
                   f"http://127.0.0.1:{port}/")


@contextlib.contextmanager
def browser():
    """Headless Debian chromium through Playwright."""
    import pytest

    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (CI does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def watch_requests(page) -> list[str]:
    """Every URL `page` requests from now on."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls
