"""The arrows between layers point one way: lessons never import the tools, the data layer imports no lesson, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "course_lib"
DATA_MAY_IMPORT = ("course_lib.data", "course_lib.atomic")


def imports(path: Path, package: str = "") -> set[str]:
    """The `course_lib` modules a file of `package` imports, anywhere in it (inside functions too).

    Relative imports (`from ..tools import x`) are resolved against `package` (`course_lib.data`, say).
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("course_lib")}


def violations(files: list[Path], data_files: list[Path]) -> list[str]:
    """Each forbidden import, as 'file: module' (`files` in course_lib/, `data_files` in course_lib/data/)."""
    found = [
        f"{f.name}: {m}" for f in files for m in sorted(imports(f, "course_lib")) if m.startswith("course_lib.tools")
    ]
    for f in data_files:
        found += [
            f"data/{f.name}: {m}"
            for m in sorted(imports(f, "course_lib.data"))
            if m != "course_lib" and not m.startswith(DATA_MAY_IMPORT)  # tools imports fall here too
        ]
    return found


def data_cycles(data_files: list[Path]) -> list[str]:
    """Pairs of data modules that import each other (directly or through others)."""
    names = {f.stem for f in data_files if f.stem != "__init__"}
    edges = {
        f.stem: {
            m.split(".")[2] for m in imports(f, "course_lib.data") if m.count(".") >= 2 and m.split(".")[2] in names
        }
        - {f.stem}
        for f in data_files
        if f.stem in names
    }

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(edges[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += edges[node]
        return seen

    return sorted(f"{a} <-> {b}" for a in names for b in reach(a) if a < b and a in reach(b))


LESSONS, DATA = sorted(PACKAGE.glob("*.py")), sorted((PACKAGE / "data").glob("*.py"))


def test_lessons_never_import_the_tools_and_the_data_layer_no_lesson():
    assert violations(LESSONS, DATA) == []


def test_the_data_layer_has_no_import_circle():
    assert data_cycles(DATA) == []


@pytest.mark.parametrize(
    ("where", "line", "expected"),
    [
        ("lesson", "from course_lib.tools import grading", "planted.py: course_lib.tools"),
        ("data", "from course_lib import image_folders", "data/planted.py: course_lib.image_folders"),
        ("data", "from course_lib.training import EpochTable", "data/planted.py: course_lib.training"),
        ("lesson", "from .tools.grading import grade_class", "planted.py: course_lib.tools"),
        ("data", "from .. import image_folders", "data/planted.py: course_lib.image_folders"),
    ],
)
def test_a_planted_forbidden_import_is_found(tmp_path, where, line, expected):
    planted = tmp_path / "planted.py"
    planted.write_text(f"def f():\n    {line}\n")  # inside a function, where a lazy import hides
    files, data_files = ([planted], []) if where == "lesson" else ([], [planted])
    assert any(v.startswith(expected) for v in violations(files, data_files)), violations(files, data_files)


def test_a_planted_circle_is_found(tmp_path):
    (tmp_path / "a.py").write_text("from course_lib.data import b\n")
    (tmp_path / "b.py").write_text("from course_lib.data.c import x\n")
    (tmp_path / "c.py").write_text("import course_lib.data.a\n")
    assert data_cycles(sorted(tmp_path.glob("*.py"))) == ["a <-> b", "a <-> c", "b <-> c"]
