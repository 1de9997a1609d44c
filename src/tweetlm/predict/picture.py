"""predictions.png: the bot's card as a picture (1200x630, the size of a social card), the
first generated tweets under its avatars, name and handles. Deterministic for the same input.

Pillow's built-in font (Aileron, scalable since Pillow 10.1) is always there but covers
little beyond ASCII: characters it lacks are transliterated (é -> e) or dropped (emoji),
never drawn as boxes.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from tweetlm.identity import avatar_color, initials

WIDTH, HEIGHT = 1200, 630  # an Open Graph image
MARGIN = 48
AVATAR = 112
INK, GREY, RULE, PAPER = (15, 20, 25), (83, 100, 113), (207, 217, 222), (255, 255, 255)

FALLBACKS = {"\u2014": "-", "\u2013": "-", "\u2026": "...", "\u2018": "'", "\u2019": "'",
             "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\n": " ", "\t": " "}


@lru_cache(maxsize=None)
def _font(size: int):
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=None)
def _glyph(ch: str, size: int) -> bytes:
    img = Image.new("L", (3 * size, 2 * size))
    ImageDraw.Draw(img).text((0, 0), ch, font=_font(size), fill=255)
    return img.tobytes()


def _has_glyph(ch: str, size: int = 24) -> bool:
    return ch == " " or (ch.isprintable() and _glyph(ch, size) != _glyph("\uffff", size))


def drawable(text: str) -> str:
    """`text` with every character the built-in font cannot draw replaced or removed."""
    out = []
    for ch in text:
        if _has_glyph(ch):
            out.append(ch)
            continue
        plain = unicodedata.normalize("NFKD", FALLBACKS.get(ch, ch))  # é -> e + combining acute
        out.append("".join(c for c in plain if not unicodedata.combining(c) and _has_glyph(c)))
    return " ".join("".join(out).split())


def _wrap(words: list[tuple[str, bool]], size: int, width: int, max_lines: int):
    """Greedy word wrap of (word, bold) pairs into lines of at most `width` pixels;
    text past `max_lines` becomes '...'."""
    font = _font(size)
    pieces = []
    for word, bold in words:  # a word wider than a line (a long URL) is cut into pieces
        while font.getlength(word) > width:
            fits = [i for i in range(1, len(word)) if font.getlength(word[:i]) <= width]
            cut = fits[-1] if fits else 1
            pieces.append((word[:cut], bold))
            word = word[cut:]
        pieces.append((word, bold))
    lines, line = [], []
    for piece in pieces:
        if line and font.getlength(" ".join(w for w, _ in line + [piece])) > width:
            lines.append(line)
            line = []
        line.append(piece)
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(" ".join(w for w, _ in last) + " ...") > width:
            last.pop()
        last.append(("...", False))
    return lines


def _robot(draw, x: float, y: float, size: int) -> None:
    """A small robot face (the card's emoji) drawn in a `size` square at (x, y)."""
    s = size
    head = (x + 0.05 * s, y + 0.3 * s, x + 0.95 * s, y + s)
    draw.line((x + s / 2, y + 0.08 * s, x + s / 2, y + 0.3 * s), fill=GREY, width=max(2, s // 16))
    draw.ellipse((x + 0.42 * s, y, x + 0.58 * s, y + 0.16 * s), fill=GREY)
    draw.rounded_rectangle(head, radius=s // 6, fill=GREY)
    for ex in (0.32, 0.68):
        draw.ellipse((x + (ex - 0.09) * s, y + 0.5 * s, x + (ex + 0.09) * s, y + 0.68 * s),
                     fill=PAPER)
    draw.line((x + 0.33 * s, y + 0.84 * s, x + 0.67 * s, y + 0.84 * s), fill=PAPER,
              width=max(2, s // 14))


def draw_card(names: list[str], handles: list[str], tweets: list[tuple[str, str]],
              footer: str):
    """The bot's card as a picture: avatars, name, handle and the first generated tweets,
    each (prompt, tweet), the prompt in bold. Deterministic for the same input."""
    img = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(img)
    shown = list(zip(names, handles))[:3]  # up to three avatars side by side, as the Hub card
    d = AVATAR if len(shown) == 1 else 92
    for i, (name, handle) in enumerate(shown):
        x0 = MARGIN + i * (d + 8)
        draw.ellipse((x0, MARGIN, x0 + d, MARGIN + d), fill=avatar_color(handle))
        draw.text((x0 + d / 2, MARGIN + d / 2), drawable(initials(name)), font=_font(d * 2 // 5),
                  fill=PAPER, anchor="mm", stroke_width=1, stroke_fill=PAPER)
    text_x = MARGIN + len(shown) * (d + 8) + 20
    # "<name> 🤖 AI Bot": the font has no emoji, so the robot is drawn; the names give way
    # to '...' when too long. The built-in font has no bold either: the stroke makes it bold.
    label = "AI Bot" if len(handles) == 1 else "AI Cyborg"
    room = WIDTH - MARGIN - text_x - _font(40).getlength(" " + label) - 56
    title = " ".join(w for w, _ in _wrap([(w, True) for w in drawable(" & ".join(names)).split()],
                                         40, int(room), 1)[0])
    bold = {"font": _font(40), "fill": INK, "stroke_width": 1, "stroke_fill": INK}
    draw.text((text_x, MARGIN + 14), title, **bold)
    x = text_x + _font(40).getlength(title + " ")
    _robot(draw, x, MARGIN + 12, 40)
    draw.text((x + 50, MARGIN + 14), label, **bold)
    at = _wrap([(f"@{h}", False) for h in handles] + [("bot", False)], 28,
               WIDTH - MARGIN - text_x, 1)[0]
    draw.text((text_x, MARGIN + 68), " ".join(w for w, _ in at), font=_font(28), fill=GREY)

    size, lead = 26, 34
    y, bottom = MARGIN + AVATAR + 24, HEIGHT - MARGIN - 44
    for prompt, tweet in tweets:
        prompt, tweet = drawable(prompt), drawable(tweet)
        rest = tweet[len(prompt):] if tweet.startswith(prompt) else tweet
        words = [(w, True) for w in prompt.split()] + [(w, False) for w in rest.split()]
        lines = _wrap(words, size, WIDTH - 2 * MARGIN, 3)
        if not rest.strip() or y + 12 + len(lines) * lead > bottom:
            continue
        draw.line((MARGIN, y, WIDTH - MARGIN, y), fill=RULE, width=2)
        y += 12
        for line in lines:
            x = MARGIN
            for word, bold in line:
                draw.text((x, y), word, font=_font(size), fill=INK,
                          stroke_width=1 if bold else 0, stroke_fill=INK)
                x += _font(size).getlength(word + " ")
            y += lead
    draw.text((MARGIN, HEIGHT - MARGIN), drawable(footer), font=_font(20), fill=GREY, anchor="ls")
    return img


def footer(base: str, top_p: float, temperature: float, synthetic: bool) -> str:
    """The picture's last line: what made these tweets."""
    what = "tiny model trained from scratch" if base == "tiny" else f"fine-tuned {base}"
    text = f"tweetlm  |  {what}  |  top_p {top_p:g}, temperature {temperature:g}"
    return text + ("  |  synthetic sample data, not a real user" if synthetic else "")


def showcase(prompts: list[str], generations: list[list[str]]) -> list[tuple[str, str]]:
    """Tweets for the picture, round-robin over prompts: the first of each, then the second..."""
    return [(prompts[i], generations[i][j]) for j in range(max(map(len, generations), default=0))
            for i in range(len(prompts)) if j < len(generations[i])]
