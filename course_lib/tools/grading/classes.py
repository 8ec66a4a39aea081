"""Grade a class: every student folder as a Dask job; the gradebook rewritten as each student ends."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from course_lib import atomic, data
from course_lib.data.catalog import DATASETS
from course_lib.tools import assignments, jobs
from course_lib.tools.assignments import Assignment
from course_lib.tools.grading import sandbox
from course_lib.tools.grading.limits import CODE_CHARS, NOTEBOOK_BYTES, code_chars, too_large
from course_lib.tools.grading.report import (
    UNSANDBOXED,
    feedback,
    gradebook_row,
    report_shared,
    shown_name,
    spreadsheet_safe,
    write_gradebook,
)
from course_lib.tools.grading.sandbox import NO_SANDBOX, GradeOptions, SandboxMissing
from course_lib.tools.grading.score import ExerciseResult, NotebookResult, expected_outputs, grade_notebook


def tiny_data_dir() -> Path:
    """This machine's copy of the tiny datasets for grading, every archive unpacked (kernels only read it)."""
    root = Path(tempfile.gettempdir()) / f"course-grading-data-{os.getuid() if hasattr(os, 'getuid') else 0}"
    for name in DATASETS:  # unpacked now: a kernel that had to unpack one would find the folder read-only
        data.dataset_path(name, "tiny", root)
    return root


def grade_student(
    submitted: dict[str, bytes | None], tasks: dict[str, tuple[Assignment, dict]], options: GradeOptions
) -> dict[str, NotebookResult]:
    """Grade one student's notebooks (file contents by stem; None: not handed in). Never raises for what they hold.

    Runs wherever Dask puts it: it needs no file of the instructor's, only the tiny data it writes itself.
    """
    options = dataclasses.replace(options, data_dir=options.data_dir or tiny_data_dir())
    results = {}
    for stem, (assignment, expected) in tasks.items():
        name, content = f"{stem}.ipynb", submitted.get(stem)
        empty = {e.name: ExerciseResult() for e in assignment.exercises}
        if content is None:
            results[stem] = NotebookResult(empty, [f"missing: the submission has no {name}"])
            continue
        if reason := too_large(content):  # nbformat's work grows with the cells, outside every timeout
            results[stem] = NotebookResult(empty, [f"{name} holds {reason}; not graded"])
            continue
        try:
            student = nbformat.reads(content.decode("utf-8"), as_version=4)
        except Exception as e:  # noqa: BLE001 (not JSON, not a notebook, not UTF-8)
            results[stem] = NotebookResult(empty, [f"{name} is not a readable notebook ({type(e).__name__})"])
            continue
        if (code := code_chars(student)) > CODE_CHARS:  # parsed outside every timeout: refused before any work
            note = f"{name} holds {code:,} characters of code, over the grader's limit of {CODE_CHARS:,}; not graded"
            results[stem] = NotebookResult(empty, [note])
            continue
        try:
            result, _ = grade_notebook(student, assignment, expected, options)
        except SandboxMissing:
            raise  # this worker cannot grade anyone: the class stops and says why
        except Exception as e:  # noqa: BLE001 (a fault of the grader's: the student gets a note, the class goes on)
            results[stem] = NotebookResult(empty, [f"grading {name} failed ({type(e).__name__}); ask to be regraded"])
            continue
        if all(any(n.startswith("no solution cell") for n in r.notes) for r in result.exercises.values()):
            result.notes.append(f"{name} answers none of {stem}'s exercises: is it the right notebook?")
        results[stem] = result
    return results


