"""`tweetlm STAGE NAME`: the one entry point that dvc.yaml calls for every stage.

Stage modules are imported lazily, so a stage loads only its own code and dvc.yaml can
list exactly that code as its deps. Any TweetlmError becomes one line on stderr and
exit status 1; an interrupt becomes status 130. Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tweetlm.errors import TweetlmError

# stage -> (what NAME is, help)
STAGES = {
    "ingest": ("handle", "raw tweet JSON in data/raw/HANDLE -> data/interim/HANDLE/tweets.parquet"),
    "filter": ("handle", "drop retweets and short tweets -> data/processed/HANDLE, stats.json"),
    "tokenize": ("bot", "pack tweets into token blocks -> data/tokenized/BOT"),
    "train": ("bot", "fine-tune GPT-2 -> models/BOT"),
    "predict": ("bot", "sample tweets from the model -> reports/BOT/predictions.json"),
    "card": ("bot", "write the model card -> models/BOT/README.md"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetlm", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("validate", help="check params.yaml and exit (the pipeline's first stage)")
    for stage, (what, text) in STAGES.items():
        p = sub.add_parser(stage, help=text)
        p.add_argument("name", metavar=what.upper(), help=f"the {what} to process")
    sample = sub.add_parser("sample", help="write the synthetic sample handle's raw files")
    sample.add_argument("--out", default="data/raw/sample", help="folder (default: %(default)s)")
    sample.add_argument("--tweets", type=int, default=3200, help="tweets (default: %(default)s)")
    sample.add_argument("--seed", type=int, default=0)
    return parser


def run(argv: list[str] | None = None) -> None:
    """Parse `argv` and run one command; raises TweetlmError on bad input."""
    args = build_parser().parse_args(argv)
    if args.command == "sample":  # needs no params: its stage doesn't depend on them
        from tweetlm import sample

        sample.main(args.out, args.tweets, args.seed)
        return
    from tweetlm.params import check_name, load_params

    params = load_params(args.params)
    if args.command == "validate":
        from tweetlm.outputs import write_json

        # A constant stamp: stages depend on it so validation runs first, and its
        # unchanging hash means passing validation never reruns anything.
        write_json("reports/params.ok", {"params": "valid"})
        return
    what = STAGES[args.command][0]
    name = check_name(args.name, what)
    if what == "handle" and name not in params.handles:
        raise TweetlmError(f"{args.params}: handle {name!r} is not listed under `handles`")
    if what == "bot":
        params.bot_handles(name)  # raises unless NAME is a handle or a bot
    importlib.import_module(f"tweetlm.{args.command}").main(name, params)


def main(argv: list[str] | None = None) -> int:
    try:
        run(argv)
    except TweetlmError as e:
        print(f"tweetlm: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tweetlm: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
