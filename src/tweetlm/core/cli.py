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

HANDLE, BOT = "HANDLE", layout.bot("BOT")  # the placeholders help texts show
_TOKENIZED = f"{BOT.tokenized}/ (train and validation tweets as token ids, the tokenizer, " \
             f"{BOT.tokenized_meta.name}, {BOT.train_tweets.name})"
_MODEL = f"{BOT.model}/ ({', '.join(layout.MODEL_FILES)}, adapter/)"
# stage -> (what NAME is, one line for `tweetlm --help`, what it reads, what it writes)
STAGES = {
    "ingest": ("handle", "raw tweet files -> one table of unique tweets",
               f"every file under {layout.raw_dir(HANDLE)}/ (the account archive, zipped or not; "
               "API, scraper, exporter or dataset JSON, JSON Lines or CSV; "
               "tweetlm-fields.yaml, a declared layout)",
               f"{layout.interim(HANDLE)}, {layout.account(HANDLE)} (display name and avatar)"),
    "filter": ("handle", "drop retweets and short tweets, clean the text, count them",
               f"{layout.interim(HANDLE)}",
               f"{layout.processed(HANDLE)} (the kept tweets), {layout.stats(HANDLE)} (the counts)"),
    "tokenize": ("bot", "split tweets into train/validation and encode them",
                 f"{layout.processed(HANDLE)} of each of BOT's handles; the tokenizer of "
                 "model.base",
                 f"{_TOKENIZED}; for a bot under `bots`, also {BOT.stats}"),
    "train": ("bot", "train the model on the tokenized tweets",
              f"{BOT.tokenized}/; model.base",
              f"{_MODEL}, {BOT.train_metrics}, {BOT.train_plots}/; {BOT.checkpoints}/ while "
              "it runs (removed at the end)"),
    "predict": ("bot", "sample tweets and check them for copies of training tweets",
                f"{BOT.model}/ (the model), {BOT.train_tweets}",
                f"{BOT.predictions}, {BOT.predict_metrics}, {BOT.picture}, "
                f"{BOT.generation_config}"),
    "card": ("bot", "write the model card",
             f"{BOT.stats}, {BOT.train_metrics}, {BOT.predictions}, {BOT.picture}, "
             f"{BOT.model}/config.json and model.safetensors",
             f"{BOT.card}, {BOT.thumbnail}"),
    "gallery": ("bot", "the bot's part of the static page",
                f"{BOT.stats}, {BOT.train_metrics}, {BOT.train_plots}/, {BOT.predictions}, "
                f"{BOT.predict_metrics}, {BOT.picture}",
                f"{BOT.gallery_entry}"),
}
NOT_STAGES = ("space",)  # take a BOT like a stage, but run outside the pipeline
NAMES = {"handle": f"a handle listed under `handles` in params.yaml (its raw files are in "
                   f"{layout.raw_dir(HANDLE)}/; its `overrides` apply)",
         "bot": "a handle, or a bot listed under `bots` in params.yaml (trained on its "
                "handles; its `overrides` apply)"}


def _describe(reads: str, writes: str) -> str:
    return f"Reads: {reads}. Writes: {writes}. Exits 1 with one line on any problem."


