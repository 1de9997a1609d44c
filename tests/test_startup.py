"""Fixed costs cut from the stages' start (benchmarks/bench_train.py's e2e breakdown measured
them): each stage imports only what it uses, and each cut changes no result."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.project import ROOT
from helpers.tinymodel import tiny_tokenizer, tweets
from tweetlm.core import layout


def imported_after(code: str, cwd, *modules: str) -> dict:
    """Which of `modules` a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1",
                                          "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.splitlines()[-1])


def test_a_named_tokenizer_loads_without_torch_and_as_autotokenizer_does(tmp_path):
    from transformers import AutoTokenizer

    from tweetlm.shared import pretrained

    tiny_tokenizer().save_pretrained(tmp_path)  # tokenizer_config.json: GPT2Tokenizer
    got = pretrained.load_tokenizer(tmp_path)
    want = AutoTokenizer.from_pretrained(tmp_path)
    assert type(got) is type(want) and got.eos_token_id == want.eos_token_id
    for text in [*tweets(50, seed=3), "Hello @world, #tweets 🙂 https://t.co/x\n<|endoftext|>"]:
        assert got(text)["input_ids"] == want(text)["input_ids"]
    code = f"from pathlib import Path\nfrom tweetlm.shared import pretrained\npretrained.load_tokenizer(Path({str(tmp_path)!r}))"
    assert imported_after(code, tmp_path, "torch") == {"torch": False}


def test_train_reads_tokenized_data_without_datasets_or_pandas(tmp_path):
    import numpy as np
    import pyarrow as pa

    from tweetlm.train.data import load

    rows = [[1, 2, 3], [4, 5], [6, 7, 8, 9]] * 20
    (tmp_path / "tok").mkdir()
    for split, values in {"train": rows, "validation": [[1, 2, 3, 4], [5, 6]]}.items():
        # the format tokenize's docstring states: an Arrow IPC file, input_ids list<int32>
        table = pa.table({"input_ids": pa.array(values, pa.list_(pa.int32()))})
        with pa.ipc.new_file(str(layout.split_file(tmp_path / "tok", split)), table.schema) as w:
            w.write_table(table)
    tweets_, val = load(tmp_path / "tok", 4, 0)
    assert np.array_equal(tweets_.values, np.concatenate([np.array(r) for r in rows]))
    assert [v.tolist() for v in val] == [[1, 2, 3, 4], [5, 6]]
    code = f"from pathlib import Path\nfrom tweetlm.train.data import load\nload(Path({str(tmp_path / 'tok')!r}), 4, 0)"
    assert imported_after(code, tmp_path, "datasets", "pandas") == {"datasets": False,
                                                                   "pandas": False}


def test_loss_plots_are_written_without_dvclive(tmp_path):
    code = ("from pathlib import Path\nfrom tweetlm.train.save import save_plots\n"
            "save_plots([{'step': 0, 'eval_loss': 2.5}, {'step': 1, 'loss': 2.0, "
            "'learning_rate': 0.1}], Path('plots'))")
    assert imported_after(code, tmp_path, "dvclive", "dvc") == {"dvclive": False, "dvc": False}
    assert (tmp_path / "plots/train/loss.tsv").read_text() == "step\tloss\n1\t2.0\n"
    assert (tmp_path / "plots/eval/loss.tsv").read_text() == "step\tloss\n0\t2.5\n"


def test_ingest_and_filter_run_without_pandas(tmp_path):
    """pyarrow imports pandas (0.2-0.3 s, most of either stage's work on the sample) on its
    first conversion of a NumPy array or a Python value; ingest and filter convert through
    tweetlm.core.arrays instead. The CLI stages on the sample (every raw format, a zip), then
    the real-shaped dumps and archives, through both stages' code: pandas is never loaded."""
    import shutil

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")  # handles: [sample]
    real = ROOT / "tests/data/real"
    folders = [real / "api", real / "archive-2020", real / "archive-grailbird", real / "archive-ja",
               *(real / "scrapers" / f for f in ("snscrape", "graphql", "twint", "csv", "apify",
                                                  "twitter-web-exporter", "archive-2024"))]
    code = ("from tweetlm.core.cli import main\nfrom tweetlm import filter, ingest\n"
            "for argv in (['sample'], ['ingest', 'sample'], ['filter', 'sample']):\n"
            "    assert main(argv) == 0, argv\n"
            f"for folder in {[str(f) for f in folders]!r}:\n"
            "    table, _ = ingest.ingest(folder, 64)\n"
            "    for keep_newlines in (False, True):\n"
            "        kept, stats = filter.filter_tweets(table, 3, keep_newlines)\n"
            "        assert stats['kept'] == kept.num_rows > 0, folder")
    assert imported_after(code, tmp_path, "pandas") == {"pandas": False}
    assert json.loads((tmp_path / layout.bot("sample").stats).read_text())["kept"] > 2000


def test_arrays_convert_as_pyarrow_does():
    """tweetlm.core.arrays gives what pa.array, pa.scalar and to_numpy give, slices and nulls
    included."""
    import numpy as np
    import pyarrow as pa

    from tweetlm.core import arrays

    rng = np.random.default_rng(0)
    flags, numbers = rng.random(1001) > 0.5, rng.integers(-2**62, 2**62, 1001)
    valid = rng.random(1001) > 0.2
    assert arrays.bools(flags).equals(pa.array(flags))
    assert arrays.ints(numbers).equals(pa.array(numbers, pa.int64()))
    assert arrays.ints(numbers, valid=valid).equals(pa.array(numbers, pa.int64(), mask=~valid))
    small = numbers % 1000
    assert arrays.ints(small, pa.int32()).equals(pa.array(small, pa.int32()))
    texts = ["", "a", "héllo 🙂", "x" * 300]
    assert arrays.strings(texts).equals(pa.array(texts))
    for value, type_ in [("", pa.string()), ("RT @", pa.large_string()), (False, pa.bool_()),
                         (19, pa.int32()), (None, pa.int64()), (None, pa.string())]:
        assert arrays.scalar(value, type_).equals(pa.scalar(value, type_))
    for array in (pa.array(flags), pa.array(numbers), pa.array(small, pa.int32())):
        for part in (array, array.slice(3), array.slice(5, 17), array.slice(0, 0)):
            assert np.array_equal(arrays.to_numpy(part), part.to_numpy(zero_copy_only=False))
    chunked = pa.chunked_array([pa.array(flags[:10]), pa.array(flags[10:])])
    assert np.array_equal(arrays.to_numpy(chunked), flags)
