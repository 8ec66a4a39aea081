"""An assignment read out of a reference notebook: its exercises, points, checks and hidden tests.

The conventions, in the reference notebook:

- an exercise's markdown heading declares its points: `### Exercise 1: a stable softmax (2 points)`;
- its solution cell defines the function the exercise asks for, the reference code between
  `# BEGIN SOLUTION` and `# END SOLUTION` (nbgrader's `### BEGIN SOLUTION` spelling is accepted);
- its visible check cells follow, each starting with `# NBVAL_CHECK_OUTPUT`;
- hidden test cells may follow them, each between `# BEGIN HIDDEN TESTS` and `# END HIDDEN TESTS`
  (nbgrader's convention), named by a `# hidden test: NAME` line. They run only at grading time.

`release` writes the students' copy: solutions replaced by a placeholder, hidden tests removed,
outputs cleared, everything else kept.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_lib.exercise_rules import RULES

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
SOLUTION = re.compile(r"(?P<indent>[ \t]*)#(?:##)? BEGIN SOLUTION[ \t]*\n.*?#(?:##)? END SOLUTION[ \t]*\n?", re.DOTALL)
HIDDEN = re.compile(r"[ \t]*#(?:##)? BEGIN HIDDEN TESTS[ \t]*\n.*?#(?:##)? END HIDDEN TESTS[ \t]*\n?", re.DOTALL)
HIDDEN_MARKER = re.compile(r"(BEGIN|END) HIDDEN TESTS")
HIDDEN_NAME = re.compile(r"^# hidden test: (?P<name>.+?)\s*$", re.MULTILINE)
POINTS = re.compile(r"^#+ .*\((?P<points>\d+) points?\)", re.MULTILINE)
DEFINES = re.compile(r"^def (?P<name>\w+)\(", re.MULTILINE)
PLACEHOLDER = 'raise NotImplementedError("your code here")'


@dataclass(frozen=True)
class HiddenTest:
    """One hidden test cell: its name and source."""

    name: str
    source: str


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: the function it asks for, its points, its visible checks and hidden tests."""

    name: str
    points: int
    checks: tuple[str, ...]
    hidden: tuple[HiddenTest, ...]


@dataclass(frozen=True)
class Assignment:
    """The graded exercises of one course notebook, named by its stem (`02_softmax_cross_entropy`)."""

    stem: str
    exercises: tuple[Exercise, ...]

    @property
    def max_points(self) -> int:
        return sum(e.points for e in self.exercises)


def is_solution_cell(source: str) -> bool:
    return bool(SOLUTION.search(source))


def is_hidden_cell(source: str) -> bool:
    return bool(HIDDEN_MARKER.search(source))


def read_assignment(path: Path) -> Assignment:
    """The exercises of the reference notebook at `path`; ValueError if one breaks the conventions above."""
    nb = nbformat.read(path, as_version=4)
    exercises: list[dict] = []
    points = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = POINTS.search(cell.source)
            points = int(found["points"]) if found else points
            continue
        if cell.cell_type != "code":
            continue
        if is_solution_cell(cell.source):
            exercises.append(_new_exercise(path, cell.source, points))
            points = None
        elif cell.source.startswith(CHECK_MARK) and exercises:
            exercises[-1]["checks"].append(cell.source)
        elif is_hidden_cell(cell.source):
            _add_hidden(path, exercises, cell.source)
    return Assignment(
        path.stem,
        tuple(Exercise(e["name"], e["points"], tuple(e["checks"]), tuple(e["hidden"])) for e in exercises),
    )


def _new_exercise(path: Path, source: str, points: int | None) -> dict:
    defines = DEFINES.search(source)
    if defines is None:
        raise ValueError(f"{path.name}: a solution cell defines no function:\n{source}")
    if points is None:
        raise ValueError(
            f"{path.name}: exercise {defines['name']} declares no points; "
            "end its markdown heading with '(N points)', e.g. '### Exercise 1: ... (2 points)'"
        )
    return {"name": defines["name"], "points": points, "checks": [], "hidden": []}


def _add_hidden(path: Path, exercises: list[dict], source: str) -> None:
    if not exercises:
        raise ValueError(f"{path.name}: a hidden test cell comes before any exercise:\n{source}")
    if not HIDDEN.search(source):
        raise ValueError(f"{path.name}: a hidden test cell lacks its BEGIN/END HIDDEN TESTS pair:\n{source}")
    exercise = exercises[-1]
    named = HIDDEN_NAME.search(source)
    name = named["name"] if named else f"hidden test {len(exercise['hidden']) + 1}"
    exercise["hidden"].append(HiddenTest(name, source))


def without_hidden_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without its hidden tests (a cell that held nothing else is dropped)."""
    copied = copy.deepcopy(nb)
    cells = []
    for cell in copied.cells:
        if cell.cell_type == "code" and is_hidden_cell(cell.source):
            cell.source = HIDDEN.sub("", cell.source).rstrip("\n")
            if not cell.source.strip():
                continue
        cells.append(cell)
    copied.cells = cells
    return copied


def release(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The students' copy of `nb`: solutions replaced by a placeholder, hidden tests removed, no outputs."""
    student = without_hidden_tests(nb)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = _with_rule(SOLUTION.sub(_placeholder, cell.source).rstrip("\n"))
            cell.outputs, cell.execution_count = [], None
    return student


def _with_rule(source: str) -> str:
    """A released solution cell with a comment saying what its exercise may use (`exercise_rules`)."""
    defines = DEFINES.search(source)
    rule = RULES.get(defines["name"]) if defines and is_solution_cell(source) else None
    if rule is None:
        return source
    return re.sub(
        r"^([ \t]*)(#(?:##)? BEGIN SOLUTION)", rf"\1# This exercise {rule.says()}.\n\1\2", source, 1, re.MULTILINE
    )


def _placeholder(match: re.Match) -> str:
    indent = match["indent"]
    return f"{indent}# BEGIN SOLUTION\n{indent}{PLACEHOLDER}\n{indent}# END SOLUTION\n"
