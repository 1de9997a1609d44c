"""predictions.png: the bot's card as a picture (1200x630, the size of a social card), the
first generated tweets under its avatars, name and handles. Deterministic for the same input.

Tweets are drawn as people write them: the fonts shipped in fonts/ (so a fresh, offline
machine draws the same picture) are tried in order for each character -- DejaVu Sans (Latin
with its accents, Greek, Cyrillic, many symbols), Droid Sans Fallback (Chinese, Japanese),
Nanum Gothic (Korean), Symbola (emoji, monochrome) -- and each run of characters is drawn
in the first font whose character map (read with fontTools) has them, on one baseline.
Invisible characters (zero-width joiners, variation selectors) are left out; a character no
font maps is transliterated (an accent dropped) or left out, never drawn as a box. There is no bold face: a stroke makes
it bold. fonts/LICENSE-*.txt: their licenses (Bitstream Vera, Apache 2.0, OFL, free).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tweetlm.shared.identity import avatar_color, initials

WIDTH, HEIGHT = 1200, 630  # an Open Graph image
MARGIN = 48
AVATAR = 112
INK, GREY, RULE, PAPER = (15, 20, 25), (83, 100, 113), (207, 217, 222), (255, 255, 255)

FONTS = Path(__file__).with_name("fonts")
FONT_FILES = ("DejaVuSans.ttf", "DroidSansFallbackFull.ttf", "NanumGothic.ttf",
              "Symbola.ttf")  # tried in this order, character by character


@lru_cache(maxsize=None)
def _fonts(size: int) -> tuple:
    return tuple(ImageFont.truetype(str(FONTS / name), size) for name in FONT_FILES)


@lru_cache(maxsize=None)
def _character_maps() -> tuple[frozenset[int], ...]:
    """Per font of FONT_FILES, the code points it has a glyph for: its own cmap (fontTools)."""
    from fontTools.ttLib import TTFont

    return tuple(frozenset(TTFont(FONTS / name, lazy=True)["cmap"].getBestCmap())
                 for name in FONT_FILES)


@lru_cache(maxsize=None)
def font_for(ch: str) -> int | None:
    """The index in FONT_FILES of the first font with a glyph for `ch`; None if none has."""
    code = ord(ch)
    return next((i for i, have in enumerate(_character_maps()) if code in have), None)


def _invisible(ch: str) -> bool:
    """Zero-width joiners, variation selectors and the like: nothing to draw."""
    return unicodedata.category(ch) in ("Cf", "Cc") or "\ufe00" <= ch <= "\ufe0f" or \
        "\U000e0100" <= ch <= "\U000e01ef"


def drawable(text: str) -> str:
    """`text` on one line, with what no font can draw transliterated (é -> e) or left out."""
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif _invisible(ch):
            continue
        elif font_for(ch) is not None:
            out.append(ch)
        else:
            plain = unicodedata.normalize("NFKD", ch)  # é -> e + combining acute
            out.append("".join(c for c in plain if not unicodedata.combining(c)
                               and font_for(c) is not None))
    return " ".join("".join(out).split())


def runs(text: str) -> list[tuple[str, int]]:
    """`text` (drawable) cut into runs, each drawn in one font: (characters, font index).
    A space goes with the run it is in."""
    cut: list[tuple[str, int]] = []
    for ch in text:
        index = cut[-1][1] if ch == " " and cut else font_for(ch)
        if index is None:
            continue
        if cut and cut[-1][1] == index:
            cut[-1] = (cut[-1][0] + ch, index)
        else:
            cut.append((ch, index))
    return cut


def length(text: str, size: int) -> float:
    """The width of drawable `text` in pixels at `size`."""
    fonts = _fonts(size)
    return sum(fonts[i].getlength(chars) for chars, i in runs(text))


def draw_text(draw, xy: tuple[float, float], text: str, size: int, fill, bold: bool = False,
              anchor: str = "la") -> None:
    """Draw drawable `text` with its top-left (anchor 'la'), middle ('mm') or left baseline
    ('ls') at `xy`: run by run in their fonts, on one baseline."""
    fonts = _fonts(size)
    ascent, descent = fonts[0].getmetrics()
    x, y = xy
    if anchor == "mm":
        x, y = x - length(text, size) / 2, y + (ascent - descent) / 2
    elif anchor == "la":
        y += ascent
    for chars, i in runs(text):
        draw.text((x, y), chars, font=fonts[i], fill=fill, anchor="ls",
                  stroke_width=1 if bold else 0, stroke_fill=fill)
        x += fonts[i].getlength(chars)


def _wrap(words: list[list[tuple[str, bool]]], size: int, width: int, max_lines: int):
    """Greedy word wrap into lines of at most `width` pixels; text past `max_lines` becomes
    '...'. A word is a list of (text, bold) pieces drawn without a space between them (a
    continuation that goes on the prompt's last word: "that" + "'s"); words are separated
    by one space."""
    def text_of(line):
        return " ".join("".join(t for t, _ in word) for word in line)

    fitted = []
    for word in words:  # a word wider than a line (a long URL) is cut into pieces
        while length(text_of([word]), size) > width and len(text_of([word])) > 1:
            flat = [(ch, bold) for t, bold in word for ch in t]
            cut, lo, hi = 1, 1, len(flat) - 1  # the longest start that fits: bisect
            while lo <= hi:
                mid = (lo + hi) // 2
                if length("".join(c for c, _ in flat[:mid]), size) <= width:
                    cut, lo = mid, mid + 1
                else:
                    hi = mid - 1
            fitted.append(_pieces(flat[:cut]))
            word = _pieces(flat[cut:])
        fitted.append(word)
    lines, line = [], []
    for word in fitted:
        if line and length(text_of(line + [word]), size) > width:
            lines.append(line)
            line = []
        line.append(word)
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and length(text_of(last) + " ...", size) > width:
            last.pop()
        last.append([("...", False)])
    return lines


def _pieces(chars: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """(character, bold) pairs joined into (text, bold) pieces."""
    out: list[tuple[str, bool]] = []
    for ch, bold in chars:
        if out and out[-1][1] == bold:
            out[-1] = (out[-1][0] + ch, bold)
        else:
            out.append((ch, bold))
    return out


def plain_words(text: str, bold: bool = False) -> list[list[tuple[str, bool]]]:
    return [[(w, bold)] for w in text.split()]


def tweet_words(prompt: str, tweet: str) -> list[list[tuple[str, bool]]]:
    """The tweet as words, the prompt's in bold; the continuation's first word is glued to the
    prompt's last when the model went on without a space."""
    words = plain_words(prompt, bold=True)
    if not tweet.startswith(prompt):
        return words + plain_words(tweet)
    rest = tweet[len(prompt):]
    more = plain_words(rest)
    if words and more and not rest.startswith(" "):
        words[-1] = words[-1] + more.pop(0)
    return words + more


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
              footer: str, avatars: list | None = None):
    """The bot's card as a picture: avatars (the accounts' profile images where `avatars`
    has one, else initials on a colour), name, handle and the first generated tweets, each
    (prompt, tweet), the prompt in bold. Deterministic for the same input."""
    img = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(img)
    shown = list(zip(names, handles))[:3]  # up to three avatars side by side, as the Hub card
    side = AVATAR if len(shown) == 1 else 92  # an avatar's square, in pixels
    for i, (name, handle) in enumerate(shown):
        x0 = MARGIN + i * (side + 8)
        face = avatars[i] if avatars and i < len(avatars) else None
        if face is not None:  # the profile image in a circle, as the Hub card shows it
            mask = Image.new("L", (side, side), 0)
            ImageDraw.Draw(mask).ellipse((0, 0, side - 1, side - 1), fill=255)
            img.paste(face.resize((side, side)), (x0, MARGIN), mask)
            continue
        draw.ellipse((x0, MARGIN, x0 + side, MARGIN + side), fill=avatar_color(handle))
        draw_text(draw, (x0 + side / 2, MARGIN + side / 2), drawable(initials(name)),
                  side * 2 // 5, PAPER, bold=True, anchor="mm")
    text_x = MARGIN + len(shown) * (side + 8) + 20
    # "<name> 🤖 AI Bot": the robot is drawn in the avatar grey; the names give way to '...'
    label = "AI Bot" if len(handles) == 1 else "AI Cyborg"
    room = WIDTH - MARGIN - text_x - length(" " + label, 40) - 56
    title = " ".join(w for (w, _), in _wrap(plain_words(drawable(" & ".join(names))), 40,
                                            int(room), 1)[0])
    draw_text(draw, (text_x, MARGIN + 14), title, 40, INK, bold=True)
    x = text_x + length(title + " ", 40)
    _robot(draw, x, MARGIN + 12, 40)
    draw_text(draw, (x + 50, MARGIN + 14), label, 40, INK, bold=True)
    at = _wrap(plain_words(" ".join(drawable(f"@{h}") for h in handles) + " bot"), 28,
               WIDTH - MARGIN - text_x, 1)[0]
    draw_text(draw, (text_x, MARGIN + 68), " ".join(w for (w, _), in at), 28, GREY)

    size, lead = 26, 34
    y, bottom = MARGIN + AVATAR + 24, HEIGHT - MARGIN - 44
    for prompt, tweet in tweets:
        prompt, tweet = drawable(prompt), drawable(tweet)
        words = tweet_words(prompt, tweet)
        lines = _wrap(words, size, WIDTH - 2 * MARGIN, 3)
        generated = any(not bold for word in words for _, bold in word)
        if not generated or y + 12 + len(lines) * lead > bottom:
            continue
        draw.line((MARGIN, y, WIDTH - MARGIN, y), fill=RULE, width=2)
        y += 12
        for line in lines:
            x = MARGIN
            for word in line:
                for text, bold in word:
                    draw_text(draw, (x, y), text, size, INK, bold=bold)
                    x += length(text, size)
                x += length(" ", size)
            y += lead
    draw_text(draw, (MARGIN, HEIGHT - MARGIN), drawable(footer), 20, GREY, anchor="ls")
    return img


def footer(base: str, top_p: float, temperature: float, synthetic: list[str],
           handles: list[str]) -> str:
    """The picture's last line: what made these tweets. `base` as shown (no local path);
    `synthetic`: those of the bot's `handles` that are made up."""
    what = "tiny model trained from scratch" if base == "tiny" else f"fine-tuned {base}"
    text = f"tweetlm  |  {what}  |  top_p {top_p:g}, temperature {temperature:g}"
    if synthetic and len(synthetic) == len(handles):
        return text + "  |  synthetic sample data, not a real user"
    if synthetic:  # a bot of a made-up handle and real ones: it does imitate someone
        return text + "  |  " + ", ".join(f"@{h}" for h in synthetic) + " is synthetic sample data"
    return text


def showcase(prompts: list[str], generations: list[list[str]]) -> list[tuple[str, str]]:
    """Tweets for the picture, round-robin over prompts: the first of each, then the second..."""
    return [(prompts[i], generations[i][j]) for j in range(max(map(len, generations), default=0))
            for i in range(len(prompts)) if j < len(generations[i])]
