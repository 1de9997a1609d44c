"""serve: `tweetlm serve`, a local web page (Gradio) of every built handle and bot -- its
gallery section (picture, stats, loss, memorization, settings, card) -- with a prompt box and
two bots side by side. Bound to 127.0.0.1 unless --allow-remote; models load on first use.

bots.py: which bots, their files and models, generation; app.py: the page and /files/;
space.py: a Hugging Face Space folder for one bot.
"""

from __future__ import annotations

import ipaddress

from tweetlm.core.errors import TweetlmError, warn
from tweetlm.core.params import Params

LOCAL_HOSTS = ("localhost",)


def is_local(host: str) -> bool:
    """True for a loopback address: reachable from this machine only."""
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> None:
    if is_local(host):
        return
    exposed = (f"--host {host}: anyone who reaches that address can run your models and read "
               "your bots' reports")
    if not allow_remote:
        raise TweetlmError(f"{exposed}; add --allow-remote if that is what you want")
    warn(exposed)


def main(params: Params, host: str = "127.0.0.1", port: int = 7860,
         allow_remote: bool = False) -> None:
    from pathlib import Path

    check_host(host, allow_remote)
    import uvicorn

    from tweetlm.tools.serve.app import app
    from tweetlm.tools.serve.bots import Bots
    from tweetlm.tools.serve.experiments import experiments

    names = [*params.handles, *params.bots]
    bots = Bots(Path("."), names, params.card.display_names, runs=experiments(Path(".")))
    missing = [n for n in names if n not in bots.names]
    print(f"tweetlm serve: {len(bots.names)} bot{'s' * (len(bots.names) != 1)} "
          f"({', '.join(bots.names) or 'none built: run dvc repro'})"
          + (f"; not built yet: {', '.join(missing)}" if missing else "")
          + f" -> http://{host}:{port}/  (Ctrl-C stops it)", flush=True)
    uvicorn.run(app(bots), host=host, port=port,
                log_level="warning")
