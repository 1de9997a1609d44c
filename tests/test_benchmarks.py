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


def test_bench_repro_stub_commands_write_every_out_the_next_stages_read(tmp_path):
    """bench_repro.py scale runs the generator's stages with stub commands: run in order from
    a project root, each writes every out of its stage (and the files of a folder out that a
    later stage reads), and a changed raw file changes every output downstream."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_repro", ROOT / "benchmarks/bench_repro.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    stages = bench.stubbed(bench.pipelines.handle_stages("alice"))
    assert list(stages) == list(bench.STAGES)
    assert all("${" not in s["cmd"] for s in stages.values())  # dvc.yaml would interpolate it
    assert "foreach: ${handles}" in bench.old_layout_yaml(ROOT)

    def build(raw: str) -> dict:
        (tmp_path / "data/raw/alice").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data/raw/alice/tweets.json").write_text(raw)
        for stage in stages:
            stamp = tmp_path / bench.layout.params_stamp(stage, "alice")
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text("{}")
        for name, stage in stages.items():
            for dep in (d for d in stage["deps"] if not d.startswith("src/")):
                assert (tmp_path / dep).exists(), f"{name}: {dep} missing"
            subprocess.run(["sh", "-c", stage["cmd"]], cwd=tmp_path, check=True)
            for out in bench.outs_of(stage):
                assert (tmp_path / out).exists(), f"{name}: {out} not written"
        return {p: (tmp_path / p).read_text() for p in bench.outs_of(stages["gallery"])}

    assert build("one") != build("two")
