"""House rules of the code itself: a function reads on one screen."""

from __future__ import annotations

import ast

from helpers.project import ROOT

SRC = ROOT / "src/tweetlm"
MAX_LINES = 60  # def line to last line, docstring and comments included


def long_functions(folder=SRC, limit: int = MAX_LINES) -> dict[str, int]:
    """'path/in/src.py:name' -> lines, for every function or method over `limit` lines."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found[f"{path.relative_to(folder).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_in_src_is_over_60_lines():
    too_long = long_functions()
    assert too_long == {}, f"split these along what they do: {too_long}"


def test_the_rule_counts_what_it_says(tmp_path):
    body = "\n".join(f"x{i} = {i}" for i in range(59))  # + the def line: 60, allowed
    indent = lambda text, n: "\n".join(" " * n + line for line in text.splitlines())
    (tmp_path / "m.py").write_text(f"def ok():\n{indent(body, 4)}\n\n\nclass C:\n"
                                   f"    def long(self):\n{indent(body, 8)}\n        return 1\n")
    assert long_functions(tmp_path) == {"m.py:long": 61}
