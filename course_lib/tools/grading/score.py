"""Score a notebook: run it, compare what each check and hidden test printed with the reference."""

from __future__ import annotations

import builtins
import difflib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.tools import assignments
from course_lib.tools.assignments import Assignment
from course_lib.tools.grading.build import graded_notebook, parameterized
from course_lib.tools.grading.sandbox import GradeOptions, run_cells


@dataclass
class ExerciseResult:
    """One exercise of one student: points earned, and what the feedback says."""

    points: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stderr: list[str] = field(default_factory=list)  # shown in the feedback, never scored


@dataclass
class NotebookResult:
    """One submitted notebook: its exercises, and notes that concern the whole notebook."""

    exercises: dict[str, ExerciseResult]
    notes: list[str] = field(default_factory=list)


def expected_outputs(reference: Path, assignment: Assignment, options: GradeOptions) -> dict[tuple[str, str], str]:
    """What the reference notebook prints in each check and hidden test, by (exercise, key).

    ValueError if the reference itself fails any of them: the grader would fail every student.
    """
    solved = assignments.without_hidden_tests(nbformat.read(reference, as_version=4))
    result, reports = grade_notebook(solved, assignment, None, options)
    failed = [f"{name}: {'; '.join(r.notes)}" for name, r in result.exercises.items() if r.notes]
    failed += [n for n in result.notes if not n.startswith(UNGRADED_ERROR)]  # an ungraded cell's error is not fatal
    if failed:
        raise ValueError(f"the reference {reference.name} does not pass its own checks: {failed}")
    return {(r["grading"]["exercise"], r["grading"]["key"]): r["text"] for r in reports if r["grading"]}


def grade_notebook(
    student: nbformat.NotebookNode, assignment: Assignment, expected: dict | None, options: GradeOptions
) -> tuple[NotebookResult, list[dict]]:
    """Grade one notebook (the reference itself when `expected` is None); also return the cell reports."""
    nb, problems = graded_notebook(student, assignment)
    roles: dict[str, dict[str, str]] = {e.name: {} for e in assignment.exercises}  # exercise -> key -> role
    for cell in nb.cells:
        if "grading" in cell.metadata:
            tag = cell.metadata.grading
            roles[tag["exercise"]][tag["key"]] = tag["role"]
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        nb, notes = parameterized(nb, assignment.stem, Path(tmp))
        reports, stopped = run_cells(nb, Path(tmp), options)
    notes += [stopped] if stopped else []
    notes += [  # an error outside the graded cells (an import that timed out, say) explains the errors after it
        f"{UNGRADED_ERROR} `{r.get('first_line', '')}` raised {r['error'].splitlines()[0]}"
        for r in reports
        if r["error"] and not r["grading"]
    ]
    results = {
        e.name: _score(e.name, roles[e.name], problems[e.name], reports, expected, e.points)
        for e in assignment.exercises
    }
    return NotebookResult(results, notes), reports


UNGRADED_ERROR = "the cell starting"
BUILTIN_ERRORS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
) | {"CellTimeoutError", "DeadKernelError"}  # the runner's own
LABELS = {"solution": "your solution cell", "check": "{key}", "hidden": "hidden test '{key}'"}


def _score(
    name: str, roles: dict[str, str], problems: list[str], reports: list[dict], expected, points
) -> ExerciseResult:
    """Points and notes for one exercise from the reports of its tagged cells (`roles`: key -> role)."""
    mine = {r["grading"]["key"]: r for r in reports if r["grading"].get("exercise") == name}
    notes = list(problems)
    for key, role in roles.items():
        label, report = LABELS[role].format(key=key), mine.get(key)
        if report is None:
            notes.append(f"{label} did not run (stopped before it)")
        elif report["error"] and role == "hidden":  # its message could show the test's inputs: the type alone
            notes.append(f"{label} raised {_builtin_type(report['error'])} (the message of a hidden test is not shown)")
        elif report["error"]:
            notes.append(f"{label} raised {report['error']}")
        elif expected is None or role == "solution" or report["text"] == expected[(name, key)]:
            continue
        elif role == "check":  # visible: show the diff; a hidden test's expected output stays secret
            notes.append(f"visible {label} printed something else:\n{_diff(expected[(name, key)], report['text'])}")
        else:
            notes.append(f"{label} failed")
    seconds = sum(r["seconds"] for key, r in mine.items() if roles.get(key) != "hidden")  # a sleep could encode inputs
    stderr = [  # a hidden test's stderr could show its inputs: only the student's own cells and the visible checks
        f"{LABELS[role].format(key=key)} wrote to stderr (not graded):\n{mine[key]['stderr'].rstrip()}"
        for key, role in roles.items()
        if role != "hidden" and key in mine and mine[key].get("stderr")
    ]
    return ExerciseResult(0 if notes else points, notes, seconds, stderr)


def _builtin_type(error: str) -> str:
    """The error's type if Python defines it, else a phrase: a class the submission names could carry the test's inputs."""
    name = error.split(":", 1)[0]
    return name if name in BUILTIN_ERRORS else "an exception of a type the submission made"


def _diff(expected: str, got: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got", lineterm="")
    return "\n".join(f"    {line}" for line in lines)
