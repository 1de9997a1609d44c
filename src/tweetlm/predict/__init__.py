"""Sample tweets from a trained bot: predictions.json, the predictions.png thumbnail, and the
model's generation_config.json, so `pipeline('text-generation', model=...)` samples the same way.

All prompts x sequences go through a few batched generate() calls (left padding, attention
mask, KV cache). Each prompt is prefixed with <|endoftext|>, the separator the model saw in
front of every tweet, as huggingtweets did; a generated tweet ends at the next <|endoftext|>.
"""

from __future__ import annotations

import copy
import time
import unicodedata
from functools import lru_cache
from pathlib import Path

from tweetlm.core.errors import TweetlmError
from tweetlm.identity import SYNTHETIC_HANDLES, avatar_color, display_name, initials
from tweetlm.core.outputs import atomic_path, write_json
from tweetlm.core.params import Params, PredictParams

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

# predictions.png: 1200x630, the size of a social card (Open Graph image), as a thumbnail
WIDTH, HEIGHT = 1200, 630
MARGIN = 48
AVATAR = 112
INK, GREY, RULE, PAPER = (15, 20, 25), (83, 100, 113), (207, 217, 222), (255, 255, 255)


def load_model(model_dir: Path, stage: str = "train"):
    """Model and tokenizer from `model_dir` (safetensors only, no remote code), on the GPU
    in bf16 when there is one."""
    missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        raise TweetlmError(
            f"{model_dir}: no trained model ({', '.join(missing)} missing): "
            f"run `dvc repro {stage}@{model_dir.name}` first"
        )
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from safetensors import SafetensorError
    from transformers.utils import logging

    logging.disable_progress_bar()
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model, info = AutoModelForCausalLM.from_pretrained(
            model_dir, use_safetensors=True, trust_remote_code=False, dtype=dtype,
            output_loading_info=True,
        )
    except (OSError, ValueError, RuntimeError, SafetensorError) as e:  # RuntimeError: wrong shapes
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TweetlmError(f"{model_dir}: cannot load the model ({first}): rerun train") from None
    if info["missing_keys"]:  # else transformers samples from randomly filled-in weights
        raise TweetlmError(f"{model_dir}/model.safetensors: {len(info['missing_keys'])} weights "
                           f"missing ({min(info['missing_keys'])}...): it is damaged; rerun train")
    return model.to("cuda" if cuda else "cpu").eval(), tokenizer


def generation_config(p: PredictParams, tokenizer):
    """The sampling settings, as the GenerationConfig that predict uses and saves with the model."""
    from transformers import GenerationConfig

    eos = tokenizer.eos_token_id
    if eos is None:
        raise TweetlmError(f"{tokenizer.name_or_path}/tokenizer_config.json: no eos_token: "
                           "rerun train")
    return GenerationConfig(
        do_sample=p.do_sample,
        top_p=p.top_p,
        top_k=p.top_k,
        temperature=p.temperature,
        max_length=p.max_length,
        bos_token_id=tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos,
        eos_token_id=eos,
        pad_token_id=eos,  # GPT-2 has no pad token; padded positions are masked anyway
    )


def sample_ids(model, tokenizer, p: PredictParams, config) -> list[list[list[int]]]:
    """Token ids of `p.num_sequences` samples per prompt: <|endoftext|>, the prompt, then the
    generated tokens up to (not including) the next <|endoftext|>; at most p.max_length."""
    import torch
    from transformers import set_seed

    eos, bos = config.eos_token_id, config.bos_token_id
    # As tokenize encodes tweets: a literal '<|endoftext|>' in a prompt is text, not the token.
    encoded = tokenizer(p.prompts, add_special_tokens=False, split_special_tokens=True)
    prompt_ids = [[bos] + ids for ids in encoded["input_ids"]]
    for i, ids in enumerate(prompt_ids):
        if len(ids) >= p.max_length:
            raise TweetlmError(
                f"params.yaml: predict.prompts[{i}]: {len(ids)} tokens with <|endoftext|> "
                f"leave no room under predict.max_length ({p.max_length}): shorten it"
            )
    # The saved config keeps num_return_sequences at 1, so a pipeline() call returns one.
    call_config = copy.deepcopy(config)
    call_config.num_return_sequences = p.num_sequences
    set_seed(p.seed)
    per_call = max(1, p.batch_size // p.num_sequences)  # prompts per generate() call
    samples = []
    for start in range(0, len(prompt_ids), per_call):
        chunk = prompt_ids[start:start + per_call]
        width = max(map(len, chunk))
        # Left padding puts every prompt's last token in the same column; the mask hides
        # the padding and GPT-2's generate() derives position ids from it.
        input_ids = torch.tensor([[eos] * (width - len(ids)) + ids for ids in chunk])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in chunk])
        # max_length counts padding: extend it so the shortest prompt, too, gets up to
        # p.max_length real tokens, then cut each row there (as if it had stopped).
        call_config.max_length = p.max_length + width - min(map(len, chunk))
        # ...but padded columns take position ids too: never past the model's context
        # (a tiny model's is train.block_size), which would index past its embeddings.
        context = getattr(model.config, "n_positions", None) or getattr(
            model.config, "max_position_embeddings", None)
        if context:
            call_config.max_length = min(call_config.max_length, context)
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=mask.to(model.device),
                generation_config=call_config,
            ).cpu().tolist()
        rows = (ids for ids in chunk for _ in range(p.num_sequences))  # prompt-major order
        for ids, row in zip(rows, out):
            new = row[width:]
            samples.append((ids + (new[:new.index(eos)] if eos in new else new))[:p.max_length])
    n = p.num_sequences
    return [samples[i * n:(i + 1) * n] for i in range(len(p.prompts))]


