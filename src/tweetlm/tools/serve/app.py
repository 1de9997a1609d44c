"""The page `tweetlm serve` shows (Gradio): every bot's gallery section, a prompt box, and
two bots side by side; plus /files/, which serves a bot's card and reports and nothing else.

Handlers turn every failure into a message on the page (`status`), never a traceback: a
TweetlmError says what to fix; anything else is reported in one line. The page fetches
nothing from outside: system fonts, no analytics.
"""

from __future__ import annotations

import base64
import io
import os
import traceback
from html import escape
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

from tweetlm.core.errors import TweetlmError, first_line  # noqa: E402
from tweetlm.gallery import entry  # noqa: E402
from tweetlm.gallery.page import SECTION_CSS, section, tweets_list  # noqa: E402
from tweetlm.predict import picture  # noqa: E402
from tweetlm.tools.serve.bots import MAX_TWEETS, Bot, Bots, Settings, Tweet, safe_file  # noqa: E402

FILES = "/files/"  # the route of safe_file: cards and reports
CSS = SECTION_CSS + """
.status p { color: #b42318; font-weight: 600; }
"""


def message(e: BaseException) -> str:
    """What the page says when a request fails."""
    if isinstance(e, TweetlmError):
        return f"⚠ {e}"
    traceback.print_exception(e)  # for whoever runs the server; the page gets one line
    return f"⚠ something went wrong: {first_line(e)}"


def rendered(bot: Bot, prompt: str, tweets: list[Tweet], settings: Settings) -> str:
    """The tweets drawn as predictions.png draws them (any script, emoji), then as text,
    each copy of a training tweet marked."""
    footer = picture.footer(bot.base, settings.top_p, settings.temperature, bot.synthetic,
                            bot.handles)
    prompt = " ".join(prompt.split())  # as Bot.talk sent it: the tweets start with it
    image = picture.draw_card(bot.names, bot.handles, [(prompt, t.text) for t in tweets],
                              footer)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    note = "" if bot.tweets is not None else \
        '<p class="note">No training tweets here: copies are not checked.</p>'
    listed = tweets_list([{"text": t.text, "copy": t.copy} for t in tweets])
    name = escape(bot.name)
    return (f'<div class="talk" data-bot="{name}" data-tweets="{len(tweets)}">'
            f'<p class="note">bot <code>{name}</code></p>'
            f'<img class="picture" alt="tweets of the {name} bot" src="{uri}">'
            f"{note}{listed}</div>")


def talk(bots: Bots, name, prompt, n, temperature, top_p) -> tuple[str, str]:
    """(result HTML, status) for one request; status is empty when it worked."""
    try:
        settings = Settings(int(n), float(temperature), float(top_p))
        bot = bots.get(name)
        return rendered(bot, prompt, bot.talk(prompt, settings), settings), ""
    except Exception as e:  # noqa: BLE001 -- the page shows it; the server carries on
        return "", message(e)


def side_by_side(bots: Bots, left, right, prompt, n, temperature, top_p):
    """Both bots on the same prompt: (left HTML, right HTML, status)."""
    a, status_a = talk(bots, left, prompt, n, temperature, top_p)
    b, status_b = talk(bots, right, prompt, n, temperature, top_p)
    return a, b, status_a or status_b


def sections(bots: Bots, card_prefix: str | None = FILES) -> str:
    """Every built bot's gallery section, cards linked through /files/ (None: no link)."""
    parts = []
    for name in bots.bots:
        try:
            parts.append(section(entry(name, bots.display_names, bots.root), card_prefix))
        except TweetlmError as e:  # trained, not yet predicted: say so, show the rest
            parts.append(f'<section class="bot" data-bot="{name}"><h2>{name}</h2>'
                         f'<p class="note">{escape(str(e))}</p></section>')
    return "".join(parts) or '<p class="note">No bot built yet: run <code>dvc repro</code>.</p>'


