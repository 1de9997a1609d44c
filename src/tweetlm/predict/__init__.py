"""predict: sample tweets from a trained bot -> reports/<bot>/predictions.json, the
memorization figures reports/<bot>/predict_metrics.json (a DVC metric), the predictions.png
picture (picture.py) and the model's generation_config.json, so that
`pipeline('text-generation', model=...)` samples the same way.

As huggingtweets did: each prompt is prefixed with the tokenizer's end-of-text token, the
separator the model saw in front of every tweet; end-of-text is barred for the first
predict.min_new_tokens tokens; a sample ends at the next end-of-text and, when the tweets were
trained without line breaks (filter.keep_newlines: false), at its first newline. All prompts x
sequences go through a few batched generate() calls (left padding with the tokenizer's pad
token, else end-of-text; attention mask; KV cache).

Every sample is checked against the bot's training tweets (memorization.py): the share of
first samples that copy one is the memorization figure; with predict.memorization.resample
the copies are sampled again (up to max_tries rounds) before they are shown.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch

from tweetlm.shared import pretrained
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, run_first
from tweetlm.core.outputs import atomic_path, read_json, write_json
from tweetlm.core.params import MemorizationParams, Params, PredictParams
from tweetlm.shared.identity import SYNTHETIC_HANDLES, avatar_image, display_name
from tweetlm.predict import memorization, picture


def load_model(model_dir: Path, stage: str | None = None):
    """(model, tokenizer) from `model_dir` through pretrained's safe loaders (safetensors
    only, no remote code), on the GPU in bf16 when there is one. `stage`: dvc.yaml's name of
    the stage that writes it (handles/NAME/dvc.yaml:train if not given)."""
    missing = [f for f in layout.MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        stage = stage or layout.stage_id("train", model_dir.name)
        raise TweetlmError(f"{model_dir}: no trained model ({', '.join(missing)} missing): "
                           f"{run_first(stage)}")
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    tokenizer = pretrained.load_tokenizer(model_dir, fix="rerun train")
    model = pretrained.load_model(model_dir, fix="rerun train", dtype=dtype)
    return model.to("cuda" if cuda else "cpu").eval(), tokenizer


def generation_config(settings: PredictParams, tokenizer):
    """The sampling settings, as the GenerationConfig that predict uses and saves with the model."""
    from transformers import GenerationConfig

    eos = tokenizer.eos_token_id  # load_tokenizer made sure there is one
    return GenerationConfig(
        do_sample=settings.do_sample,
        top_p=settings.top_p,
        top_k=settings.top_k,
        temperature=settings.temperature,
        max_length=settings.max_length,
        min_new_tokens=settings.min_new_tokens,
        bos_token_id=tokenizer.bos_token_id if tokenizer.bos_token_id is not None else eos,
        eos_token_id=eos,
        pad_token_id=pretrained.pad_token_id(tokenizer),
    )


def prompt_ids(tokenizer, settings: PredictParams) -> list[list[int]]:
    """Each prompt's ids after the end-of-text token; it must leave room under max_length."""
    eos = tokenizer.eos_token_id
    # As tokenize encodes tweets: a literal end-of-text in a prompt is text, not the token.
    encoded = tokenizer(settings.prompts, add_special_tokens=False, split_special_tokens=True)
    out = [[eos] + ids for ids in encoded["input_ids"]]
    for i, ids in enumerate(out):
        if len(ids) >= settings.max_length:
            raise TweetlmError(
                f"params.yaml: predict.prompts[{i}]: {len(ids)} tokens with {tokenizer.eos_token} "
                f"leave no room under predict.max_length ({settings.max_length}): shorten it"
            )
    return out


