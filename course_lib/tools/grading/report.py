"""What grading writes: feedback for each student, the gradebook, the list of shared solutions."""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

import nbformat

from course_lib import atomic
from course_lib.tools.assignments import Assignment
from course_lib.tools.grading import similarity
from course_lib.tools.grading.build import defines
from course_lib.tools.grading.limits import CODE_CHARS, SIMILARITY_CELL_CHARS, code_chars, too_large
from course_lib.tools.grading.score import NotebookResult

UNSANDBOXED = (
    "# Graded without a sandbox\n\nThis class was graded with `--no-sandbox`: student code ran with the grader's "
    "rights (files, network, processes). A hostile submission could have changed any file here, this "
    "gradebook included. Regrade with bubblewrap installed before trusting these grades.\n"
)


def feedback(student: str, results: dict[str, NotebookResult], tasks: dict[str, tuple[Assignment, dict]]) -> str:
    """The student's feedback, in Markdown: per notebook and exercise, points and what went wrong."""
    out = io.StringIO()
    out.write(f"# Feedback for {student}\n")
    for stem, result in results.items():
        assignment = tasks[stem][0]
        earned = sum(r.points for r in result.exercises.values())
        out.write(f"\n## {stem}: {earned} / {assignment.max_points} points\n\n")
        for note in result.notes:
            out.write(f"- {note}\n")
        for exercise in assignment.exercises:
            r = result.exercises[exercise.name]
            verdict = "passed" if r.points else "not passed"
            out.write(f"- `{exercise.name}`: {verdict}, {r.points} / {exercise.points} points ({r.seconds:.1f} s)\n")
            for note in r.notes + r.stderr:
                out.write("  - " + note.replace("\n", "\n    ") + "\n")
    return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def spreadsheet_safe(text: str) -> str:
    """`text` as a spreadsheet shows it literally: a leading formula character is escaped with `'` (OWASP)."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def shown_name(name: str) -> str:
    """A folder's `name` as text safe to print, write and send to Dask, one name for one folder.

    Bytes that are not UTF-8 (what unzip makes of a CP437 "ü") read `\\x81`, control characters
    `\\u000a`, and a backslash is doubled, so no two folders are shown alike.
    """
    text = os.fsencode(name).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cc" else c for c in text)


def gradebook_row(student: str, results: dict[str, NotebookResult], tasks: dict) -> dict:
    row = {"student": spreadsheet_safe(student)}
    for stem, (assignment, _) in tasks.items():
        for exercise in assignment.exercises:
            row[f"{stem}:{exercise.name}"] = results[stem].exercises[exercise.name].points
    row["total"] = sum(v for k, v in row.items() if ":" in k)
    row["max"] = sum(a.max_points for a, _ in tasks.values())
    return row


def write_gradebook(path: Path, rows: list[dict]) -> None:
    """The gradebook CSV: one row per student, in name order, never half-written."""
    atomic.write_csv(path, sorted(rows, key=lambda r: r["student"]), list(rows[0]))


def report_shared(handed_in: dict, tasks: dict, out: Path, report: Callable[[str], None]) -> None:
    """Write OUT/similar_solutions.csv: students whose solutions are the same code (see `similarity`)."""
    shared = []
    for stem, (assignment, _) in tasks.items():
        solutions = {}
        for student, notebooks in handed_in.items():
            solutions[student], skipped = _solutions(notebooks.get(stem), assignment)
            if skipped:
                report(f"not compared for shared code: {student}: {stem}: {skipped}")
        shared += [row | {"exercise": f"{stem}:{row['exercise']}"} for row in similarity.shared(solutions)]
    for row in shared:
        report(f"same solution ({row['nodes']} syntax nodes): {row['exercise']}: {row['students']}")
        row["students"] = spreadsheet_safe(row["students"])
    atomic.write_csv(out / "similar_solutions.csv", shared, ["exercise", "students", "nodes"])


def _solutions(submitted: bytes | None, assignment: Assignment) -> tuple[dict[str, str], str]:
    """{exercise: source of the student's cell defining it} for a handed-in notebook (empty if unreadable),
    and what was too long to read (see `limits`): the whole notebook, or some cells ("" if nothing).
    """
    if submitted and (reason := too_large(submitted)):
        return {}, f"it holds {reason}"
    try:
        nb = nbformat.reads(submitted.decode(), as_version=4) if submitted else nbformat.v4.new_notebook()
        if code_chars(nb) > CODE_CHARS:
            return {}, f"its code is over {CODE_CHARS:,} characters"
        code = [c for c in nb.cells if c.cell_type == "code"]
        cells = [c for c in code if len(c.source) <= SIMILARITY_CELL_CHARS]
        answers = {e.name: c.source for e in assignment.exercises for c in cells if defines(c, e.name)}
    except Exception:  # noqa: BLE001 (not a notebook, or a malformed one: nothing to compare)
        return {}, ""
    too_long = len(code) - len(cells)
    return answers, f"{too_long} cell(s) over {SIMILARITY_CELL_CHARS:,} characters not read" if too_long else ""
