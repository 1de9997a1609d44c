"""`tweetlm serve`: the page a person uses to meet the bots, driven in headless Chromium, and
what it must never do: serve a file outside models/ and reports/, bind beyond this machine
unasked, show a traceback. The browser tests use the bots built once per session
(`bots_project`, helpers/served.py); their screenshots go to that project's
reports/screenshots/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers.served import BOT, EXP, HANDLE, browser, serving, watch_requests
from tweetlm.core.cli import build_parser, main
from tweetlm.core.errors import TweetlmError
from tweetlm.tools.serve import check_host, is_local
from tweetlm.tools.serve.app import talk
from tweetlm.tools.serve.bots import Bots, Settings, safe_file, safe_name
from tweetlm.core import layout

# --- no model needed ---


@pytest.fixture
def tree(tmp_path) -> Path:
    """A project-like folder: a card, a report, a secret beside them, and links out."""
    (tmp_path / layout.bot("alice").model).mkdir(parents=True)
    (tmp_path / layout.bot("alice").card).write_text("the card")
    (tmp_path / layout.bot("alice").reports).mkdir(parents=True)
    (tmp_path / layout.bot("alice").stats).write_text("{}")
    (tmp_path / "params.yaml").write_text("secret: 1")
    (tmp_path / layout.bot("alice").reports / "leak.yaml").symlink_to(tmp_path / "params.yaml")
    (tmp_path / "reports/linked").symlink_to(tmp_path / layout.bot("alice").model)
    return tmp_path


@pytest.mark.parametrize("request_path", [
    "../params.yaml", "models/../params.yaml", "models/alice/../../params.yaml",
    "/etc/passwd", str(Path("/tmp").resolve()), "params.yaml", "data/raw/x.json",
    "reports/alice/leak.yaml", "reports/linked/README.md", "models\\..\\params.yaml", "",
    "models",
])
def test_file_requests_outside_models_and_reports_are_refused(tree, request_path):
    with pytest.raises(TweetlmError, match="refused|not found"):
        safe_file(tree, request_path)


def test_file_requests_inside_models_and_reports_are_served(tree):
    assert safe_file(tree, "models/alice/README.md").read_text() == "the card"
    assert safe_file(tree, "reports/alice/stats.json") == tree / layout.bot("alice").stats


@pytest.mark.parametrize("name", ["../sample", "/sample", "sample/..", "..", "a/b", "", None,
                                  "nobody", "sample@../x", "sample@", "@x", "sample@x@y",
                                  "sample@other"])
def test_bot_names_that_are_paths_or_unknown_are_refused(name):
    with pytest.raises(TweetlmError, match="invalid bot|invalid experiment|unknown bot"):
        safe_name(name, ["sample", "sample@hot"])


def test_unknown_bot_is_a_message_not_a_traceback(tmp_path):
    html, status = talk(Bots(tmp_path, ["sample"]), "../../etc", "hello", 5, 1.0, 0.95)
    assert html == "" and status.startswith("⚠ invalid bot") and "Traceback" not in status


def test_binding_beyond_this_machine_needs_the_flag_the_help_warns_about(capsys):
    assert main(["serve", "--host", "0.0.0.0"]) == 1  # refused before anything loads
    assert "--allow-remote" in capsys.readouterr().err
    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    serve_help = build_parser()._subparsers._group_actions[0].choices["serve"].format_help()
    assert "WARNING" in serve_help and "--allow-remote" in serve_help
    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost")
    assert not is_local("0.0.0.0") and not is_local("192.168.1.5") and not is_local("example.org")
    check_host("0.0.0.0", allow_remote=True)  # allowed when asked, with a warning
    assert "warning: --host 0.0.0.0" in capsys.readouterr().err


def test_settings_out_of_range_are_messages():
    for bad in (Settings(n=0), Settings(n=21), Settings(temperature=0), Settings(top_p=1.5)):
        with pytest.raises(TweetlmError):
            bad.checked()


# --- the built bots (slow: the session fixture trains them) ---


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def served(bots_project):
    with serving(bots_project) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


def shot(project, page, name: str) -> None:
    folder = project.root / "reports" / "screenshots"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def local_only(urls: list[str], url: str) -> list[str]:
    return [u for u in urls if not u.startswith((url, "data:", "blob:"))]


@pytest.mark.slow
def test_the_page_lists_every_bot_with_its_picture_and_stats(bots_project, served, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    urls = watch_requests(page)
    page.goto(served)
    sections = page.locator("#gallery section.bot")
    sections.first.wait_for()
    assert sorted(sections.evaluate_all("s => s.map(e => e.dataset.bot)")) == [BOT, HANDLE]
    stats = json.loads((bots_project.root / f"reports/{HANDLE}/stats.json").read_text())
    sample = page.locator(f"#bot-{HANDLE}")
    assert f"{stats['kept']:,}" in sample.locator("table.stats").inner_text()
    assert sample.locator("img.picture").evaluate("i => i.naturalWidth") == 1200
    assert sample.locator("svg.curve polyline").count() == 2  # train and eval loss
    card = sample.locator("a.card").get_attribute("href")
    assert card == f"/files/models/{HANDLE}/README.md"
    assert get(served.rstrip("/") + card)[1].startswith("---")  # the card, front matter first
    shot(bots_project, page, "serve-bots")
    assert local_only(urls, served) == []  # no font, script or beacon from elsewhere


@pytest.mark.slow
def test_a_prompt_returns_n_tweets_and_an_empty_one_a_message(bots_project, served, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    urls = watch_requests(page)
    page.goto(served)
    page.get_by_role("tab", name="Talk").click()
    number = page.locator("#talk-n input[type=number]")
    number.fill("3")
    number.press("Enter")
    page.locator("#talk-prompt textarea").fill("My dream is")
    page.locator("#talk-button").click()
    result = page.locator("#talk-result .talk")
    result.wait_for()
    tweets = result.locator(".tweets li").all_inner_texts()
    assert len(tweets) == 3 and all(t.startswith("My dream is") for t in tweets), tweets
    assert result.locator("img.picture").evaluate("i => i.naturalWidth") == 1200
    shot(bots_project, page, "serve-talk")
    page.locator("#talk-prompt textarea").fill("   ")
    page.locator("#talk-button").click()
    status = page.locator("#talk-status")
    status.get_by_text("the prompt is empty").wait_for()
    page.locator("#talk-prompt textarea").fill("word " * 200)  # past the tiny bot's context
    page.locator("#talk-button").click()
    status.get_by_text("too long").wait_for()
    assert "Traceback" not in page.content()
    shot(bots_project, page, "serve-message")
    assert local_only(urls, served) == []


@pytest.mark.slow
def test_two_bots_side_by_side_answer_the_same_prompt(bots_project, served, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served)
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#pair-prompt textarea").fill("Today")
    page.locator("#pair-button").click()
    left, right = page.locator("#pair-left-result .talk"), page.locator("#pair-right-result .talk")
    left.wait_for()
    right.wait_for()
    assert (left.get_attribute("data-bot"), right.get_attribute("data-bot")) == (HANDLE, BOT)
    for side in (left, right):
        assert side.locator(".tweets li").count() == 5  # the default: 5 tweets
    shot(bots_project, page, "serve-side-by-side")


@pytest.mark.slow
def test_one_bot_under_two_experiments_side_by_side(bots_project, served, chromium):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served)
    page.get_by_role("tab", name="Side by side").click()
    page.locator("#pair-right input").click()
    page.get_by_role("option", name=f"{HANDLE}@{EXP}").click()
    page.locator("#pair-prompt textarea").fill("Today")
    page.locator("#pair-button").click()
    right = page.locator("#pair-right-result .talk")
    right.wait_for()
    assert right.get_attribute("data-bot") == f"{HANDLE}@{EXP}"
    assert page.locator("#pair-left-result .talk").get_attribute("data-bot") == HANDLE
    assert right.locator(".tweets li").count() == 5
    shot(bots_project, page, "serve-experiments")


@pytest.mark.slow
def test_an_experiments_model_is_its_own(bots_project, monkeypatch):
    import torch

    from tweetlm.tools.serve.experiments import experiments

    monkeypatch.chdir(bots_project.root)
    bots = Bots(Path("."), [HANDLE, BOT], runs=experiments(Path(".")))
    assert bots.names == [HANDLE, BOT, f"{HANDLE}@{EXP}"]  # echo was not retrained in EXP
    ours, theirs = bots.get(HANDLE), bots.get(f"{HANDLE}@{EXP}")
    assert not torch.equal(ours.model.lm_head.weight, theirs.model.lm_head.weight)
    assert theirs.tweets == ours.tweets  # the same training tweets: copies still checked
    assert len(theirs.talk("Today", Settings(n=2, seed=1))) == 2


@pytest.mark.slow
def test_files_outside_models_and_reports_are_refused_over_http(bots_project, served):
    root = served.rstrip("/")
    assert get(f"{root}/files/reports/{HANDLE}/stats.json")[0] == 200
    for path in ("files/%2e%2e/params.yaml", "files/models/%2e%2e/params.yaml",
                 "files/%2Fetc%2Fpasswd", "files/params.yaml", "files/dvc.lock",
                 "gradio_api/file=params.yaml", f"gradio_api/file={bots_project.root}/params.yaml"):
        code, body = get(f"{root}/{path}")
        assert code in (403, 404) and "handles" not in body, (path, code, body[:200])


@pytest.mark.slow
def test_a_tweet_that_copies_a_training_tweet_is_marked(bots_project, monkeypatch):
    monkeypatch.chdir(bots_project.root)
    bot = Bots(Path("."), [HANDLE]).get(HANDLE)
    first = bot.talk("My dream is", Settings(n=2, seed=7))
    assert not any(t.copy for t in first)
    bot.tweets = [first[0].text]  # now the first one is a training tweet
    again = bot.talk("My dream is", Settings(n=2, seed=7))
    assert [t.text for t in again] == [t.text for t in first]  # seeded: the same tweets
    assert [t.copy for t in again] == [True, False] and again[0].source == first[0].text


@pytest.mark.slow
def test_a_prompt_past_the_models_context_is_a_message(bots_project, monkeypatch):
    monkeypatch.chdir(bots_project.root)
    bot = Bots(Path("."), [HANDLE]).get(HANDLE)
    bot.config.max_length = 1000  # a generation_config asking for more than the model holds
    context = bot.model.config.n_positions
    with pytest.raises(TweetlmError, match=f"at most {context} tokens"):
        bot.talk("word " * (context + 10), Settings(n=1))
    assert bot.talk("word " * 5, Settings(n=1, seed=0))[0].text.startswith("word")  # ~20 tokens


@pytest.mark.slow
def test_a_model_loads_once_whoever_asks_first(bots_project, monkeypatch):
    monkeypatch.chdir(bots_project.root)
    bots = Bots(Path("."), [HANDLE, BOT])
    got = []
    threads = [threading.Thread(target=lambda: got.append(bots.get(HANDLE))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(b) for b in got}) == 1 and bots.get(HANDLE) is got[0]
    assert BOT not in bots._loaded  # nobody asked for it: not loaded


@pytest.mark.slow
def test_a_bot_that_is_busy_does_not_hold_up_another(bots_project, monkeypatch):
    monkeypatch.chdir(bots_project.root)
    bots = Bots(Path("."), [HANDLE, BOT])
    with bots.get(HANDLE).lock:  # HANDLE is in the middle of a generation
        done = []
        other = threading.Thread(target=lambda: done.append(talk(bots, BOT, "Today", 2, 1.0,
                                                                 0.95)))
        other.start()
        other.join(60)  # BOT loads and answers meanwhile
        assert done and done[0][1] == "" and done[0][0].count("<li>") == 2


@pytest.mark.slow
def test_the_space_folder_runs_the_prompt_box_on_its_own(bots_project, tmp_path):
    from gradio_client import Client

    from helpers.served import free_port, running

    out = tmp_path / "space"
    bots_project.tweetlm("space", HANDLE, "--out", str(out), "--with-tweets")
    assert "sdk: gradio" in (out / "README.md").read_text()
    env = {k: v for k, v in bots_project.env.items() if k != "PYTHONPATH"}
    port = free_port()
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    where = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
                            "import tweetlm.tools.serve; print(tweetlm.tools.serve.__file__)"],
                           cwd=out, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(out)  # its own copy, as on the Hub
    with running([sys.executable, "app.py"], out, env, f"http://127.0.0.1:{port}/") as url:
        html, status = Client(url, verbose=False).predict(
            HANDLE, "My dream is", 2, 1.0, 0.95, api_name="/talk")
    assert status == "" and html.count("<li>") == 2, status
