"""A GPT-2-shaped base model folder, offline: random init with GPT-2's 50257-row embedding and
a byte-level BPE tokenizer trained on sample tweets of another seed than the pipeline's (no
hub weights here; the compute per token is GPT-2's, the tokens/word near GPT-2's on tweets).

    python benchmarks/device/make_base.py OUT_DIR [--root PROJECT] [--small] [--tweets N]

Default: GPT-2 124M (12 layers, 768 wide, 1024 positions), tokenizer trained on 20,000 raw
sample tweets. --small: 2 layers, 128 wide, 2,000 tweets: the same files and vocabulary in
seconds, for CPU checks of the pretrained path.
"""
import argparse
import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("out", type=Path)
parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                    help="the project (default: this file's)")
parser.add_argument("--small", action="store_true", help="2 layers x 128, 2,000 tweets")
parser.add_argument("--tweets", type=int, help="raw sample tweets for the tokenizer")
parser.add_argument("--layers", type=int)
parser.add_argument("--width", type=int)
args = parser.parse_args()
root = args.root.resolve()
sys.path[:0] = [str(root / "tests"), str(root / "src")]

import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
from helpers.tinymodel import tiny_tokenizer  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

from tweetlm import filter as filter_stage  # noqa: E402
from tweetlm import ingest, sample  # noqa: E402
from tweetlm.core.params import load_params  # noqa: E402

layers = args.layers or (2 if args.small else 12)
width = args.width or (128 if args.small else 768)
tweets = args.tweets or (2000 if args.small else 20000)
out = args.out.resolve()
params = load_params(root / "params.yaml")
cwd = os.getcwd()
with tempfile.TemporaryDirectory() as tmp:  # the stages write under the working directory
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            sample.main("data/raw/sample", tweets, 7)  # seed 7: not the pipeline's tweets
            ingest.main("sample", params)
            filter_stage.main("sample", params)
        texts = pq.read_table("data/processed/sample/tweets.parquet").column("text").to_pylist()
    finally:
        os.chdir(cwd)
tok = tiny_tokenizer(texts=texts, vocab_size=50257, max_length=1024)
cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_layer=layers, n_embd=width,
                 n_head=max(1, width // 64), bos_token_id=tok.eos_token_id,
                 eos_token_id=tok.eos_token_id)
torch.manual_seed(0)
GPT2LMHeadModel(cfg).save_pretrained(out)
tok.save_pretrained(out)
words = sum(len(t.split()) for t in texts)
toks = sum(len(tok(t)["input_ids"]) for t in texts)
n = sum(p.numel() for p in GPT2LMHeadModel(cfg).parameters())
print(f"base {out}: GPT-2 {layers} layers x {width}, {n / 1e6:.1f}M parameters; tokenizer "
      f"{len(tok)} tokens from {len(texts)} tweets, {toks / words:.2f} tokens/word")
