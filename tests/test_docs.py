"""The README and docs/ hold to the code, offline: every relative link and #anchor resolves,
every command in a `bash` block parses with the parser that will run it (tweetlm's own, DVC's,
the Makefile's targets, files that exist, params keys the params model takes), the README
starts with `make run` then `make test`, and reports/benchmarks/README.md is what
benchmarks/tables.py renders now. Commands are parsed, never run."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import shutil
import unicodedata
from pathlib import Path

import pytest

from helpers.project import ROOT

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                ROOT / "benchmarks/device/README.md", ROOT / "reports/benchmarks/README.md"])
FENCE = re.compile(r"^([ \t]*)(`{3,})(\w*)[^\n]*\n(.*?)^\1\2[ \t]*$", re.M | re.S)
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
# Programs a bash block may call; a name outside this list is a typo (`dcv repro`).
PROGRAMS = {"tweetlm", "dvc", "make", "python", "python3", "pytest", "bash", "torchrun", "git",
            "cp", "mkdir", "cd", "source", "printf", "xargs", "pip", "hf", "wandb", "apt-get",
            "ls", "parallel"}
SEPARATORS = {"&&", "||", ";", "|"}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def strip_code(text: str) -> str:
    """The text outside fenced blocks and inline code, where links are links."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the rendered text, lower case, punctuation dropped,
    spaces to hyphens (links keep their text, code its content)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    for line in strip_code(page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links() -> list[tuple[str, str]]:
    return [(rel(page), target) for page in PAGES
            for target in LINK.findall(strip_code(page.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:


def bash_blocks(page: Path) -> list[str]:
    return [re.sub(rf"^{m.group(1)}", "", m.group(4), flags=re.M)
            for m in FENCE.finditer(page.read_text(encoding="utf-8"))
            if m.group(3) in ("bash", "sh", "shell", "console")]


def commands(block: str) -> list[list[str]]:
    """Each simple command of a block, as words: continuation lines joined, comments
    dropped, split at && || ; |, leading VAR=value assignments dropped."""
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:  # an unclosed quote: the shell would not run it either
            found.append([f"<{e}>", line])
            continue
        current: list[str] = []
        for word in [*words, ";"]:
            if word in SEPARATORS:
                while current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", current[0]):
                    current.pop(0)
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
    return found


def all_commands() -> list[tuple[str, list[str]]]:
    return [(rel(page), words) for page in PAGES for block in bash_blocks(page)
            for words in commands(block)]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {t for t in re.findall(r"^([A-Za-z0-9_.$()/-]+)\s*:(?!=)", text, re.M)}


def parse_tweetlm(args: list[str]) -> str | None:
    """None when tweetlm's own parser takes `args`, else what it said."""
    from tweetlm.core.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(args)
    except SystemExit as e:
        if e.code not in (0, None):  # --help and --version exit 0
            return err.getvalue().strip().splitlines()[-1]
    return None


def parse_dvc(args: list[str]):
    """DVC's own parser's namespace for `args`, or the error it raised."""
    from dvc.cli import parse_args

    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            return parse_args(args)
    except (Exception, SystemExit) as e:  # DvcParserError; --help exits
        if isinstance(e, SystemExit) and e.code in (0, None):
            return None
        return e


def problem(words: list[str]) -> str | None:
    """What is wrong with one command, or None."""
    program, args = Path(words[0]).name, words[1:]
    if program not in PROGRAMS:
        return f"unknown program {words[0]!r}"
    if program in ("xargs", "parallel"):  # `... | xargs -P 2 -I{} dvc ...`: what it runs
        inner = next((i for i, w in enumerate(args) if w in ("dvc", "tweetlm")), None)
        return problem(args[inner:]) if inner is not None else "xargs runs no known command"
    if program == "tweetlm":
        return parse_tweetlm(args)
    if program == "dvc":
        parsed = parse_dvc(args)
        return f"dvc's parser: {parsed!r}" if isinstance(parsed, BaseException) else None
    if program == "make":
        missing = [a for a in args if not a.startswith("-") and "=" not in a
                   and a not in makefile_targets()]
        return f"no Makefile target {missing}" if missing else None
    if program in ("python", "python3", "torchrun"):
        if "-m" in args:
            module = args[args.index("-m") + 1]
            if importlib.util.find_spec(module) is None:
                return f"no module {module}"
            if module == "tweetlm.core.cli":
                return parse_tweetlm(args[args.index("-m") + 2:])
            return None
        script = next((a for a in args if a.endswith(".py")), None)
        if script is None:
            return f"{program} runs no script"
        return None if (ROOT / script).is_file() or "<" in script else f"no file {script}"
    if program in ("bash", "pytest"):  # bash: its script; pytest: every test path
        paths = [a for a in args if not a.startswith("-")][:1 if program == "bash" else None]
        missing = [p for p in paths if not (ROOT / p).exists()]
        return f"no file {missing}" if missing else None
    return None


def set_params() -> list[tuple[str, str]]:
    """Every `-S` of a `dvc exp run` in a bash block, as DVC's parser reads it."""
    found = []
    for page, words in all_commands():
        if words[:3] == ["dvc", "exp", "run"]:
            parsed = parse_dvc(words[1:])
            found += [(page, value) for value in (parsed.set_param or [])]
    return found


@pytest.mark.parametrize(("page", "target"), links(), ids=lambda v: v)
def test_every_relative_link_and_anchor_resolves(page, target):
    path, _, anchor = target.partition("#")
    file = (ROOT / page).parent / path if path else ROOT / page
    assert file.exists(), f"{page}: link to {target}: no such file"
    if anchor:
        assert file.suffix == ".md", f"{page}: anchor into a file that is no Markdown page"
        assert anchor in anchors(file), f"{page}: {target}: no such heading in {file.name}"


@pytest.mark.parametrize(("page", "words"), all_commands(), ids=lambda v: v if isinstance(
    v, str) else " ".join(v)[:60])
def test_every_command_in_a_bash_block_parses(page, words):
    assert problem(words) is None, f"{page}: `{shlex.join(words)}`: {problem(words)}"


@pytest.mark.parametrize(("page", "override"), set_params(), ids=lambda v: v)
def test_every_set_param_names_a_key_the_params_model_takes(page, override, tmp_path):
    from dvc.utils.hydra import apply_overrides

    from tweetlm.core.params import load_params

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    apply_overrides(str(tmp_path / "params.yaml"), [override])  # DVC: the key must exist
    load_params(tmp_path / "params.yaml")  # tweetlm: its type and range


def test_the_readme_starts_with_make_run_then_make_test():
    first = bash_blocks(ROOT / "README.md")[0]
    assert [" ".join(words) for words in commands(first)][:2] == ["make run", "make test"]


def test_every_page_is_linked_from_the_readme():
    linked = {target.partition("#")[0] for page, target in links() if page == "README.md"}
    assert {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} <= linked


def test_the_benchmark_tables_are_what_tables_py_renders_now():
    spec = importlib.util.spec_from_file_location("tables", ROOT / "benchmarks/tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    committed = (ROOT / "reports/benchmarks/README.md").read_text(encoding="utf-8")
    assert committed == tables.render(), "run: python benchmarks/tables.py"


# The checks themselves: each catches what it is for.

def test_the_checks_catch_a_misspelt_command_a_broken_link_and_an_unknown_key(tmp_path):
    assert problem(["tweetlm", "validat"]) and problem(["tweetlm", "train"])  # name missing
    assert problem(["dvc", "repor"]) and problem(["dvc", "exp", "run", "--no-such-flag"])
    assert problem(["dcv", "repro"]) and problem(["make", "rnu"])
    assert problem(["python", "benchmarks/bench_nothing.py"]) and problem(["bash", "x.sh"])
    assert problem(["printf", "a"]) is None and problem(["dvc", "repro", "train@alice"]) is None
    assert "inputs.md" not in {p.name for p in (ROOT / "docs").glob("nothing*.md")}
    assert "which-tool-gives-which-file" in anchors(ROOT / "docs/inputs.md")
    assert "which-tool-gives-no-file" not in anchors(ROOT / "docs/inputs.md")
    assert slug("Meet the bots: `tweetlm serve` and the static page") == \
        "meet-the-bots-tweetlm-serve-and-the-static-page"
    assert slug("An S3 remote (AWS, MinIO, SeaweedFS, Ceph, R2, ...)") == \
        "an-s3-remote-aws-minio-seaweedfs-ceph-r2-"
    assert commands("A=1 B=2 bash x.sh && \\\n  dvc push  # comment\nmake run | cat") == \
        [["bash", "x.sh"], ["dvc", "push"], ["make", "run"], ["cat"]]
    from dvc.utils.hydra import apply_overrides

    from tweetlm.core.params import ParamError, load_params

    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    apply_overrides(str(tmp_path / "params.yaml"), ["+filter.min_wrds=5"])
    with pytest.raises(ParamError, match="min_wrds"):
        load_params(tmp_path / "params.yaml")
