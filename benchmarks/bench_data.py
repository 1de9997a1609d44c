"""Data-path benchmark: ingest + filter against a plain-Python loop.

    .venv/bin/python benchmarks/bench_data.py            # 250,000 and 1,000,000 tweets
    .venv/bin/python benchmarks/bench_data.py --sizes 1000000 --formats jsonl
    .venv/bin/python benchmarks/bench_data.py --quick    # 50,000 tweets: a smoke run
                                                         # (start-up costs dominate its ratio)

1. For each size N (--sizes), writes a synthetic Twitter/X archive tweets.js of N tweets
   (benchmarks/big_archive.py: the real archive's layout, ~1.2 KB per entry, the sample's
   texts; 1.2 GB at 1M), then the same tweets as v1.1 JSON Lines (520 MB at 1M), as
   snscrape 0.6's JSON Lines and as a dataset CSV, one input on disk at a time, into a
   scratch project folder.
2. Times, each in its own fresh subprocess (so memory peaks never mix):
   - tweetlm: the real stages, `ingest.main` then `filter.main`, each in its own process
     as `dvc repro` runs them (Parquet written and read back, stats.json); the time is the
     two stages' own, without interpreter start-up and imports;
   - reference: the same rules as a plain Python loop over the same file: `json.load` of
     the archive (prefix stripped), `json.loads` per line, or `csv.DictReader` (the plain
     csv loop), de-duplication with a set,
     text choice, and tweetlm.shared.text's per-tweet reference functions for retweets,
     cleaning and short tweets. It writes nothing, so the comparison flatters it.
   Both must report the same stats (downloaded, retweets, short, kept) or the run fails.
   Two ratios per input and size: of wall time, and of CPU time (user + system, all
   threads), which other work on a shared machine moves less. Peak memory is each
   process's own RSS high-water mark (ru_maxrss), ingest/filter shown apart; the summary
   shows how each grows from the smallest size to the largest. Each line ends with the
   load average (1, 5, 15 min) as it finished: on a 2-core machine, compare runs only at
   similar loads.

Targets: ratio >= 10x, peak < 1 GB. The no-op `dvc repro` and many-handles figures are
benchmarks/bench_repro.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from big_archive import write_archive  # benchmarks/, next to this file

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DESCRIBE = {"archive": "an archive tweets.js", "jsonl": "v1.1 JSON Lines",
            "snscrape": "snscrape JSON Lines", "csv": "a dataset CSV"}
SUFFIX = {"archive": "js", "jsonl": "jsonl", "snscrape": "jsonl", "csv": "csv"}

STAGE = r"""
import importlib, json, os, resource, sys, time
stage = importlib.import_module("tweetlm." + sys.argv[1])
from tweetlm.core.params import load_params
params = load_params("params.yaml")
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0, c0 = time.perf_counter(), cpu()
stage.main("bench", params)
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
stats = json.load(open("reports/bench/stats.json")) if os.path.exists("reports/bench/stats.json") else None
print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "stats": stats,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

REFERENCE = r"""
import csv, json, resource, sys, time
from tweetlm.shared.text import clean_text_reference, is_retweet_reference, is_short_reference
path, min_words, keep_newlines = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"

def tweets(path):
    if path.endswith(".js"):  # the archive: strip `window.YTD.tweets.part0 = `, load the array
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for entry in json.loads(text[text.index("="):].lstrip("= \n")):
            yield entry.get("tweet", entry)
    elif path.endswith(".csv"):  # csv's reader: id, text, is_retweet as v1.1's fields
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                yield {"id_str": row["id"], "full_text": row["text"],
                       "retweeted_status": {} if row["is_retweet"] == "True" else None}
    else:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    t = json.loads(line)
                    if "rawContent" in t:  # snscrape: its text and retweet as v1.1's fields
                        t = {"id_str": str(t["id"]), "full_text": t["rawContent"],
                             "retweeted_status": t["retweetedTweet"]}
                    yield t

cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
t0, c0 = time.perf_counter(), cpu()
seen = set()
stats = {"downloaded": 0, "retweets": 0, "short": 0, "kept": 0}
for t in tweets(path):
    tid = t.get("id_str") or str(t["id"])
    if tid in seen:
        continue
    seen.add(tid)
    text = (t.get("extended_tweet") or {}).get("full_text")
    if text is None:
        text = t.get("full_text")
    if text is None:
        text = t.get("text")
    if text is None:
        continue
    stats["downloaded"] += 1
    if is_retweet_reference(text, t.get("retweeted_status") is not None):
        stats["retweets"] += 1
        continue
    if is_short_reference(clean_text_reference(text, keep_newlines), min_words):
        stats["short"] += 1
        continue
    stats["kept"] += 1
seconds, cpu_s = time.perf_counter() - t0, cpu() - c0
print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "stats": stats,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def env() -> dict:
    e = dict(os.environ, DVC_NO_ANALYTICS="1", WANDB_MODE="disabled", HF_HUB_OFFLINE="1",
             TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT / "src"))
    e["PATH"] = f"{Path(PY).parent}{os.pathsep}{e.get('PATH', '')}"
    return e


def run_child(code: str, cwd: Path, *args: str) -> dict:
    proc = subprocess.run([PY, "-c", code, *args], cwd=cwd, env=env(), capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmark child failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def project(folder: Path, raw: Path) -> Path:
    """A scratch project: params.yaml with one handle, `bench`, whose raw folder holds `raw`."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["handles"] = ["bench"]
    params["bots"] = {}
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (folder / "data/raw/bench").mkdir(parents=True)
    os.link(raw, folder / "data/raw/bench" / raw.name)
    return folder