def generate_ids(model, prompts: list[list[int]], n: int, settings: PredictParams, config,
                 seed: int) -> list[list[int]]:
    """`n` samples for each of `prompts` (token ids), prompt-major: the prompt, then the
    generated tokens up to (not including) the next end-of-text; at most settings.max_length."""
    from transformers import set_seed

    eos, pad = config.eos_token_id, config.pad_token_id
    call_config = copy.deepcopy(config)  # the saved one keeps num_return_sequences 1
    call_config.num_return_sequences = n
    set_seed(seed)  # Python, NumPy and torch (every device)
    per_call = max(1, settings.batch_size // n)  # prompts per generate() call
    context = pretrained.context_length(model.config)
    samples = []
    for start in range(0, len(prompts), per_call):
        chunk = prompts[start:start + per_call]
        width = max(map(len, chunk))
        # Left padding puts every prompt's last token in the same column; the mask hides
        # the padding, and generate() derives position ids from it.
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in chunk])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in chunk])
        # max_length counts padding: extend it so the shortest prompt, too, gets up to
        # settings.max_length real tokens, then cut each row there (as if it had stopped)...
        call_config.max_length = settings.max_length + width - min(map(len, chunk))
        # ...but padded columns take positions too: never past the model's context (a tiny
        # model's is model.tiny.n_positions), which would index past its embeddings.
        if context:
            call_config.max_length = min(call_config.max_length, context)
        # a long prompt near max_length gets what room is left (generate() would warn)
        call_config.min_new_tokens = max(0, min(settings.min_new_tokens,
                                                call_config.max_length - width))
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids.to(model.device),
                attention_mask=mask.to(model.device),
                generation_config=call_config,
            ).cpu().tolist()
        rows = (ids for ids in chunk for _ in range(n))
        for ids, row in zip(rows, out):
            new = row[width:]
            sampled = ids + (new[:new.index(eos)] if eos in new else new)
            samples.append(sampled[:settings.max_length])
    return samples


def sample_ids(model, tokenizer, settings: PredictParams, config) -> list[list[list[int]]]:
    """Token ids of `settings.num_sequences` samples per prompt: end-of-text, the prompt,
    then the generated tokens up to (not including) the next end-of-text; at most
    settings.max_length."""
    n = settings.num_sequences
    flat = generate_ids(model, prompt_ids(tokenizer, settings), n, settings, config,
                        settings.seed)
    return [flat[i * n:(i + 1) * n] for i in range(len(settings.prompts))]


def decode(tokenizer, ids: list[int], one_line: bool) -> str:
    text = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    # trained without line breaks, a newline can only end the tweet (the original cut there)
    return (text.split("\n", 1)[0] if one_line else text).strip()


def generate(model, tokenizer, settings: PredictParams, config, one_line: bool = False
             ) -> list[list[str]]:
    """`settings.num_sequences` tweets per prompt, as text: each starts with its prompt."""
    return [[decode(tokenizer, ids, one_line) for ids in samples]
            for samples in sample_ids(model, tokenizer, settings, config)]


def read_train_tweets(path: Path, stage: str) -> list[str]:
    """tokenize's list of the training tweets, which predict checks samples against."""
    return read_json(path, run_first(stage))


