"""The static page reports/index.html: every bot's picture, stats, curve, samples and card
link, opened from disk by headless Chromium with no request made; its stages rerun only when
a bot's outputs change."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from helpers.project import clone, ran_stages
from helpers.served import BOT, HANDLE, browser, watch_requests
from tweetlm.core import layout
from tweetlm.gallery import CURVE_POINTS, handle_stats, read_curve
from tweetlm.gallery.page import CSP, page
from tweetlm.core.layout import stage_id

HOSTILE = '<script>alert("x")</script>'


def an_entry(**changes) -> dict:
    entry = {
        "bot": "alice", "handles": ["alice"], "names": ["Alice"], "colors": ["#123456"],
        "initials": ["AL"], "synthetic": False,
        "stats": {"alice": {"downloaded": 10, "retweets": 1, "short": 2, "kept": 7}},
        "train": {"eval_loss": 3.2, "perplexity": 24.5, "base": "tiny", "steps": 5},
        "memorization": {"copy_share": 0.25, "copy_share_shown": 0.0, "samples": 4},
        "sampling": {"top_p": 0.9, "temperature": 0.8},
        "loss": {"train": [[1, 4.0], [2, 3.5]], "eval": [[0, 4.2], [2, 3.2]]},
        "samples": [{"prompt": "Hi", "text": "Hi there", "copy": False},
                    {"prompt": "Hi", "text": "Hi again", "copy": True}],
        "picture": "data:image/png;base64,AAAA", "card": "models/alice/README.md",
    }
    return entry | changes


def test_the_page_escapes_what_it_shows_and_fetches_nothing():
    html = page([an_entry(names=[HOSTILE], samples=[{"prompt": "", "text": HOSTILE,
                                                      "copy": True}])], card_prefix="../")
    assert "<script" not in html and html.count("&lt;script&gt;") == 2
    assert f'content="{CSP}"' in html and "default-src 'none'" in CSP
    assert 'href="../models/alice/README.md"' in html and "copies a training tweet" in html
    assert "a b" in page([an_entry(samples=[{"prompt": "", "text": "a\x03b", "copy": False}])])
    for url_attr in ("src=\"http", "href=\"http", "@import", "url("):
        assert url_attr not in html


def test_a_long_curve_is_thinned_and_keeps_its_last_point(tmp_path):
    tsv = tmp_path / "loss.tsv"
    tsv.write_text("step\tloss\n" + "".join(f"{i}\t{1 / i}\n" for i in range(1, 1001)))
    curve = read_curve(tsv)
    assert len(curve) <= CURVE_POINTS + 1 and curve[0] == [1, 1] and curve[-1] == [1000, 0.001]
    assert read_curve(tmp_path / "missing.tsv") == []


def test_stats_of_a_handle_and_of_a_bot_of_handles(tmp_path):
    counts = {"downloaded": 3, "retweets": 1, "short": 1, "kept": 1}
    for name, stats in (("alice", counts | {"languages": {"en": 1}}),
                        ("duo", {"alice": counts, "bob": counts | {"kept": 2}})):
        (tmp_path / layout.stats(name)).parent.mkdir(parents=True)
        (tmp_path / layout.stats(name)).write_text(json.dumps(stats))
    assert handle_stats("alice", ["alice"], tmp_path) == {"alice": counts}
    assert handle_stats("duo", ["alice", "bob"], tmp_path)["bob"]["kept"] == 2


@pytest.fixture(scope="module")
def chromium():
    with browser() as b:
        yield b


@pytest.mark.slow
def test_the_static_page_opens_from_disk_with_every_bot_and_no_request(bots_project, chromium):
    index = bots_project.root / layout.GALLERY_PAGE
    page_ = chromium.new_page(viewport={"width": 1280, "height": 900})
    urls = watch_requests(page_)
    page_.goto(index.as_uri())
    sections = page_.locator("section.bot")
    assert sorted(sections.evaluate_all("s => s.map(e => e.dataset.bot)")) == [BOT, HANDLE]
    for name in (HANDLE, BOT):
        section = page_.locator(f"#bot-{name}")
        assert section.locator("img.picture").evaluate("i => i.complete && i.naturalWidth") == 1200
        stats = json.loads((bots_project.root / layout.stats(name)).read_text())
        kept = stats["kept"] if name == HANDLE else stats[HANDLE]["kept"]
        assert f"{kept:,}" in section.locator("table.stats").inner_text()
        metrics = json.loads((bots_project.root / layout.bot(name).train_metrics).read_text())
        assert f"{metrics['eval_loss']:.3g}" in section.locator("table.settings").inner_text()
        assert section.locator("svg.curve polyline").count() == 2
        card = Path(unquote(urlparse(section.locator("a.card").evaluate("a => a.href")).path))
        assert card == bots_project.root / layout.bot(name).card and card.is_file()
    folder = bots_project.root / "reports" / "screenshots"
    folder.mkdir(exist_ok=True)
    page_.screenshot(path=str(folder / "gallery.png"), full_page=True)
    assert urls == [index.as_uri()]  # the page itself, nothing else: all of it is inline


@pytest.mark.slow
def test_the_page_reruns_only_when_a_bots_outputs_change(bots_project, tmp_path):
    project = clone(bots_project, tmp_path / "project")
    assert ran_stages(project.dvc("repro").stdout) == set()
    metrics = project.root / layout.bot(BOT).predict_metrics
    metrics.write_text(metrics.read_text().replace('"copy_share": 0.0', '"copy_share": 0.5'))
    status = json.loads(project.dvc("status", "--json").stdout)
    assert stage_id("gallery", HANDLE) not in status and stage_id("gallery", BOT, bot=True) in status
    out = project.dvc("repro", "--single-item", stage_id("gallery", BOT, bot=True), stage_id("gallery", HANDLE),
                      "gallery-page")
    assert ran_stages(out.stdout) == {stage_id("gallery", BOT, bot=True), "gallery-page"}
    assert "50% of" in (project.root / layout.GALLERY_PAGE).read_text()
