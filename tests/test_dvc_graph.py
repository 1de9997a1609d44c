"""dvc.yaml's deps and params are exact: proved from the code, not restated by hand.

A stage's src/tweetlm deps must be exactly the code running it imports (a missing one means
an edit does not rerun it; an extra one means needless reruns), and its params exactly the
params.yaml keys its code reads: layout.STAGE_PARAMS, which `validate` writes to the stamp
reports/params/<stage>.json that the stage depends on instead of `params:`. Code is named in
dvc.yaml by file or folder: every stage depends on the shared core (the folder
src/tweetlm/core), and on each other tweetlm module it imports by its .py file, or, for a
module inside a package, by the package's folder (src/tweetlm/ingest: any file in it); never
on src/tweetlm/__init__.py, which holds the version only (checked here). Stages are resolved
by DVC itself (foreach expanded), and the imports are found twice: statically, by walking
every import statement (function-level ones included) from the stage module, and, for the
data stages, dynamically, by running the stage and listing the tweetlm modules loaded.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from helpers.params import shipped_raw
from helpers.project import ROOT, clone, copy_project, stage_address as address
from tweetlm.core import layout


SAMPLE = {stage: layout.stage_id(stage, layout.SAMPLE_HANDLE) for stage in layout.HANDLE_STAGES}

# DVC's own graph code warns about pygtrie internals; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value:DeprecationWarning")

SRC = ROOT / "src" / "tweetlm"
# Stage -> the module its command runs (validate is cli.py itself).
STAGE_MODULES = {
    "validate": "validate", "sample": "sample", "ingest": "ingest", "filter": "filter",
    "tokenize": "tokenize", "train": "train", "predict": "predict", "card": "card",
    "gallery": "gallery", "gallery-page": "gallery",
}
# Params that are not a stage's input: `handles`/`bots` shape the graph (foreach) itself, and
# `wandb` only says where a stage logs metrics, never what it writes (a stage whose outputs do
# show it, like the card, declares it and is checked like any other).
STRUCTURAL = {"handles", "bots", "bot_handles", "overrides", "for_name"}
OUTPUT_NEUTRAL = {"wandb"}
# The stage modules: a stage's entry point is `main(name, params)` in its module's top level.
STAGE_PACKAGES = {f"tweetlm.{m}" for m in STAGE_MODULES.values() if m}
# The core's params module reads keys only to validate them (every stage loads params.yaml
# through it), which the `validate` stage covers: it depends on the whole file.
VALIDATION = {"tweetlm.core.params"}


def module_file(module: str) -> Path:
    parts = module.split(".")[1:]
    if not parts:
        return SRC / "__init__.py"
    path = SRC.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def module_exists(module: str) -> bool:
    return module_file(module).is_file()


def dep_of(module: str) -> str | None:
    """The dvc.yaml dep that covers a tweetlm module: a top-level module -> its .py file,
    anything in a package (tweetlm.core.cli, tweetlm.ingest, tweetlm.ingest.parse) -> the
    package's folder (src/tweetlm/core, src/tweetlm/ingest); `tweetlm` itself -> none (its
    __init__.py holds the version only, see test_the_package_init_holds_the_version_only).
    In the shared/ folder each module is its own dep (tweetlm.shared.text ->
    src/tweetlm/shared/text.py): it holds modules that several stages use one by one."""
    parts = module.split(".")[1:]
    if not parts or parts == ["shared"]:  # __init__.py files that hold a docstring only
        return None
    if parts[0] == "shared":
        parts = parts[:2]
    else:
        parts = parts[:1]
    top = SRC.joinpath(*parts)
    return (top if top.is_dir() else top.with_suffix(".py")).relative_to(ROOT).as_posix()


def deps_of(modules: set[str]) -> set[str]:
    return {dep_of(m) for m in modules} - {None}


def test_dep_of_maps_modules_to_files_and_package_folders():
    assert dep_of("tweetlm") is None
    assert dep_of("tweetlm.core") == dep_of("tweetlm.core.cli") == "src/tweetlm/core"
    assert dep_of("tweetlm.filter") == "src/tweetlm/filter.py"
    assert dep_of("tweetlm.ingest") == dep_of("tweetlm.ingest.anything") == "src/tweetlm/ingest"
    assert dep_of("tweetlm.shared.text") == "src/tweetlm/shared/text.py"
    assert dep_of("tweetlm.shared") is None


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under `if TYPE_CHECKING:`, which never run."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


@cache
def direct_imports(module: str) -> frozenset[str]:
    """tweetlm modules `module` imports anywhere in its code (module or function level)."""
    tree = ast.parse(module_file(module).read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = module if module_file(module).name == "__init__.py" else module.rpartition(".")[0]
    found = set()

    def add(name: str) -> None:
        if name == "tweetlm" or name.startswith("tweetlm."):
            found.add(name)

    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            add(base)
            for alias in node.names:  # `from tweetlm import tracking` imports a module
                if module_exists(f"{base}.{alias.name}"):
                    add(f"{base}.{alias.name}")
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module")
              and node.args and isinstance(node.args[0], ast.Constant)):
            add(node.args[0].value)
    # importing tweetlm.x runs tweetlm/__init__.py first
    return frozenset(found | {".".join(m.split(".")[:i]) for m in found
                              for i in range(1, m.count(".") + 1)})


def import_closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(direct_imports(m))
    return seen


# --- what DVC resolves ---

@pytest.fixture(scope="module")
def stages() -> dict:
    """Stage (`handles/sample/dvc.yaml:filter`) -> {name: `filter`, src deps, params}, as DVC
    resolves the root dvc.yaml and every generated pipeline file."""
    from dvc.repo import Repo

    with Repo(str(ROOT)) as repo:
        resolved = {}
        for stage in repo.index.stages:
            deps = [d.def_path for d in stage.deps if type(d).__name__ != "ParamsDependency"]
            resolved[address(stage)] = {
                "name": stage.name.split("@")[0],
                "src": {d for d in deps if d.startswith("src/tweetlm/")},
                "params": {(p.def_path, key) for p in stage.params for key in (p.params or [""])},
            }
    return resolved


def instances(stages: dict, name: str) -> list[dict]:
    found = [s for s in stages.values() if s["name"] == name]
    assert found, f"dvc.yaml has no stage {name!r}"
    return found


def require_module(name: str) -> None:
    module = STAGE_MODULES[name]
    if module and not module_exists(f"tweetlm.{module}"):
        pytest.skip(f"tweetlm.{module} does not exist yet: nothing to check for {name!r}")


def code_deps(stage: dict) -> set[str]:
    """A stage's deps that are code: .py files and package folders under src/tweetlm."""
    return {d for d in stage["src"] if d.endswith(".py") or (ROOT / d).is_dir()}


