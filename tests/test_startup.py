"""Fixed costs cut from the stages' start (benchmarks/bench_train.py's e2e breakdown measured
them): each stage imports only what it uses, and each cut changes no result."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.project import ROOT
from helpers.tinymodel import tiny_tokenizer, tweets


def imported_after(code: str, cwd, *modules: str) -> dict:
    """Which of `modules` a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1",
                                          "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.splitlines()[-1])


def test_a_named_tokenizer_loads_without_torch_and_as_autotokenizer_does(tmp_path):
    from transformers import AutoTokenizer

    from tweetlm import pretrained

    tiny_tokenizer().save_pretrained(tmp_path)  # tokenizer_config.json: GPT2Tokenizer
    got = pretrained.load_tokenizer(tmp_path)
    want = AutoTokenizer.from_pretrained(tmp_path)
    assert type(got) is type(want) and got.eos_token_id == want.eos_token_id
    for text in [*tweets(50, seed=3), "Hello @world, #tweets 🙂 https://t.co/x\n<|endoftext|>"]:
        assert got(text)["input_ids"] == want(text)["input_ids"]
    code = f"from pathlib import Path\nfrom tweetlm import pretrained\npretrained.load_tokenizer(Path({str(tmp_path)!r}))"
    assert imported_after(code, tmp_path, "torch") == {"torch": False}


def test_train_reads_tokenized_data_without_datasets_or_pandas(tmp_path):
    import datasets
    import numpy as np

    from tweetlm.train.data import load

    rows = [[1, 2, 3], [4, 5], [6, 7, 8, 9]] * 20
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"input_ids": rows}),
        "validation": datasets.Dataset.from_dict({"input_ids": [[1, 2, 3, 4], [5, 6]]}),
    }).save_to_disk(str(tmp_path / "tok"))
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


def test_predict_seeds_as_transformers_does():
    import random

    import numpy as np
    import torch
    from transformers import set_seed as hf_set_seed

    from tweetlm.predict import set_seed

    draws = []
    for seed_fn in (hf_set_seed, set_seed):
        seed_fn(42)
        draws.append((random.random(), np.random.rand(), torch.rand(3).tolist()))
    assert draws[0] == draws[1]