def bench_pair(scratch: Path, raw: Path, label: str, n: int, reference: bool = True) -> dict:
    size = raw.stat().st_size
    params = yaml.safe_load((ROOT / "params.yaml").read_text())["filter"]
    folder = project(scratch / f"p-{label}-{n}", raw)
    ingest, filter_ = run_child(STAGE, folder, "ingest"), run_child(STAGE, folder, "filter")
    fast = {"seconds": ingest["seconds"] + filter_["seconds"], "stats": filter_["stats"],
            "cpu_s": ingest["cpu_s"] + filter_["cpu_s"],
            "ingest_s": ingest["seconds"], "filter_s": filter_["seconds"],
            "peak_mb": max(ingest["peak_mb"], filter_["peak_mb"]),
            "ingest_peak_mb": ingest["peak_mb"], "filter_peak_mb": filter_["peak_mb"]}
    line = (f"{label:7s} {n:>9,} tweets {size / 1e6:5.0f} MB | tweetlm {fast['seconds']:5.2f} s "
            f"(ingest {ingest['seconds']:.2f} + filter {filter_['seconds']:.2f}) "
            f"{n / fast['seconds']:>7,.0f} tweets/s {size / 1e6 / fast['seconds']:4.0f} MB/s "
            f"peak {ingest['peak_mb']:.0f}/{filter_['peak_mb']:.0f} MB")
    result = {"label": label, "tweets": n, "mb": size / 1e6, "tweetlm": fast}
    if reference:
        ref = run_child(REFERENCE, ROOT, str(raw), str(params["min_words"]),
                        "1" if params["keep_newlines"] else "0")
        counts = {k: fast["stats"].get(k) for k in ref["stats"]}  # stats.json has `languages` too
        if ref["stats"] != counts:
            sys.exit(f"stats differ: tweetlm {counts} vs reference {ref['stats']}")
        result["reference"] = ref
        result["ratio"] = ref["seconds"] / fast["seconds"]
        result["cpu_ratio"] = ref["cpu_s"] / fast["cpu_s"]
        line += (f" | plain loop {ref['seconds']:5.2f} s {n / ref['seconds']:>6,.0f} tweets/s "
                 f"peak {ref['peak_mb']:.0f} MB | {result['ratio']:4.1f}x "
                 f"(CPU time: {fast['cpu_s']:.1f} s vs {ref['cpu_s']:.1f} s, "
                 f"{result['cpu_ratio']:.1f}x)")
    result["load"] = load()
    print(f"{line} | load {result['load']}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,1000000",
                        help="tweet counts to run, comma-separated (default: %(default)s)")
    parser.add_argument("--tweets", type=int, help="one size only (same as --sizes N)")
    parser.add_argument("--quick", action="store_true", help="50,000 tweets")
    parser.add_argument("--formats", default="archive,jsonl,snscrape,csv",
                        help="inputs to run, of archive,jsonl,snscrape,csv (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sizes = ([50_000] if args.quick else [args.tweets] if args.tweets
             else [int(x.replace("_", "")) for x in args.sizes.split(",")])
    formats = args.formats.split(",")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {load()} at start")
    results = {"sizes": sizes, "runs": []}
    with tempfile.TemporaryDirectory(prefix="tweetlm-bench-") as tmp:
        scratch = Path(tmp)
        for n in sizes:
            for label in formats:
                raw = scratch / f"tweets-{n}.{SUFFIX[label]}"
                t0 = time.perf_counter()
                size = write_archive(raw, n, seed=0, layout=label)
                os.sync()  # its pages written back now, not while a timed side reads it
                print(f"wrote {n:,} tweets as {DESCRIBE[label]} ({size / 1e6:.0f} MB) in "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
                results["runs"].append(bench_pair(scratch, raw, label, n))
                raw.unlink()  # the 1M archive is 1.2 GB: one input on disk at a time
        summary(results["runs"])
    print(f"load average {load()} at the end (other work on this machine slows the 2-core "
          "tweetlm path more than the 1-core loop; CPU time is less affected)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def summary(runs: list[dict]) -> None:
    """Both ratios and both peaks per input and size; how filter's peak grows with the input."""
    print("\ninput    tweets     | wall ratio | CPU ratio | peak ingest / filter | load (1 min)")
    for r in runs:
        print(f"{r['label']:7s} {r['tweets']:>10,} | {r['ratio']:9.1f}x | {r['cpu_ratio']:8.1f}x | "
              f"{r['tweetlm']['ingest_peak_mb']:6.0f} / {r['tweetlm']['filter_peak_mb']:4.0f} MB   "
              f"| {r['load']}")
    for label in dict.fromkeys(r["label"] for r in runs):
        mine = sorted((r["tweets"], r["tweetlm"]) for r in runs if r["label"] == label)
        if len(mine) > 1:
            (small, a), (big, b) = mine[0], mine[-1]
            print(f"{label}: peak memory from {small:,} to {big:,} tweets ({big / small:.0f}x the "
                  f"input): ingest {a['ingest_peak_mb']:.0f} -> {b['ingest_peak_mb']:.0f} MB, "
                  f"filter {a['filter_peak_mb']:.0f} -> {b['filter_peak_mb']:.0f} MB")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