def sample_checked(model, tokenizer, settings: PredictParams, config, tweets: list[str],
                   one_line: bool) -> tuple[list[str], list[dict], dict]:
    """(samples prompt-major, their memorization checks, the summary). The first draw is
    checked; with settings.memorization.resample its copies are drawn again, each round with its
    own seed, until none is left or max_tries rounds have run."""
    rules: MemorizationParams = settings.memorization
    prompts = prompt_ids(tokenizer, settings)

    def check(texts):
        return memorization.check(texts, tweets, rules.ngram, rules.threshold, not one_line)

    texts = [text for samples in generate(model, tokenizer, settings, config, one_line)
             for text in samples]
    checks = check(texts)
    tries = [1] * len(texts)
    first = list(checks)  # the model's own memorization, before any resampling
    rounds = 0
    while rules.resample and rounds < rules.max_tries and any(c.copy for c in checks):
        rounds += 1
        again = [i for i, c in enumerate(checks) if c.copy]
        redo = [prompts[i // settings.num_sequences] for i in again]
        new = [decode(tokenizer, ids, one_line) for ids in
               generate_ids(model, redo, 1, settings, config, settings.seed + rounds)]
        for i, text, c in zip(again, new, check(new)):
            texts[i], checks[i] = text, c
            tries[i] += 1
    n = len(texts)
    summary = {
        "ngram": rules.ngram, "threshold": rules.threshold, "training_tweets": len(tweets),
        "samples": n,
        "copies": sum(c.copy for c in first), "verbatim": sum(c.verbatim for c in first),
        "copy_share": sum(c.copy for c in first) / n,
        "verbatim_share": sum(c.verbatim for c in first) / n,
        "resample": rules.resample, "max_tries": rules.max_tries, "rounds": rounds,
        "resampled": sum(t > 1 for t in tries),
        "copies_shown": sum(c.copy for c in checks),
        "copy_share_shown": sum(c.copy for c in checks) / n,
    }
    return texts, [{**c.to_json(), "tries": t} for c, t in zip(checks, tries)], summary


def main(name: str, params: Params) -> None:
    from transformers.utils import logging

    logging.disable_progress_bar()
    settings, paths, handles = params.predict, layout.bot(name), params.bot_handles(name)
    is_bot = name in params.bots
    model, tokenizer = load_model(paths.model, layout.stage_id("train", name, is_bot))
    tweets = read_train_tweets(paths.train_tweets, layout.stage_id("tokenize", name, is_bot))
    config = generation_config(settings, tokenizer)
    one_line = not params.filter.keep_newlines
    started = time.perf_counter()
    texts, checks, summary = sample_checked(model, tokenizer, settings, config, tweets, one_line)
    seconds = time.perf_counter() - started
    device, dtype = model.device.type, str(model.dtype).removeprefix("torch.")
    n = settings.num_sequences
    generations = [texts[i * n:(i + 1) * n] for i in range(len(settings.prompts))]

    with atomic_path(paths.generation_config) as tmp:
        config.to_json_file(tmp)
    write_json(paths.predictions, {
        "bot": name,
        "handles": handles,
        "model": str(paths.model),
        "device": device,
        "dtype": dtype,
        "sampling": {
            "do_sample": settings.do_sample, "top_p": settings.top_p, "top_k": settings.top_k,
            "temperature": settings.temperature, "max_length": settings.max_length,
            "min_new_tokens": settings.min_new_tokens,
            "num_return_sequences": settings.num_sequences,
            "seed": settings.seed, "batch_size": settings.batch_size, "prefix": tokenizer.eos_token,
            "cut_at_newline": one_line,
        },
        "memorization": summary,
        "predictions": [{"prompt": prompt, "generations": gens, "checks": checks[i * n:(i + 1) * n]}
                        for i, (prompt, gens) in enumerate(zip(settings.prompts, generations))],
    })
    write_json(paths.predict_metrics, {k: summary[k] for k in (
        "copy_share", "verbatim_share", "copy_share_shown", "samples", "resampled")})
    footer = picture.footer(pretrained.shown_name(params.model.base), settings.top_p,
                            settings.temperature,
                            synthetic=[h for h in handles if h in SYNTHETIC_HANDLES],
                            handles=handles)
    image = picture.draw_card([display_name(h, params) for h in handles], handles,
                              picture.showcase(settings.prompts, generations), footer,
                              [avatar_image(h) for h in handles])
    with atomic_path(paths.picture) as tmp:
        image.save(tmp, format="PNG", optimize=True)
    print(f"predict {name}: {len(settings.prompts)} prompts x {n} tweets sampled in "
          f"{seconds:.2f}s on {device} ({dtype}); {summary['copies']} of {summary['samples']} "
          f"copy a training "
          f"tweet ({summary['verbatim']} verbatim)"
          + (f", {summary['resampled']} resampled, {summary['copies_shown']} left"
             if settings.memorization.resample else ", not resampled")
          + f" -> {paths.predictions}, {paths.picture.name}")
