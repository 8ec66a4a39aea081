"""Build the notebook the grader runs: the student's cells with the reference's checks and hidden tests."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import papermill.parameterize

from course_lib import exercise_rules
from course_lib.tools import assignments
from course_lib.tools.assignments import Assignment
from course_lib.tools.course_map import BY_FILENAME
from course_lib.tools.grading.cell_runner import first_line
from course_lib.tools.grading.limits import PARAMETERS_CELL_CHARS
from course_lib.tools.notebooks import run_parameters

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def graded_notebook(student: nbformat.NotebookNode, assignment: Assignment) -> tuple[nbformat.NotebookNode, dict]:
    """The student's cells with the reference's checks and hidden tests in place; problems found, by exercise.

    A student cell with hidden-test markers is dropped; every cell's metadata (but a `parameters`
    tag) and saved outputs are dropped, so no tag can skip a check and no saved output can stand in
    for one. A check cell is found by its exact source; the solution is the last cell that defines
    the exercise's function (parsed: a definition inside a string does not count), and another cell
    that binds that name costs the exercise. The hidden tests come after every student cell, so no
    student code runs after them (their source and inputs stay out of its reach).
    """
    problems: dict[str, list[str]] = {e.name: [] for e in assignment.exercises}
    cells = []
    for cell in student.cells:
        if cell.cell_type == "code" and assignments.is_hidden_cell(cell.source):
            owner = _owner(cells, assignment) or assignment.exercises[0].name
            problems[owner].append("a cell with hidden-test markers was in the submission; it was removed")
            continue
        cells.append(copy.deepcopy(cell))
        tags = ["parameters"] if "parameters" in cell.get("metadata", {}).get("tags", []) else []
        cells[-1].metadata = {"tags": tags}  # only the grader tags cells; nbclient skips cells by tag
        if cells[-1].cell_type == "code":
            cells[-1].outputs, cells[-1].execution_count = [], None
    for exercise in assignment.exercises:
        solution = next((i for i in reversed(range(len(cells))) if defines(cells[i], exercise.name)), None)
        if solution is None:
            problems[exercise.name].append(f"no solution cell defining `{exercise.name}` was found")
            continue
        _tag(cells[solution], exercise.name, "solution", "solution")
        others = [c.source for i, c in enumerate(cells) if i != solution and c.cell_type == "code"]
        problems[exercise.name] += _outside_rule(
            exercise.name, cells[solution].source, exercise_rules.top_names(others)
        )
        problems[exercise.name] += [
            f"the cell starting `{first_line(c)}` binds `{exercise.name}` again, outside its solution cell"
            for i, c in enumerate(cells)
            if i != solution and c.cell_type == "code" and exercise_rules.rebinds(c.source, exercise.name)
        ]
        for k, source in enumerate(exercise.checks):
            found = next((i for i, c in enumerate(cells) if c.cell_type == "code" and _same(c.source, source)), None)
            if found is None:
                problems[exercise.name].append(f"visible check {k + 1} was edited or deleted; it was not run")
                continue
            _tag(cells[found], exercise.name, "check", f"check {k + 1}")
    for exercise in assignment.exercises:  # last: no student cell runs after a hidden test, to read it back
        for test in exercise.hidden:
            cells.append(nbformat.v4.new_code_cell(test.source))
            _tag(cells[-1], exercise.name, "hidden", test.name)
    code = [c.source for c in cells if c.cell_type == "code"]
    modules, bound = exercise_rules.module_names(code), exercise_rules.modules_bound(code)
    made = exercise_rules.made_from_modules(code)
    tampered = [
        f"cell {i + 1}: {t}"
        for i, c in enumerate(cells)
        if c.cell_type == "code"
        for t in exercise_rules.tampering(c.source, modules, bound, made)
    ]
    for notes in problems.values():
        notes += [f"{t} (code that changes what the checks rely on costs every exercise)" for t in tampered]
    for cell in cells:
        cell.metadata.setdefault("tags", [])  # papermill looks for the parameters tag in every cell
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(student.get("metadata", {})))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata["papermill"] = {}  # where papermill records the parameters it injects
    return nb, problems


def _outside_rule(exercise: str, source: str, shadowed: frozenset[str]) -> list[str]:
    """Why the solution cell breaks its exercise's rule (`exercise_rules`), if it does; `shadowed`: names
    the notebook's other cells bind."""
    rule = exercise_rules.RULES.get(exercise)
    if rule is None:
        return []
    return [
        f"your solution cell uses {found}: this exercise {rule.says()}"
        for found in exercise_rules.violations(source, rule, shadowed)
    ]


def _owner(cells: list, assignment: Assignment) -> str | None:
    names = [e.name for e in assignment.exercises]
    for cell in reversed(cells):
        for name in names:
            if defines(cell, name):
                return name
    return None


def defines(cell: nbformat.NotebookNode, name: str) -> bool:
    return cell.cell_type == "code" and exercise_rules.defines(cell.source, name)


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _tag(cell: nbformat.NotebookNode, exercise: str, role: str, key: str) -> None:
    cell.metadata["grading"] = {"exercise": exercise, "role": role, "key": key}


def parameterized(nb: nbformat.NotebookNode, stem: str, workdir: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """`nb` with the course's tiny-data parameters injected; notes if its parameters cell was tampered with.

    A parameters cell longer than `PARAMETERS_CELL_CHARS` is never handed to papermill (whose reading
    of it takes time quadratic in its length): the notebook runs with its own settings, and a note says why.
    """
    size = _parameters_size(nb)
    if size > PARAMETERS_CELL_CHARS:
        limit = f"over the grader's limit of {PARAMETERS_CELL_CHARS:,}"
        return nb, [f"the parameters cell holds {size:,} characters, {limit}; {NOT_READ}"]
    entry = BY_FILENAME.get(f"{stem}.ipynb")
    path = workdir / "declared.ipynb"
    nbformat.write(nb, path)
    try:
        if entry is None:
            raise ValueError(f"{stem} is not a course notebook")
        parameters = run_parameters(entry, path, "tiny", workdir / "metrics.json")
    except Exception as e:  # noqa: BLE001 (a broken parameters cell costs what it breaks, nothing more)
        return nb, [f"the parameters cell could not be filled in ({e}); the notebook ran with its own settings"]
    finally:
        path.unlink()
    return papermill.parameterize.parameterize_notebook(nb, parameters), []


NOT_READ = "it was not read and the notebook ran with its own settings"


def _parameters_size(nb: nbformat.NotebookNode) -> int:
    """Characters in the longest cell tagged `parameters` (papermill reads the first; any could be first)."""
    return max((len(c.source) for c in nb.cells if "parameters" in c.metadata.get("tags", [])), default=0)