# --- the tweetlm modules the CLI itself loads for a command ---

PROBE = r"""
import json, sys, types
stage, args = sys.argv[1], sys.argv[2:]
if True:  # the stage's own code is what the static walk covers
    stub = types.ModuleType(f"tweetlm.{stage}")
    stub.main = lambda *a, **k: None
    sys.modules[stub.__name__] = stub
from tweetlm.core.cli import main
status = main([stage, *args])
loaded = [m for m in sys.modules if m.split(".")[0] == "tweetlm" and m != f"tweetlm.{stage}"]
print(json.dumps({"status": status, "modules": sorted(loaded)}))
"""


@pytest.fixture(scope="module")
def cli_modules(tmp_path_factory):
    """stage -> tweetlm modules `tweetlm STAGE NAME` loads besides the stage module itself."""
    work = tmp_path_factory.mktemp("cli")
    shutil.copy(ROOT / "params.yaml", work / "params.yaml")
    handle = yaml.safe_load((ROOT / "params.yaml").read_text())["handles"][0]

    @cache
    def probe(stage: str) -> set[str]:
        args = {"sample": ["--out", str(work / "raw")], "validate": [],
                "gallery-page": []}.get(stage, [handle])
        proc = subprocess.run([sys.executable, "-c", PROBE, stage, *args], cwd=work,
                              capture_output=True, text=True, env=_env())
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["status"] == 0, proc.stderr
        return set(result["modules"])

    return probe


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


# --- the checks ---

STAGE_NAMES = list(STAGE_MODULES)


@pytest.mark.parametrize("name", STAGE_NAMES, ids=STAGE_NAMES)
def test_every_stage_depends_on_the_core_not_the_package_init(name, stages):
    for stage in instances(stages, name):
        assert "src/tweetlm/core" in stage["src"] and "src/tweetlm/__init__.py" not in stage["src"]


