"""No function in streams/ is longer than a screen: 50 lines, docstring included."""

from __future__ import annotations

import ast
from pathlib import Path

import streams

MAX_LINES = 50
# A function may be longer where a comment on its first line says "long: <why>".
EXCUSE = "# long:"


def _functions(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = path.read_text().splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            excused = EXCUSE in lines[node.lineno - 1]
            yield f"{path}:{node.lineno} {node.name} ({length} lines)", length, excused


def test_no_function_is_longer_than_fifty_lines() -> None:
    root = Path(streams.__file__).parent
    too_long = [
        where
        for path in sorted(root.rglob("*.py"))
        for where, length, excused in _functions(path)
        if length > MAX_LINES and not excused
    ]
    assert too_long == []


def _private_reads(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__"):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        yield f"{path}:{node.lineno} .{name}"


def test_only_the_workarounds_package_reads_private_attributes_of_other_objects() -> None:
    root = Path(streams.__file__).parent
    fixes = root / "faust_fixes"
    found = [
        where
        for path in sorted(root.rglob("*.py"))
        if fixes not in path.parents
        for where in _private_reads(path)
    ]
    assert found == []