def grade_class(
    submissions: Path,
    out: Path,
    notebooks: Path,
    options: GradeOptions,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    report: Callable[[str], None] = tqdm.write,
) -> list[dict]:
    """Grade every student folder in `submissions` as Dask jobs; write OUT/gradebook.csv and OUT/feedback/<student>.md.

    Every other entry of `submissions` is listed with its reason in OUT/not_graded.csv and to `report`,
    which also gets each student's points as they are graded.

    The gradebook is rewritten (atomically) after each student, so an interrupted run keeps what it graded.
    """
    if not submissions.is_dir():
        raise FileNotFoundError(f"no folder {submissions}: pass the folder that holds one folder per student")
    if options.sandbox and not sandbox.available():
        raise SandboxMissing(NO_SANDBOX)
    entries = sorted(submissions.iterdir())
    skipped = {shown_name(p.name): reason for p in entries if (reason := _not_a_student(p))}
    students = [p for p in entries if not _not_a_student(p)]
    skipped |= {
        f"{shown_name(s.name)}/{shown_name(f.name)}":
            "a symbolic link: not followed (it could hand in another student's work); copy the file in"
        for s in students for f in sorted(s.glob("*.ipynb")) if f.is_symlink()
    }  # fmt: skip
    stems = sorted({f.stem for s in students for f in s.glob("*.ipynb") if (notebooks / f.name).is_file()})
    if not stems:
        raise ValueError(
            f"no student folder in {submissions} holds a course notebook; each student's folder must hold "
            "notebooks named as the course's, e.g. alice/02_softmax_cross_entropy.ipynb"
        )
    hidden = (*options.hidden, submissions.resolve(), out.resolve(), notebooks.resolve())
    options = dataclasses.replace(options, hidden=hidden)
    local = dataclasses.replace(options, data_dir=options.data_dir or tiny_data_dir())
    tasks = {}
    for stem in stems:
        assignment = assignments.read_assignment(notebooks / f"{stem}.ipynb")
        if assignment.exercises:
            tasks[stem] = (assignment, expected_outputs(notebooks / f"{stem}.ipynb", assignment, local))
    handed_in = {  # by a name safe to show and to send to Dask; the files are read by their own path
        shown_name(folder.name): {stem: _handed_in(folder / f"{stem}.ipynb") for stem in tasks} for folder in students
    }
    rows = [{"entry": spreadsheet_safe(name), "reason": reason} for name, reason in skipped.items()]
    atomic.write_csv(out / "not_graded.csv", rows, ["entry", "reason"])
    for row in rows:
        report(f"not graded: {row['entry']}: {row['reason']}")
    if options.sandbox:
        (out / "UNSANDBOXED.md").unlink(missing_ok=True)
    else:
        atomic.write_text(out / "UNSANDBOXED.md", UNSANDBOXED)
    rows = _grade_all(handed_in, tasks, out, options, (workers, scheduler), report)
    report_shared(handed_in, tasks, out, report)
    return rows


def _not_a_student(entry: Path) -> str:
    """Why `entry` of the submissions folder is not graded as a student ("" if it is)."""
    if entry.is_symlink():
        return "a symbolic link: not followed (it could grade one student's work under another name)"
    if not entry.is_dir():
        return "not a folder: each student's notebooks go in a folder named after the student"
    if entry.name.startswith("."):
        return "a hidden folder (its name starts with '.'): rename it to grade it"
    return ""


def _handed_in(path: Path) -> bytes | None:
    """The submitted notebook's bytes, at most one past `NOTEBOOK_BYTES` (enough to refuse it); None if it
    is missing or a symbolic link (never followed)."""
    if not path.is_file() or path.is_symlink():
        return None
    with path.open("rb") as f:
        return f.read(NOTEBOOK_BYTES + 1)


def _grade_all(
    handed_in: dict, tasks: dict, out: Path, options: GradeOptions, cluster: tuple, report: Callable[[str], None]
) -> list[dict]:
    """Grade each student as a Dask job on `cluster` (workers, scheduler); write feedback and gradebook as each ends."""
    rows = []
    calls = {student: (grade_student, submitted, tasks, options) for student, submitted in handed_in.items()}
    with jobs.dask_client(*cluster) as client:
        for student, outcome in jobs.completed(client, calls, "grading", "student"):
            if isinstance(outcome, SandboxMissing):  # a worker elsewhere without bubblewrap: stop, say why
                raise outcome
            results = _stopped(outcome, tasks) if isinstance(outcome, Exception) else outcome
            atomic.write_text(out / "feedback" / f"{student}.md", feedback(student, results, tasks))
            rows.append(gradebook_row(student, results, tasks))
            write_gradebook(out / "gradebook.csv", rows)
            report(f"{student}: {rows[-1]['total']} / {rows[-1]['max']} points")
    return sorted(rows, key=lambda r: r["student"])


def _stopped(error: Exception, tasks: dict) -> dict[str, NotebookResult]:
    """Zero points and a note for every notebook of a student whose grading job died (its worker, twice)."""
    note = f"grading stopped before this notebook finished ({type(error).__name__}); ask the instructor to regrade"
    return {
        stem: NotebookResult({ex.name: ExerciseResult() for ex in a.exercises}, [note])
        for stem, (a, _) in tasks.items()
    }