GLOBAL = ("Options before the command: --params FILE reads another params file than "
          "params.yaml (`tweetlm --params FILE COMMAND ...`).")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tweetlm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tweetlm {tweetlm.__version__}",
                        help="print the version and exit")
    parser.add_argument("--params", default=str(layout.PARAMS_FILE),
                        help="params file every command but `sample` reads (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="`tweetlm COMMAND --help` says what it reads and writes")
    _pipeline_commands(sub)
    _handle_commands(sub)
    _tools(sub)
    return parser


def _pipeline_commands(sub) -> None:
    """The commands dvc.yaml and the pipeline files run: one per stage."""
    stamps = layout.params_stamp("STAGE", HANDLE)
    sub.add_parser("validate", help="check params.yaml, the handles' raw folders and the "
                                    "pipeline files (the pipeline's first stage)",
                   description=_describe(
                       f"params.yaml (every key, type and range) and, for each handle but "
                       f"{layout.SAMPLE_HANDLE!r}, that {layout.raw_dir(HANDLE)}/ exists; that "
                       f"each pipeline file ({layout.pipeline_file(HANDLE)}, "
                       f"{layout.pipeline_file('BOT', bot=True)}) is what `tweetlm sync` writes",
                       f"each stage's params.yaml keys for each handle and bot: {stamps}"),
                   epilog=GLOBAL)
    out = layout.raw_dir(layout.SAMPLE_HANDLE)
    sample = sub.add_parser("sample", help="write the synthetic sample handle's raw files",
                            description=_describe("nothing (no params)", f"--out: a made-up "
                                                  f"handle's raw tweet files, {out}/ by default"))
    sample.add_argument("--out", default=str(out), help="folder to write (default: %(default)s)")
    sample.add_argument("--tweets", type=int, default=3200,
                        help="how many tweets, at least 50 (default: %(default)s)")
    sample.add_argument("--seed", type=int, default=0,
                        help="seed of the generator: the same seed writes the same files "
                             "(default: %(default)s)")
    for stage, (what, short, reads, writes) in STAGES.items():
        keys = ", ".join(layout.STAGE_PARAMS[stage])  # as validate stamps them
        p = sub.add_parser(stage, help=short, epilog=GLOBAL, description=_describe(
            f"{reads}; from params.yaml: {keys}", writes))
        p.add_argument("name", metavar=what.upper(), help=NAMES[what])
    sub.add_parser("gallery-page", help="every bot on one static page",
                   description=_describe(f"{layout.GALLERY}/*.json (no params)",
                                         f"{layout.GALLERY_PAGE}, which opens from disk"))


def _handle_commands(sub) -> None:
    """Handles in and out of the project, and the pipeline files that follow params.yaml."""
    add = sub.add_parser(
        "add", help="a new handle: its tweet files, versioned, listed, with its pipeline file",
        epilog=GLOBAL, description=_describe(
            "PATH: the account archive .zip, tweet files or a folder of them",
            f"{layout.raw_dir(HANDLE)}/ (a copy), {layout.raw_dvc_file(HANDLE)} (`dvc add`), HANDLE "
            f"under `handles` in params.yaml, {layout.pipeline_file(HANDLE)}"))
    add.add_argument("name", metavar="HANDLE", help="the new handle's name (its folder's)")
    add.add_argument("paths", nargs="*", metavar="PATH",
                     help=f"files or folders to copy into {layout.raw_dir(HANDLE)}/ (none: the "
                          "folder is there already)")
    remove = sub.add_parser(
        "remove", help="take a handle out: params.yaml, its pipeline file, its raw record",
        epilog=GLOBAL, description=_describe(
            "params.yaml", f"params.yaml without HANDLE (and its overrides); removes "
                           f"{layout.pipeline_file(HANDLE)} and {layout.raw_dvc_file(HANDLE)} "
                           "(`dvc remove`); the raw files stay on disk"))
    remove.add_argument("name", metavar="HANDLE", help=NAMES["handle"])
    for command in (add, remove):
        command.add_argument("--no-dvc", action="store_true",
                             help="leave the raw folder's DVC record (.dvc file) alone")
    sub.add_parser("sync", help="write the pipeline files params.yaml asks for", epilog=GLOBAL,
                   description=_describe("params.yaml (handles, bots)",
                                         f"{layout.pipeline_file(HANDLE)} for each handle, "
                                         f"{layout.pipeline_file('BOT', bot=True)} for each bot;"
                                         " removes the others"))
    sub.add_parser("migrate", help="move a project built with one dvc.yaml for all handles "
                                   "to the pipeline files, without rerunning anything",
                   epilog=GLOBAL, description=_describe(
                       "dvc.lock (stages such as train@alice), their outputs",
                       "the pipeline files; dvc.lock entries under them (`dvc commit`)"))


def _tools(sub) -> None:
    """Commands outside the pipeline: they read what it wrote."""
    compare = sub.add_parser(
        "compare", help="experiments side by side in the terminal's width",
        description=_describe(
            "`dvc exp show --json` (no params)",
            "to stdout, one row per experiment and bot: tweets kept, eval loss, perplexity, "
            "copy share, and the params that differ between the rows"))
    compare.add_argument("--width", type=int, default=None,
                         help="characters a line may take (default: the terminal's, else 120)")
    compare.add_argument("dvc_args", nargs=argparse.REMAINDER, metavar="DVC_EXP_SHOW_ARGS",
                         help="passed on to `dvc exp show`, e.g. -A (every commit) or "
                              "--rev main")
    serve = sub.add_parser(
        "serve", help="a local web page of every built bot, to talk to them", epilog=GLOBAL,
        description=_describe("models/ and reports/ (nothing else); params.yaml",
                              "nothing: serves a page at http://HOST:PORT until stopped"))
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default: %(default)s, this machine only)")
    serve.add_argument("--port", type=int, default=7860, help="port (default: %(default)s)")
    serve.add_argument("--allow-remote", action="store_true",
                       help="WARNING: needed to bind another address than 127.0.0.1; anyone "
                            "who reaches it can run your models and read your bots' reports")
    space = sub.add_parser(
        "space", help="a Hugging Face Space folder (app.py) for one bot", epilog=GLOBAL,
        description=_describe(f"{BOT.model}/ and {BOT.reports}/",
                              "--out: app.py, the model, its reports and requirements.txt, "
                              "spaces/BOT/ by default"))
    space.add_argument("name", metavar="BOT", help=NAMES["bot"])
    space.add_argument("--out", help="folder to write (default: spaces/BOT)")
    space.add_argument("--with-tweets", action="store_true",
                       help="include the training tweets, so the Space marks copies of them")


