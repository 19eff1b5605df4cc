"""A clone with nothing beside it passes its tests: no test, nor the code they run, reads a
file outside the repository (the shared reference folder beside it is on the project's
machines, not in a clone).

Every Python file of ``tests/``, ``hub/`` and ``plugins/`` is read as a syntax tree. A path
built from ``__file__`` (``Path(__file__).resolve().parents[4]``, ``REPO.parent``, ``/ ".."``)
is followed, names bound at module level included, and must stay inside the repository; a
string used as a path (joined with ``/``, or passed to ``Path``, ``open`` and the like) must
neither climb out with ``..`` nor name a ``shared`` folder. The scripts that cut the slices
in ``tests/reference`` from the full sets live outside these folders, in ``tools/reference``.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

# The reference folder beside the repository, spelt in pieces so greps for it skip this file.
OUTSIDE = "".join(("sha", "red"))

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("tests", "hub", "plugins")
PATH_CALLS = {"Path", "PurePath", "PosixPath", "open", "join", "joinpath", "chdir", "glob"}


class PathsOutside(ast.NodeVisitor):
    """Finds, in one file, the paths that lead out of ``repo``."""

    def __init__(self, file: Path, repo: Path) -> None:
        self.file = file
        self.repo = repo
        self.bound: dict[str, Path] = {}
        self.found: list[str] = []

    def scan(self, tree: ast.Module) -> list[str]:
        for node in tree.body:  # module-level names first: REPO = Path(__file__)...
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = self.evaluate(node.value) if node.value is not None else None
                for target in targets:
                    if isinstance(target, ast.Name) and value is not None:
                        self.bound[target.id] = value
        self.visit(tree)
        return self.found

    def evaluate(self, node: ast.expr) -> Path | None:
        """Where ``node`` points, when it is a path built from ``__file__``."""
        if isinstance(node, ast.Name):
            return Path(self.file) if node.id == "__file__" else self.bound.get(node.id)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Path" and len(node.args) == 1:
                return self.evaluate(node.args[0])
            if isinstance(func, ast.Attribute) and func.attr in {"resolve", "absolute"}:
                return self.evaluate(func.value)
            return None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            base = self.evaluate(node.value)
            return base.parent if base is not None else None
        if isinstance(node, ast.Subscript):
            return self.ancestor(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            base = self.evaluate(node.left)
            if base is not None and isinstance(node.right, ast.Constant):
                return Path(os.path.normpath(base / str(node.right.value)))
        return None

    def ancestor(self, node: ast.Subscript) -> Path | None:
        """``<path>.parents[N]``, or ``/`` when N climbs past it."""
        if not isinstance(node.value, ast.Attribute) or node.value.attr != "parents":
            return None
        base = self.evaluate(node.value.value)
        index = node.slice.value if isinstance(node.slice, ast.Constant) else None
        if base is None or not isinstance(index, int):
            return None
        parents = Path(os.path.normpath(base)).parents
        return parents[index] if index < len(parents) else Path("/")

    def outside(self, path: Path) -> bool:
        return not Path(os.path.normpath(path)).is_relative_to(self.repo)

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append(f"{self.file.name}:{getattr(node, 'lineno', '?')}: {what}")

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.expr) and not isinstance(node, ast.Name):
            target = self.evaluate(node)
            if target is not None and self.outside(target):
                self.report(node, f"{ast.unparse(node)} leads to {target}, outside the repository")
                return
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                self.check_string(node, child)
            elif isinstance(child, ast.JoinedStr) and _in_path_context(node):
                for part in child.values:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        self.check_string(node, part)
        super().generic_visit(node)

    def check_string(self, parent: ast.AST, constant: ast.Constant) -> None:
        if not _in_path_context(parent):
            return
        parts = Path(constant.value).parts
        if ".." in parts and os.path.normpath(constant.value).startswith(".."):
            self.report(constant, f"{constant.value!r} climbs out of the repository")
        elif OUTSIDE in parts:
            self.report(
                constant, f"{constant.value!r} names the shared folder beside the repository"
            )


def _in_path_context(node: ast.AST) -> bool:
    """``node`` joins paths (``a / "b"``) or is a call that takes one (``Path("..")``)."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Div)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in PATH_CALLS
    return False


def paths_outside(source: str, file: Path, repo: Path = REPO) -> list[str]:
    return PathsOutside(file, repo).scan(ast.parse(source))


def scanned_files() -> list[Path]:
    files = [p for folder in SCANNED for p in sorted((REPO / folder).rglob("*.py"))]
    return [p for p in files if ".venv" not in p.parts]


def test_no_test_nor_the_code_it_runs_reads_outside_the_repository() -> None:
    found = [f for path in scanned_files() for f in paths_outside(path.read_text(), path)]

    assert found == [], (
        "read outside the repository (put a slice in tests/reference):\n" + "\n".join(found)
    )


def test_the_reference_folders_say_where_their_files_came_from() -> None:
    folders = [p for p in (REPO / "tests" / "reference").iterdir() if p.is_dir()]

    assert {f.name for f in folders} >= {"shopify", "woocommerce", "solomon"}
    for folder in folders:
        sources = (folder / "SOURCES.md").read_text()
        for data in folder.iterdir():
            if data.name != "SOURCES.md":
                assert f"`{data.name}`" in sources, (
                    f"{folder.name}/SOURCES.md does not name {data.name}"
                )


FILE = REPO / "tests" / "plugins" / "woocommerce" / "test_example.py"


@pytest.mark.parametrize(
    "line",
    [
        f'REFERENCE = Path(__file__).resolve().parents[4] / "{OUTSIDE}/reference/woocommerce"',
        f'SHARED = Path(__file__).resolve().parents[3].parent / "{OUTSIDE}"',
        f'REPO = Path(__file__).resolve().parents[3]\nSHARED = REPO.parent / "{OUTSIDE}"',
        f'REPO = Path(__file__).resolve().parents[3]\nOUT = REPO / ".." / "{OUTSIDE}" / "x.md"',
        f'text = open("../{OUTSIDE}/reference/woocommerce/orders.md").read()',
        f'text = Path(f"../{OUTSIDE}/reference/{{name}}").read_text()',
        f'schema = Path("/work/{OUTSIDE}/reference/shopify/schema.graphql")',
    ],
)
def test_the_scan_finds_each_way_of_reading_beside_the_repository(line: str) -> None:
    assert paths_outside(line, FILE) != []


@pytest.mark.parametrize(
    "line",
    [
        'REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "woocommerce"',
        'REPO = Path(__file__).resolve().parents[3]\nEXAMPLE = REPO / "config" / "hub.toml"',
        f'assert "{OUTSIDE}/reference" not in text and "../{OUTSIDE}" not in text',
        f'held = hold_{OUTSIDE}_ids(hub)\nSHARED = ("1", "119")',
    ],
)
def test_the_scan_lets_paths_inside_the_repository_be(line: str) -> None:
    assert paths_outside(line, FILE) == []
