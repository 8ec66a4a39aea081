"""What the grading tests share: the reference notebook (02), its exercises, students' copies, grading a class."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from course_lib.tools import assignments
from course_lib.tools.grading import classes, sandbox
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

REFERENCE = CHECKOUT_NOTEBOOKS / "02_softmax_cross_entropy.ipynb"
STEM = REFERENCE.stem
EX1, EX2 = "my_softmax", "binary_cross_entropy_from_logit"


def reference_solutions() -> dict[str, str]:
    nb = nbformat.read(REFERENCE, as_version=4)
    return {
        m["name"]: c.source
        for c in nb.cells
        if c.cell_type == "code" and assignments.is_solution_cell(c.source)
        for m in [assignments.DEFINES.search(c.source)]
    }


def released() -> nbformat.NotebookNode:
    return assignments.release(nbformat.read(REFERENCE, as_version=4))


def solved(solutions: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The released copy with each exercise answered: the reference solution unless `solutions` says otherwise."""
    nb, answers = released(), reference_solutions() | (solutions or {})
    for cell in nb.cells:
        found = assignments.DEFINES.search(cell.source) if cell.cell_type == "code" else None
        if found and found["name"] in answers:
            cell.source = answers[found["name"]]
    return nb


def check_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(assignments.CHECK_MARK)]


def exercise_check(nb: nbformat.NotebookNode, k: int) -> nbformat.NotebookNode:
    """The visible check cell of exercise `k` (0-based) in `nb`."""
    source = assignments.read_assignment(REFERENCE).exercises[k].checks[0]
    return next(c for c in nb.cells if c.cell_type == "code" and c.source == source)


def exercise_lines(feedback: str, exercise: str) -> list[str]:
    lines = feedback.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"- `{exercise}`"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("- ")), len(lines))
    return [lines[start].rsplit(" (", 1)[0]] + lines[start + 1 : end]


def grade(root: Path, students: dict) -> dict:
    """Grade `students` ({name: notebook, raw text, or None: the folder as it is}) against the reference.

    Two workers; the cell timeout (30 s) is what a looping student holds a worker for (the honest
    cells of notebook 02 take seconds). Returns the rows, the gradebook as read back, the feedback.
    """
    notebooks, submissions, out = root / "notebooks", root / "submissions", root / "out"
    notebooks.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.read(REFERENCE, as_version=4), notebooks / REFERENCE.name)
    for name, content in students.items():
        (submissions / name).mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            (submissions / name / REFERENCE.name).write_text(content)
        elif content is not None:
            nbformat.write(content, submissions / name / REFERENCE.name)
    options = sandbox.GradeOptions(cell_timeout=30, timeout=300, sandbox=sandbox.available())
    rows = classes.grade_class(submissions, out, notebooks, options, workers=2)
    with open(out / "gradebook.csv", newline="") as f:
        gradebook = list(csv.DictReader(f))
    feedback = {p.stem: p.read_text() for p in (out / "feedback").glob("*.md")}
    return {"rows": rows, "gradebook": gradebook, "feedback": feedback, "out": out}


def points(result: dict) -> dict[str, tuple[str, ...]]:
    """Each student's gradebook row: (exercise 1, exercise 2, total, max)."""
    return {r["student"]: (r[f"{STEM}:{EX1}"], r[f"{STEM}:{EX2}"], r["total"], r["max"]) for r in result["gradebook"]}
