"""The benchmark scripts still run: a change to what a stage writes must not break them
unseen (bench_data.py compared stats.json whole, and stopped with "stats differ" once filter
added `languages`)."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.project import ROOT


def test_bench_data_runs_every_input_and_agrees_with_the_plain_loop(tmp_path):
    out = tmp_path / "figures.json"
    script = ROOT / "benchmarks/bench_data.py"
    proc = subprocess.run([sys.executable, str(script), "--sizes", "2000", "--json", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = json.loads(out.read_text())["runs"]
    assert [r["label"] for r in runs] == ["archive", "jsonl", "snscrape", "csv"]
    for run in runs:  # the script stops unless both sides counted the same tweets
        assert run["tweets"] == 2000 and run["reference"]["stats"]["downloaded"] == 2000
        mine = run["tweetlm"]["stats"]
        assert {k: mine[k] for k in run["reference"]["stats"]} == run["reference"]["stats"]
        assert run["ratio"] > 0 and run["tweetlm"]["filter_peak_mb"] > 0


def test_big_archive_says_what_it_does_and_writes_what_it_says(tmp_path):
    script = str(ROOT / "benchmarks/big_archive.py")
    helped = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--tweets" in helped.stdout and "--jsonl" in helped.stdout
    out = tmp_path / "raw/tweets.jsonl"
    proc = subprocess.run([sys.executable, script, str(out), "--tweets", "50", "--jsonl"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 50 and all(json.loads(line)["id_str"] for line in lines)
    assert proc.stdout.strip() == f"big_archive: 50 tweets, {out.stat().st_size:,} bytes -> {out}"
