"""How live `tweetlm serve` feels: the time of a 5-tweet request after the first load.

    python benchmarks/bench_serve.py [--project DIR] [--requests 10] [--n 5] [--threads N]

The bot is the sample handle as shipped (the tiny preset, params.yaml as is): the checkout's
models/sample when `make run` built it, else a temporary copy of the project built with
`dvc repro card@sample` (about a minute and a half on 2 cores). A request goes through what the
page runs (serve.app.talk: prompt check, sampling with the bot's own settings, the copy check
against its training tweets, the picture drawn like predictions.png), first once to load the
model, then --requests times; the median and best are printed with this machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # helpers.project: the same copy the tests make


def built_project(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if (ROOT / "models/sample/model.safetensors").is_file():
        return ROOT
    from helpers.project import copy_project

    project = copy_project(Path(tempfile.mkdtemp(prefix="bench_serve.")) / "project")
    print(f"building the sample bot in {project.root} (dvc repro card@sample) ...", flush=True)
    project.dvc("repro", "card@sample")
    return project.root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", help="a project folder where models/sample is built")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--n", type=int, default=5, help="tweets per request")
    parser.add_argument("--prompt", default="My dream is")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's, one per "
                        "core; on a busy 2-core box 1 was 2-3x faster for the tiny bot)")
    args = parser.parse_args()
    os.chdir(built_project(args.project))
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from tweetlm.tools.serve.app import talk
    from tweetlm.tools.serve.bots import Bots

    bots = Bots(Path("."), ["sample"])
    settings = bots.defaults("sample")
    started = time.perf_counter()
    html, status = talk(bots, "sample", args.prompt, args.n, settings.temperature, settings.top_p)
    first = time.perf_counter() - started
    assert not status, status
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        html, status = talk(bots, "sample", args.prompt, args.n, settings.temperature,
                            settings.top_p)
        times.append(time.perf_counter() - started)
        assert not status and html.count("<li>") == args.n, status
    import torch

    load = os.getloadavg()
    print(f"first request (loads the model): {first:.2f} s")
    print(f"{args.n}-tweet request after the first load: median {statistics.median(times):.3f} s, "
          f"best {min(times):.3f} s, worst {max(times):.3f} s over {args.requests} "
          f"({os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"device {bots.get('sample').model.device.type})")


if __name__ == "__main__":
    main()