def test_the_package_init_holds_the_version_only():
    """Why no stage depends on src/tweetlm/__init__.py although every stage imports it: it
    holds a docstring and __version__, which no stage writes into an output (the card does not
    quote it), so bumping the version for a release reruns nothing. Code added there would
    run in every stage unseen by DVC: this fails first."""
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    doc, *rest = tree.body
    assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
    assert [ast.unparse(n).split(" = ")[0] for n in rest] == ["__version__"]
    assert isinstance(rest[0], ast.Assign) and isinstance(rest[0].value, ast.Constant)
    users = sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
                   if re.search(r"tweetlm\.__version__|import __version__", p.read_text()))
    assert users == ["core/cli.py"]  # `tweetlm --version`: nothing a stage writes


def test_the_shared_folder_init_holds_a_docstring_only():
    """shared/__init__.py is imported by every stage that uses a shared module, and no stage
    depends on it (each depends on the shared modules it imports): code there would run unseen."""
    tree = ast.parse((SRC / "shared" / "__init__.py").read_text(encoding="utf-8"))
    assert len(tree.body) == 1 and isinstance(tree.body[0].value, ast.Constant)


@pytest.mark.parametrize("name", STAGE_NAMES, ids=STAGE_NAMES)
def test_src_deps_are_exactly_the_modules_the_stage_imports(name, stages, cli_modules):
    require_module(name)
    module = STAGE_MODULES[name]
    modules = cli_modules(name) | (import_closure(f"tweetlm.{module}") if module else set())
    expected = deps_of(modules)
    for stage in instances(stages, name):
        declared = code_deps(stage)
        assert declared == expected, (
            f"{name}: dvc.yaml lists {sorted(declared - expected)} that it does not import and "
            f"misses {sorted(expected - declared)} that it does"
        )


@pytest.mark.parametrize("name", STAGE_NAMES, ids=STAGE_NAMES)
def test_no_stage_imports_another_stage(name):
    """What two stages share lives in a shared module (text rules, pretrained, tracking...),
    so an edit to one stage's code reruns no other stage."""
    require_module(name)
    module = STAGE_MODULES[name]
    if not module:
        return
    own = f"tweetlm.{module}"
    others = {m for m in import_closure(own) if not (m == own or m.startswith(own + "."))
              and ".".join(m.split(".")[:2]) in STAGE_PACKAGES}
    assert not others, f"{name} imports the stage module(s) {sorted(others)}"


@pytest.mark.parametrize("name", STAGE_NAMES, ids=STAGE_NAMES)
def test_non_python_src_deps_are_read_by_the_stage(name, stages):
    """A data file under src/tweetlm outside the stage's package folders (a template, a
    font) is a dep only if the stage's code names it."""
    require_module(name)
    module = STAGE_MODULES[name]
    code = "".join(module_file(m).read_text() for m in import_closure(f"tweetlm.{module}")) \
        if module else ""
    for stage in instances(stages, name):
        for dep in stage["src"] - code_deps(stage):
            assert (ROOT / dep).exists(), f"{name}: dep {dep} does not exist"
            assert Path(dep).name in code, f"{name}: dep {dep} is not read by its code"


def params_read(modules: set[str], stage: str | None = None) -> set[str]:
    """Dotted params.yaml keys the modules' code reads when `stage` (a stage module) runs:
    another stage's module it would import for a helper (none does: see
    test_no_stage_imports_another_stage) never has its entry point `main` called, so what
    that `main` reads is not counted."""
    def own(m: str) -> bool:
        return stage is None or m == stage or m.startswith(stage + ".")

    keys = set().union(*(params_read_in(module_file(m).read_text(encoding="utf-8"),
                                        skip_main=not own(m) and m in STAGE_PACKAGES)
                         for m in modules - VALIDATION))
    # keep the longest chains only: `params.train.block_size` also walks `params.train`
    return {k for k in keys if not any(o.startswith(k + ".") for o in keys)
            and k.split(".")[0] not in STRUCTURAL}


