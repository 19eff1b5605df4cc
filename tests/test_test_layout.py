"""The suite's own layout, as pytest collects it without packages (rootdir-relative
imports, ``--dist loadfile``): each of these once broke a whole run while every file
passed alone.

- Two test modules with one basename in different folders: "import file mismatch".
- ``from conftest import ...`` inside a function runs after other folders' conftests were
  loaded, so it finds whichever ``conftest`` module came last.
- ``from conftest import ...`` in a folder without a conftest.py of its own does the same.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = [REPO / "tests", *sorted((REPO / "examples").glob("*/tests"))]


def suite_modules() -> list[Path]:
    return sorted(p for root in ROOTS for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_test_module_has_a_basename_of_its_own():
    seen: dict[str, list[str]] = defaultdict(list)
    for path in suite_modules():
        if path.name.startswith("test_") or path.name.endswith("_test.py"):
            seen[path.name].append(str(path.relative_to(REPO)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert clashes == {}, f"rename one of each: {clashes}"


def _conftest_imports(tree: ast.Module) -> tuple[list[int], list[int]]:
    """Line numbers of ``from conftest import`` at module level and inside anything else."""
    top = {
        id(node)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "conftest"
    }
    outer, inner = [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "conftest":
            (outer if id(node) in top else inner).append(node.lineno)
    return outer, inner


def test_conftest_helpers_are_imported_at_the_top_from_the_modules_own_folder():
    problems = []
    for path in suite_modules():
        outer, inner = _conftest_imports(ast.parse(path.read_text(), str(path)))
        where = path.relative_to(REPO)
        problems += [f"{where}:{n}: import conftest helpers at the top" for n in inner]
        if (outer or inner) and not (path.parent / "conftest.py").exists():
            problems.append(f"{where}: no conftest.py in its folder to import from")
    assert problems == []
