"""pyproject.toml lists what src/tweetlm imports: every third-party module the code imports
comes from a listed dependency, and every listed dependency is imported, but for the tools
the pipeline runs rather than imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from helpers.project import ROOT

# Listed, never imported: DVC runs the pipeline (`dvc repro`); its C YAML loader speeds it up.
RUN_NOT_IMPORTED = {"dvc", "ruamel-yaml-clib"}


def canonical(name: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def listed() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonical(re.split(r"[<>=!~;\[ ]", req, 1)[0]) for req in project["dependencies"]}


def imported_modules(folder) -> set[str]:
    """The top-level modules the code under `folder` imports (module or function level),
    standard library and its own package aside."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__", "tweetlm"}


def test_the_walk_finds_imports_at_any_level(tmp_path):
    (tmp_path / "m.py").write_text("import os, yaml.cyaml\ndef f():\n    from PIL import Image\n"
                                   "    from . import sibling\n")
    assert imported_modules(tmp_path) == {"yaml", "PIL"}


def test_dependencies_are_exactly_what_src_imports():
    dists = packages_distributions()
    modules = imported_modules(ROOT / "src" / "tweetlm")
    unknown = sorted(m for m in modules if m not in dists)
    assert not unknown, f"src imports {unknown}, which no installed distribution provides"
    imported = {canonical(d) for m in modules for d in dists[m]}
    dependencies = listed()
    assert RUN_NOT_IMPORTED <= dependencies
    assert imported - dependencies == set(), "imported but not in pyproject's dependencies"
    assert dependencies - RUN_NOT_IMPORTED - imported == set(), "listed but never imported"