def params_read_in(code: str, skip_main: bool = False) -> set[str]:
    """`params.train.block_size` -> 'train.block_size', `asdict(params.model)` -> 'model', on
    any name called `params` or annotated `Params` (outside a top-level `main` if `skip_main`)."""
    tree = ast.parse(code)
    if skip_main:
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "main")]
    roots = {"params"} | {
        a.arg for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
        for a in f.args.args + f.args.kwonlyargs
        if a.annotation is not None and ast.unparse(a.annotation) == "Params"
    }
    keys = set()
    for node in ast.walk(tree):
        chain, inner = [], node
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        if chain and isinstance(inner, ast.Name) and inner.id in roots:
            keys.add(".".join(reversed(chain)))
    return keys


def params_mismatch(read: set[str], declared: set[str]) -> tuple[set[str], set[str]]:
    """(keys read but not declared, declared keys never read). A declared section covers the
    keys in it; a key read wholesale (`asdict(params.model)`) needs its whole section."""
    missing = {k for k in read if k.split(".")[0] not in OUTPUT_NEUTRAL
               and not any(k == d or k.startswith(d + ".") for d in declared)}
    unused = {d for d in declared
              if not any(k == d or k.startswith(d + ".") or d.startswith(k + ".") for k in read)}
    return missing, unused


def test_params_checker_on_known_code():
    code = ("def main(name, params):\n    p = params.predict\n    x = params.train.block_size\n"
            "    y = asdict(params.model)\n    params.bot_handles(name)\n"
            "def other(cfg: Params):\n    return cfg.card.display_names.get('a')\n")
    read = params_read_in(code)
    assert {"predict", "train.block_size", "model", "card.display_names.get"} <= read
    filter_reads = {"filter.min_words", "filter.keep_newlines", "wandb.mode"}
    assert params_mismatch(filter_reads, {"filter"}) == (set(), set())
    assert params_mismatch(filter_reads, {"filter", "train"}) == (set(), {"train"})
    assert params_mismatch(filter_reads, {"filter.min_words"}) == ({"filter.keep_newlines"}, set())
    assert params_mismatch({"model"}, {"model.base"}) == ({"model"}, set())


PARAM_STAGES = list(layout.STAGE_PARAMS)


@pytest.mark.parametrize("name", PARAM_STAGES, ids=PARAM_STAGES)
def test_params_are_exactly_what_the_code_reads(name):
    require_module(name)
    stage_module = f"tweetlm.{STAGE_MODULES[name]}"
    read = params_read(import_closure(stage_module), stage_module)
    declared = set(layout.STAGE_PARAMS[name])
    missing, unused = params_mismatch(read, declared)
    assert not missing and not unused, (
        f"{name}: code reads {sorted(missing)} that layout.STAGE_PARAMS does not list; "
        f"it lists {sorted(unused)} that the code never reads"
    )


@pytest.mark.parametrize("name", STAGE_NAMES, ids=STAGE_NAMES)
def test_only_validate_reads_params_yaml(name, stages):
    """validate reads all of params.yaml; every other stage lists no `params:`, so DVC parses
    params.yaml once per run. That each depends on its own stamp, and that validate writes
    them all, tests/test_layout.py holds with every other dep and out."""
    for stage in [s for s in stages.values() if s["name"].removeprefix("bot-") == name]:
        expected = {("params.yaml", "")} if name == "validate" else set()
        assert stage["params"] == expected, f"{name}: {stage['params']}"


def test_data_stages_read_their_own_section_only():
    for name in ("ingest", "filter"):
        assert layout.STAGE_PARAMS[name] == (name,)


# --- dynamic: run the data stages and list what they loaded ---

RUN_AND_LIST = r"""
import atexit, json, sys
def dump():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] == "tweetlm")
    with open(sys.argv[1], "w") as f:
        json.dump(loaded, f)
atexit.register(dump)
from tweetlm.core.cli import main
sys.exit(main(sys.argv[2:]))
"""

V1_TWEETS = [
    {"id_str": "1001", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
     "full_text": "a tweet with enough words &amp; a link https://t.co/x", "lang": "en"},
    {"id_str": "1002", "created_at": "Wed Oct 10 21:19:24 +0000 2018",
     "full_text": "RT @other: not mine", "retweeted_status": {"id_str": "1"}, "lang": "en"},
    {"id_str": "1003", "created_at": "Wed Oct 10 22:19:24 +0000 2018",
     "full_text": "too short", "lang": "en"},
]