def _handles_command(args) -> bool:
    """add, remove, sync, migrate: project edits that print what they did."""
    if args.command not in ("add", "remove", "sync", "migrate"):
        return False
    from tweetlm.tools import handles, migrate

    done = {"add": lambda: handles.add(args.name, args.paths, args.params, not args.no_dvc),
            "remove": lambda: handles.remove(args.name, args.params, not args.no_dvc),
            "sync": lambda: handles.sync(args.params),
            "migrate": lambda: migrate.main(args.params)}[args.command]()
    for line in done:
        print(f"tweetlm: {line}")
    return True


def run(argv: list[str] | None = None) -> None:
    """Parse `argv` and run one command; raises TweetlmError on bad input."""
    args = build_parser().parse_args(argv)
    if args.command == "compare":  # reads DVC's records, not params.yaml
        from tweetlm.tools import compare

        compare.main(args.width, args.dvc_args)
        return
    if args.command == "sample":  # needs no params: its stage doesn't depend on them
        from tweetlm import sample

        sample.main(args.out, args.tweets, args.seed)
        return
    if args.command == "gallery-page":  # reads the entries only: no params
        from tweetlm.gallery import page_main

        page_main()
        return
    if _handles_command(args):
        return
    from tweetlm.core.params import check_name, load_params

    params = load_params(args.params)
    if args.command == "validate":
        from tweetlm import validate

        validate.main(params, args.params)
        return
    if args.command == "serve":
        from tweetlm.tools.serve import main as serve

        serve(params, args.host, args.port, args.allow_remote)
        return
    what = "bot" if args.command in NOT_STAGES else STAGES[args.command][0]
    name = check_name(args.name, what)
    if what == "handle" and name not in params.handles:
        raise TweetlmError(f"{args.params}: handle {name!r} is not listed under `handles`")
    if what == "bot":
        params.bot_handles(name)  # raises unless NAME is a handle or a bot
    if args.command == "space":
        from tweetlm.tools.serve.space import main as space

        space(name, params.for_name(name), args.out, args.with_tweets)
        return
    importlib.import_module(f"tweetlm.{args.command}").main(name, params.for_name(name))


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