def generate(model, tokenizer, p: PredictParams, config) -> list[list[str]]:
    """`p.num_sequences` tweets per prompt, as text: each starts with its prompt."""
    def text(ids):
        return tokenizer.decode(ids, skip_special_tokens=True,
                                clean_up_tokenization_spaces=False).strip()

    return [[text(ids) for ids in samples] for samples in sample_ids(model, tokenizer, p, config)]


# -- predictions.png -----------------------------------------------------------------------
# Pillow's built-in font (Aileron, scalable since Pillow 10.1) is always there but covers
# little beyond ASCII: characters it lacks are transliterated (é -> e) or dropped (emoji),
# never drawn as boxes.

FALLBACKS = {"\u2014": "-", "\u2013": "-", "\u2026": "...", "\u2018": "'", "\u2019": "'",
             "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\n": " ", "\t": " "}


@lru_cache(maxsize=None)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@lru_cache(maxsize=None)
def _glyph(ch: str, size: int) -> bytes:
    from PIL import Image, ImageDraw

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
    from PIL import Image, ImageDraw

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


def showcase(prompts: list[str], generations: list[list[str]]) -> list[tuple[str, str]]:
    """Tweets for the picture, round-robin over prompts: the first of each, then the second..."""
    return [(prompts[i], generations[i][j]) for j in range(max(map(len, generations), default=0))
            for i in range(len(prompts)) if j < len(generations[i])]


def main(name: str, params: Params) -> None:
    p = params.predict
    handles = params.bot_handles(name)
    model_dir = Path("models") / name
    model, tokenizer = load_model(model_dir, "bot-train" if name in params.bots else "train")
    config = generation_config(p, tokenizer)
    started = time.perf_counter()
    generations = generate(model, tokenizer, p, config)
    seconds = time.perf_counter() - started
    device, dtype = model.device.type, str(model.dtype).removeprefix("torch.")

    with atomic_path(model_dir / "generation_config.json") as tmp:
        config.to_json_file(tmp)
    write_json(Path("reports") / name / "predictions.json", {
        "bot": name,
        "handles": handles,
        "model": str(model_dir),
        "device": device,
        "dtype": dtype,
        "sampling": {
            "do_sample": p.do_sample, "top_p": p.top_p, "top_k": p.top_k,
            "temperature": p.temperature, "max_length": p.max_length,
            "num_return_sequences": p.num_sequences, "seed": p.seed,
            "batch_size": p.batch_size,
            "prefix": tokenizer.convert_ids_to_tokens(config.bos_token_id),
        },
        "predictions": [{"prompt": prompt, "generations": gens}
                        for prompt, gens in zip(p.prompts, generations)],
    })
    names = [display_name(h, params) for h in handles]
    base = params.model.base
    what = "tiny model trained from scratch" if base == "tiny" else f"fine-tuned {base}"
    footer = f"tweetlm  |  {what}  |  top_p {p.top_p:g}, temperature {p.temperature:g}"
    if any(h in SYNTHETIC_HANDLES for h in handles):
        footer += "  |  synthetic sample data, not a real user"
    image = draw_card(names, handles, showcase(p.prompts, generations), footer)
    with atomic_path(Path("reports") / name / "predictions.png") as tmp:
        image.save(tmp, format="PNG", optimize=True)
    print(f"predict {name}: {len(p.prompts)} prompts x {p.num_sequences} tweets sampled in "
          f"{seconds:.2f}s on {device} ({dtype}) -> reports/{name}/predictions.json, "
          "predictions.png")