@pytest.fixture(scope="module")
def data_stage_runs(tmp_path_factory) -> tuple[Path, dict]:
    """Run validate, ingest, filter and sample for real on a tiny handle: for each command its
    exit status, stderr and the tweetlm modules it loaded (None if its module is missing)."""
    work = tmp_path_factory.mktemp("run")
    params = shipped_raw() | {"handles": ["someone"]}
    params["filter"]["min_kept_chars"] = 0  # three tweets are enough to run it
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    raw = work / "data/raw/someone"
    raw.mkdir(parents=True)
    (raw / "tweets.json").write_text(json.dumps(V1_TWEETS))
    subprocess.run([sys.executable, "-m", "tweetlm.core.cli", "sync"], cwd=work, check=True,
                   env=_env(), capture_output=True)  # the pipeline files validate checks
    commands = {"validate": ["validate"], "ingest": ["ingest", "someone"],
                "filter": ["filter", "someone"],
                "sample": ["sample", "--out", "data/raw/sample", "--tweets", "200"]}
    loaded = {}
    for name, command in commands.items():
        module = STAGE_MODULES[name]
        if module and not module_exists(f"tweetlm.{module}"):
            loaded[name] = None
            continue
        dump = work / f"{name}.modules.json"
        proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(dump), *command],
                              cwd=work, capture_output=True, text=True, env=_env())
        loaded[name] = proc.returncode, proc.stderr, deps_of(set(json.loads(dump.read_text())))
    return work, loaded


DATA_STAGES = ["validate", "sample", "ingest", "filter"]


@pytest.mark.parametrize("name", DATA_STAGES, ids=DATA_STAGES)
def test_running_a_data_stage_loads_exactly_its_deps(name, data_stage_runs, stages):
    work, runs = data_stage_runs
    require_module(name)
    returncode, stderr, loaded = runs[name]
    assert returncode == 0, stderr
    if name == "filter":  # it really ran: it kept the one tweet neither a retweet nor short
        stats = json.loads((work / "reports/someone/stats.json").read_text())
        assert stats == {"downloaded": 3, "retweets": 1, "short": 1, "kept": 1,
                         "languages": {"en": 1}}
        kept = pq.read_table(work / "data/processed/someone/tweets.parquet")
        assert kept.column("text").to_pylist() == ["a tweet with enough words & a link"]
    for stage in instances(stages, name):
        declared = code_deps(stage)
        assert declared == loaded, (
            f"{name}: dvc.yaml lists {sorted(declared - loaded)} that a run does not "
            f"load and misses {sorted(loaded - declared)} that it does"
        )


@pytest.fixture(scope="module")
def predict_run(tmp_path_factory) -> tuple[int, str, set[str]]:
    """`tweetlm predict someone` run for real on a tiny random model: its exit status, stderr
    and the tweetlm modules it loaded."""
    from helpers.tinymodel import save_tiny_gpt2

    work = tmp_path_factory.mktemp("predict")
    params = shipped_raw() | {"handles": ["someone"]}
    params["predict"] |= {"prompts": ["Hello"], "num_sequences": 2, "max_length": 16}
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    paths = layout.bot("someone")
    save_tiny_gpt2(work / paths.model, n_positions=32)
    (work / paths.train_tweets).parent.mkdir(parents=True)
    (work / paths.train_tweets).write_text(json.dumps(["hello there, a training tweet"]))
    dump = work / "predict.modules.json"
    proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST, str(dump), "predict", "someone"],
                          cwd=work, capture_output=True, text=True, env=_env())
    return proc.returncode, proc.stderr, set(json.loads(dump.read_text()))


def test_running_predict_loads_exactly_its_deps_and_no_filter_code(predict_run, stages):
    """predict's memorization check cleans text by the filter's rules, from the shared
    tweetlm.shared.text: a run loads no filter code, so an edit to the filter reruns no predict."""
    returncode, stderr, loaded = predict_run
    assert returncode == 0, stderr
    assert "tweetlm.shared.text" in loaded and "tweetlm.filter" not in loaded
    for stage in instances(stages, "predict"):
        declared = code_deps(stage)
        assert declared == deps_of(loaded), (
            f"predict: dvc.yaml lists {sorted(declared - deps_of(loaded))} that a run does not "
            f"load and misses {sorted(deps_of(loaded) - declared)} that it does")


