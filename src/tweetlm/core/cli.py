"""`tweetlm STAGE NAME`: the one entry point that dvc.yaml calls for every stage.

Stage modules (tweetlm.<stage>) are imported lazily, so a stage loads only its own code and dvc.yaml can
list exactly that code as its deps. Any TweetlmError becomes one line on stderr and
exit status 1; an interrupt becomes status 130. Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

import tweetlm
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError

_H, _B = "HANDLE", layout.bot("BOT")
# stage -> (what NAME is, help)
STAGES = {
    "ingest": ("handle", f"raw tweet JSON in {layout.raw_dir(_H)} -> {layout.interim(_H)}"),
    "filter": ("handle", f"drop retweets and short tweets -> {layout.processed(_H)}, "
                         f"{layout.stats(_H)}"),
    "tokenize": ("bot", f"pack tweets into token blocks -> {_B.tokenized}"),
    "train": ("bot", f"fine-tune the base model -> {_B.model}"),
    "predict": ("bot", f"sample tweets from the model -> {_B.predictions}"),
    "card": ("bot", f"write the model card -> {_B.card}"),
    "gallery": ("bot", f"the bot's part of the static page -> {_B.gallery_entry}"),
}
NOT_STAGES = ("space",)  # take a BOT like a stage, but run outside the pipeline


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetlm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tweetlm {tweetlm.__version__}")
    parser.add_argument("--params", default=str(layout.PARAMS_FILE),
                        help="params file (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("validate", help="check params.yaml and exit (the pipeline's first stage)")
    for stage, (what, text) in STAGES.items():
        p = sub.add_parser(stage, help=text)
        p.add_argument("name", metavar=what.upper(), help=f"the {what} to process")
    sample = sub.add_parser("sample", help="write the synthetic sample handle's raw files")
    sample.add_argument("--out", default=str(layout.raw_dir(layout.SAMPLE_HANDLE)),
                        help="folder (default: %(default)s)")
    sample.add_argument("--tweets", type=int, default=3200, help="tweets (default: %(default)s)")
    sample.add_argument("--seed", type=int, default=0)
    sub.add_parser("gallery-page", help=f"every bot on one static page -> {layout.GALLERY_PAGE}")
    serve = sub.add_parser("serve", help="a local web page of every built bot, to talk to them")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="WARNING: needed to bind another address than 127.0.0.1; anyone "
                            "who reaches it can run your models and read your bots' reports")
    space = sub.add_parser("space", help="a Hugging Face Space folder (app.py) for one bot")
    space.add_argument("name", metavar="BOT", help="the bot to publish")
    space.add_argument("--out", help="folder (default: spaces/BOT)")
    space.add_argument("--with-tweets", action="store_true",
                       help="include the training tweets, so the Space marks copies of them")
    return parser


def run(argv: list[str] | None = None) -> None:
    """Parse `argv` and run one command; raises TweetlmError on bad input."""
    args = build_parser().parse_args(argv)
    if args.command == "sample":  # needs no params: its stage doesn't depend on them
        from tweetlm import sample

        sample.main(args.out, args.tweets, args.seed)
        return
    if args.command == "gallery-page":  # reads the entries only: no params
        from tweetlm.gallery import page_main

        page_main()
        return
    from tweetlm.core.params import check_name, load_params

    params = load_params(args.params)
    if args.command == "validate":
        from tweetlm.core.outputs import write_json
        from tweetlm.core.params import values_of

        # Each stage's keys: a stage reruns when its own stamp's hash changes, never
        # because validation ran.
        for stage, keys in layout.STAGE_PARAMS.items():
            write_json(layout.params_stamp(stage), values_of(params, keys))
        return
    if args.command == "serve":
        from tweetlm.serve import main as serve

        serve(params, args.host, args.port, args.allow_remote)
        return
    what = "bot" if args.command in NOT_STAGES else STAGES[args.command][0]
    name = check_name(args.name, what)
    if what == "handle" and name not in params.handles:
        raise TweetlmError(f"{args.params}: handle {name!r} is not listed under `handles`")
    if what == "bot":
        params.bot_handles(name)  # raises unless NAME is a handle or a bot
    if args.command == "space":
        from tweetlm.serve.space import main as space

        space(name, params, args.out, args.with_tweets)
        return
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
