"""`tweetlm space BOT`: a Hugging Face Space folder that runs the prompt box of one bot, so
`hf upload USER/BOT-demo spaces/BOT --repo-type space` publishes a working demo.

The folder is a small copy of the project: the bot's model and the reports its section shows,
at their layout paths, a copy of the tweetlm package (the Space has no tweetlm to install:
the same page code runs there), app.py, requirements.txt and the Space's README.md. The
training tweets (the copy check) go along only when asked: they are the user's tweets.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import tweetlm
from tweetlm.core import layout
from tweetlm.core.errors import TweetlmError, build_first
from tweetlm.core.params import Params

# What the Space's page imports (tweetlm.tools.serve and what it reads); the pipeline's DVC, W&B,
# datasets and peft stay home. torch: the Space's CPU gets the default wheel.
REQUIREMENTS = ("torch", "transformers>=4.46", "tokenizers>=0.20", "safetensors>=0.4",
                "huggingface_hub>=0.26", "pillow>=10", "pydantic>=2.6", "pyyaml>=6",
                "pyarrow>=15", "orjson>=3.9")
APP = '''"""The {bot} bot's Hugging Face Space, written by `tweetlm space {bot}`."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the copy of tweetlm next to this file

from tweetlm.tools.serve.space import launch  # noqa: E402

launch(HERE, {bot!r}, {names!r})
'''


def launch(root: Path, name: str, display_names: dict[str, str]) -> None:
    """The page of `tweetlm serve` for the one bot in `root` (no card link: the Space has
    no /files/), on Gradio's own server: 127.0.0.1 unless GRADIO_SERVER_NAME says (a Space
    does)."""
    from tweetlm.tools.serve.app import CSS, build, theme
    from tweetlm.tools.serve.bots import Bots

    build(Bots(Path(root), [name], display_names), title=f"{name} bot",
          card_prefix=None).launch(theme=theme(), css=CSS, footer_links=[])


def files_of(name: str, with_tweets: bool) -> list[Path]:
    """The project files a Space of bot `name` copies (what the page reads)."""
    paths = layout.bot(name)
    found = [*paths.model_files, paths.generation_config, paths.card, paths.predictions,
             paths.predict_metrics, paths.train_metrics, paths.picture, paths.stats,
             paths.train_loss, paths.eval_loss]
    return found + ([paths.train_tweets] if with_tweets else [])


def readme(name: str, names: list[str]) -> str:
    import gradio

    who = " & ".join(names)
    return (f"---\ntitle: {name} bot\nemoji: 🤖\nsdk: gradio\nsdk_version: {gradio.__version__}\n"
            f"app_file: app.py\npinned: false\n---\n\n# {who}: AI bot\n\nType the start of a "
            "tweet and read how the bot goes on. Made with tweetlm (huggingtweets, rebuilt); "
            "the model card is models/" f"{name}/README.md.\n")


def write_space(name: str, params: Params, out: Path, with_tweets: bool) -> Path:
    missing = [p for p in layout.bot(name).model_files if not p.is_file()]
    if missing:
        raise TweetlmError(f"{missing[0]}: not found: {build_first(name)}")
    if out.exists():
        shutil.rmtree(out)
    for path in files_of(name, with_tweets):
        if path.is_file():
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / path)
    shutil.copytree(Path(tweetlm.__file__).parent, out / "tweetlm",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    names = {h: n for h, n in params.card.display_names.items()
             if h in params.bot_handles(name)}
    (out / "app.py").write_text(APP.format(bot=name, names=names), encoding="utf-8")
    (out / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        readme(name, [names.get(h, h) for h in params.bot_handles(name)]), encoding="utf-8")
    return out


def main(name: str, params: Params, out: str | None, with_tweets: bool) -> None:
    folder = write_space(name, params, Path(out or Path("spaces") / name), with_tweets)
    print(f"space {name}: {folder} -- publish it with `hf upload <user>/{name}-bot {folder} "
          f"--repo-type space`")