# --- an edit reruns exactly the stages that depend on it ---

@pytest.fixture(scope="module")
def data_built(tmp_path_factory):
    """A project copy where the data stages ran and are up to date (shared, never modified)."""
    project = copy_project(tmp_path_factory.mktemp("edits") / "project")
    targets = ["validate", "sample", SAMPLE["ingest"], SAMPLE["filter"]]
    project.dvc("repro", *targets)
    assert json.loads(project.dvc("status", "--json", *targets).stdout) == {}
    return project


def a_module_in(package: Path) -> Path:
    """A file of the package's own code below its __init__.py, if it has one."""
    inner = sorted(p for p in package.rglob("*.py") if p.name != "__init__.py")
    return inner[0] if inner else package / "__init__.py"


# what is edited -> (the file in the project; the dep that covers it; the stage importing it,
# None for every stage)
EDITS = {
    "module-file": (lambda root: root / "src/tweetlm/filter.py", "src/tweetlm/filter.py",
                    "filter"),
    "file-in-a-stage-package": (lambda root: a_module_in(root / "src/tweetlm/ingest"),
                                "src/tweetlm/ingest", "ingest"),
    "file-in-the-core": (lambda root: root / "src/tweetlm/core/layout.py", "src/tweetlm/core",
                         None),
}


@pytest.mark.parametrize("case", EDITS, ids=list(EDITS))
def test_an_edit_changes_only_its_stages_and_downstream(case, data_built, tmp_path):
    """DVC's own status after an edit names the dep that covers the edited file, for the stages
    that import it and only for those and the stages downstream of them."""
    project = clone(data_built, tmp_path / "project")
    edited, dep, name = EDITS[case]
    path = edited(project.root)
    path.write_text(path.read_text() + "\n# an edit\n")
    changed = json.loads(project.dvc("status", "--json").stdout)

    from dvc.repo import Repo
    import networkx as nx

    with Repo(str(project.root)) as repo:
        graph = repo.index.graph
        importing = [s for s in repo.index.stages if name in (None, s.name)]
        downstream = {address(s) for f in importing for s in nx.ancestors(graph, f)}
        upstream = {address(s) for f in importing for s in nx.descendants(graph, f)} - downstream
        importing = {address(s) for s in importing}
    allowed = importing | downstream
    # up to date before the edit
    ran = {"validate", "sample", SAMPLE["ingest"], SAMPLE["filter"]}
    for stage in ran & importing:
        assert _changed_deps(changed.get(stage, [])).get(dep) == "modified", (stage, changed)
    assert set(changed) <= allowed, f"not downstream of {name}: {sorted(set(changed) - allowed)}"
    assert not (upstream - importing) & set(changed)
    if name:  # what ran before and does not depend on the edited code stays up to date
        assert ran - allowed and not (ran - allowed) & set(changed), (ran - allowed, changed)


def _changed_deps(entries: list) -> dict:
    deps = {}
    for entry in entries:
        if isinstance(entry, dict):
            deps.update(entry.get("changed deps", {}))
    return deps


# what is edited after a whole build -> the stages DVC's status must then list (no others)
AFTER_A_BUILD = {
    "src/tweetlm/filter.py": {SAMPLE["filter"]},  # its Arrow code: no predict, no card
    "src/tweetlm/shared/text.py": {SAMPLE["filter"], SAMPLE["predict"]},  # the rules both apply
}


@pytest.mark.slow
@pytest.mark.parametrize("edited", AFTER_A_BUILD, ids=list(AFTER_A_BUILD))
def test_after_a_build_an_edit_to_the_filter_reruns_no_predict(edited, planted, tmp_path):
    """DVC's own records after the whole pipeline ran: an edit to the filter's code lists the
    filter stage alone (its outputs, and so what tokenize reads, change only if it reruns and
    writes other ones); an edit to the shared text rules lists the filter and predict."""
    project = clone(planted.reference, tmp_path / "project")
    assert json.loads(project.dvc("status", "--json").stdout) == {}
    path = project.root / edited
    path.write_text(path.read_text() + "\n# an edit\n")
    changed = json.loads(project.dvc("status", "--json").stdout)
    assert set(changed) == AFTER_A_BUILD[edited], changed
    for stage in changed:
        assert _changed_deps(changed[stage]) == {edited: "modified"}, (stage, changed)
