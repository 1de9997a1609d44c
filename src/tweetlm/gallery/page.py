"""The gallery's HTML: one section per bot (also what `tweetlm serve` shows), and the page.

Everything is inline -- CSS, the picture as a data: URI, the loss curve as SVG -- and there is
no script: the page's Content-Security-Policy allows data: images and inline style only, so a
browser opening it from disk makes no request. Every text from a file is HTML-escaped: the
tweets are the model's, the names the user's.
"""

from __future__ import annotations

from html import escape

from tweetlm.core import layout

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STATS_LABELS = dict(zip(layout.STATS_KEYS, ("Tweets downloaded", "Retweets", "Short tweets",
                                            "Tweets kept")))
# SECTION_CSS styles a section wherever it is (here, and inside `tweetlm serve`'s page)
SECTION_CSS = """
.bot { background: #fff; border: 1px solid #cfd9de; border-radius: 16px; padding: 20px;
       margin: 0 0 24px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
       gap: 20px; }
.bot h2 { margin: 0 0 4px; } .handles { color: #536471; margin: 0 0 12px; }
.avatar { display: inline-block; width: 40px; height: 40px; border-radius: 50%; color: #fff;
          font-weight: 800; text-align: center; line-height: 40px; margin-right: 4px; }
.picture { width: 100%; border-radius: 12px; border: 1px solid #cfd9de; }
table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 2px 10px 2px 0;
        text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.curve { width: 100%; height: auto; background: #fff; }
.tweets { list-style: none; padding: 0; } .tweets li { border-top: 1px solid #eff3f4;
          padding: 6px 0; } .copy { color: #b42318; font-weight: 600; }
.note { color: #536471; font-size: 0.9em; }
"""
CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 24px;
       color: #0f1419; background: #f7f9f9; }
""" + SECTION_CSS


def _num(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def stats_table(entry: dict) -> str:
    handles = entry["handles"]
    head = "".join(f"<th>{escape(n)}</th>" for n in entry["names"]) if len(handles) > 1 else ""
    rows = "".join(
        f"<tr><th>{label}</th>"
        + "".join(f'<td class="n">{_num(entry["stats"][h][key])}</td>' for h in handles)
        + "</tr>" for key, label in STATS_LABELS.items())
    return f'<table class="stats"><tr><th></th>{head}</tr>{rows}</table>' if head else \
        f'<table class="stats">{rows}</table>'


def curve_svg(loss: dict, width: int = 480, height: int = 180) -> str:
    """The train (blue) and eval (orange) loss against step as an inline SVG."""
    series = {k: v for k, v in loss.items() if v}
    if not series:
        return '<p class="note">no loss curve logged</p>'
    points = [p for v in series.values() for p in v]
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    pad = 30

    def xy(p):
        x = pad + (p[0] - x0) / ((x1 - x0) or 1) * (width - 2 * pad)
        y = height - pad - (p[1] - y0) / ((y1 - y0) or 1) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    colors = {"train": "#1d9bf0", "eval": "#f4900c"}
    lines = "".join(
        f'<polyline fill="none" stroke="{colors.get(k, "#333")}" stroke-width="2" '
        f'points="{" ".join(map(xy, v))}"><title>{k} loss</title></polyline>'
        for k, v in series.items())
    labels = (f'<text x="{pad}" y="14" font-size="11">loss {y1:.3g} .. {y0:.3g}; step {x0:g}'
              f' .. {x1:g}; ' + ", ".join(f'<tspan fill="{colors.get(k, "#333")}">{k}</tspan>'
                                          for k in series) + "</text>")
    return (f'<svg class="curve" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="loss curve" xmlns="http://www.w3.org/2000/svg">'
            f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
            f'fill="none" stroke="#cfd9de"/>{lines}{labels}</svg>')


def settings_table(entry: dict) -> str:
    metrics, sampling, copies = entry["train"], entry["sampling"], entry["memorization"]
    share = copies.get("copy_share")
    rows = {
        "Eval loss": _num(metrics.get("eval_loss")),
        "Perplexity": _num(metrics.get("perplexity")),
        "Copies a training tweet": "-" if share is None else f"{share:.0%} of {copies['samples']}",
        "Base model": _num(metrics.get("base")),
        "Training": _num(metrics.get("finetuning")),
        "Epochs / steps": f"{_num(metrics.get('epochs'))} / {_num(metrics.get('steps'))}",
        "Block size x batch": f"{_num(metrics.get('block_size'))} x "
                              f"{_num(metrics.get('batch_size'))}",
        "Learning rate": _num(metrics.get("learning_rate")),
        "Parameters": _num(metrics.get("parameters")),
        "Sampling": f"top_p {_num(sampling.get('top_p'))}, "
                    f"temperature {_num(sampling.get('temperature'))}",
    }
    return '<table class="settings">' + "".join(
        f'<tr><th>{k}</th><td class="n">{v}</td></tr>' for k, v in rows.items()) + "</table>"


def visible(text: str) -> str:
    """Generated text for HTML: control characters (a tiny model writes some) as spaces."""
    return escape("".join(c if c.isprintable() else " " for c in text))


def tweets_list(samples: list[dict]) -> str:
    items = "".join(
        f"<li>{visible(s['text'])}"
        + (' <span class="copy">copies a training tweet</span>' if s["copy"] else "") + "</li>"
        for s in samples)
    return f'<ul class="tweets">{items}</ul>'


def section(entry: dict, card_prefix: str | None = "") -> str:
    """One bot: avatars, names, picture, stats, metrics, settings, curve, samples, and a link
    to its card at card_prefix + its path (None: no link)."""
    bot = escape(entry["bot"])
    card = "" if card_prefix is None else \
        f' · <a class="card" href="{escape(card_prefix + entry["card"])}">model card</a>'
    avatars = "".join(f'<span class="avatar" style="background:{escape(c)}">{escape(i)}</span>'
                      for c, i in zip(entry["colors"], entry["initials"]))
    synthetic = ('<p class="note">Synthetic sample data: imitates no one.</p>'
                 if entry["synthetic"] else "")
    return (
        f'<section class="bot" id="bot-{bot}" data-bot="{bot}"><div>'
        f'<h2>{avatars}{escape(" & ".join(entry["names"]))}</h2>'
        f'<p class="handles">{escape(" ".join("@" + h for h in entry["handles"]))} · bot '
        f'<code>{bot}</code>{card}</p>{synthetic}'
        f'<img class="picture" alt="tweets of the {bot} bot" src="{escape(entry["picture"])}">'
        f'<h3>Sample tweets</h3>{tweets_list(entry["samples"])}</div>'
        f'<div><h3>Data</h3>{stats_table(entry)}<h3>Model</h3>{settings_table(entry)}'
        f'<h3>Loss</h3>{curve_svg(entry["loss"])}</div></section>'
    )


def page(entries: list[dict], card_prefix: str = "") -> str:
    """The whole static page: every entry's section, nothing fetched."""
    body = "".join(section(e, card_prefix) for e in entries) or \
        '<p class="note">No bot built yet: run <code>dvc repro</code>.</p>'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>tweetlm bots</title><style>{CSS}</style></head><body>"
        f"<h1>tweetlm bots</h1><p class=\"note\">{len(entries)} bot"
        f"{'s' * (len(entries) != 1)}, built by <code>dvc repro</code>; "
        "<code>tweetlm serve</code> lets you talk to them.</p>"
        f"{body}</body></html>\n"
    )