def build(bots: Bots, title: str = "tweetlm bots",
          card_prefix: str | None = FILES):
    """The Gradio Blocks of the whole page."""
    import gradio as gr

    names = bots.names
    first = names[0] if names else None
    second = names[1] if len(names) > 1 else first
    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}\nBuilt by `dvc repro`; the models run on this machine.")
        with gr.Tab("Bots"):
            gr.HTML(sections(bots, card_prefix), elem_id="gallery")
        with gr.Tab("Talk"):
            talk_inputs = prompt_box(gr, bots, first, "talk")
            button = gr.Button("Tweet", variant="primary", elem_id="talk-button")
            status = gr.Markdown(elem_id="talk-status", elem_classes="status")
            result = gr.HTML(elem_id="talk-result")
            for event in (button.click, talk_inputs[1].submit):
                event(lambda *a: talk(bots, *a), talk_inputs, [result, status],
                      concurrency_id="generate", api_name="talk")
        with gr.Tab("Side by side"):
            *pair_inputs, other = prompt_box(gr, bots, first, "pair", pair=True,
                                              right=second)
            pair_button = gr.Button("Tweet both", variant="primary", elem_id="pair-button")
            pair_status = gr.Markdown(elem_id="pair-status", elem_classes="status")
            with gr.Row():
                left_out = gr.HTML(elem_id="pair-left-result")
                right_out = gr.HTML(elem_id="pair-right-result")
            pair_button.click(
                lambda left, prompt, n, t, p, right: side_by_side(bots, left, right, prompt, n,
                                                                  t, p),
                pair_inputs + [other], [left_out, right_out, pair_status],
                concurrency_id="generate", api_name="pair")
    # one request generates at a time per bot (Bot.lock); two bots may share the CPU
    demo.queue(default_concurrency_limit=2)
    return demo


def prompt_box(gr, bots: Bots, value, prefix: str, pair: bool = False, right=None) -> list:
    """bot, prompt, how many, temperature, top_p: the inputs of a request (with `pair`, a
    second bot's dropdown beside the first, last)."""
    with gr.Row():
        bot = gr.Dropdown(bots.names, value=value, label="Left bot" if pair else "Bot",
                          elem_id=f"{prefix}-bot")
        other = gr.Dropdown(bots.names, value=right, label="Right bot",
                            elem_id=f"{prefix}-right") if pair else None
    own = bots.defaults(value) if value else Settings()
    prompt = gr.Textbox(label="Start of the tweet", placeholder="My dream is",
                        elem_id=f"{prefix}-prompt")
    with gr.Row():
        n = gr.Slider(1, MAX_TWEETS, value=5, step=1, label="How many", elem_id=f"{prefix}-n")
        temperature = gr.Slider(0.1, 2.0, value=own.temperature, step=0.05, label="Temperature",
                                elem_id=f"{prefix}-temperature")
        top_p = gr.Slider(0.05, 1.0, value=own.top_p, step=0.05, label="top_p",
                          elem_id=f"{prefix}-top-p")
    # a bot's own sampling settings, read from its folder (the model loads on first use)
    bot.change(lambda name: own_settings(bots, name), bot, [temperature, top_p])
    return [bot, prompt, n, temperature, top_p] + ([other] if pair else [])


def own_settings(bots: Bots, name) -> tuple[float, float]:
    try:
        defaults = bots.defaults(name)
    except TweetlmError:
        defaults = Settings()
    return defaults.temperature, defaults.top_p


def app(bots: Bots):
    """FastAPI app: the page at /, the project's cards and reports under /files/."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, PlainTextResponse

    server = FastAPI()

    @server.get(FILES + "{request:path}")
    def files(request: str):
        try:
            path = safe_file(bots.root, request)
        except TweetlmError as e:
            return PlainTextResponse(str(e), status_code=404 if "not found" in str(e) else 403)
        text = path.suffix in (".md", ".json", ".tsv", ".txt")
        return FileResponse(path, media_type="text/plain; charset=utf-8" if text else None)

    return gr.mount_gradio_app(server, build(bots), path="/", theme=theme(), css=CSS,
                               footer_links=[])


def theme():
    """Gradio's theme with the system's fonts: its default fetches them from Google."""
    import gradio as gr

    return gr.themes.Base(font=["system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
