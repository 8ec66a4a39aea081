"""Grade a class: every student's notebooks run with a sandboxed kernel, checked against the reference, points in a gradebook.

For each course notebook a submission answers, the grader builds the notebook to run from the
student's cells plus the reference's own check cells and hidden tests (read before any student
code starts), parameterized for the tiny data. The cell runner (`cell_runner`) executes it in a
fresh kernel, in a throwaway working directory holding only that copy; the kernel alone runs in
the bubblewrap sandbox `sandbox` describes. Without a usable bubblewrap it refuses to grade
(`SandboxMissing`) unless told `sandbox=False` (`--no-sandbox`). A solution cell that uses what
its exercise does not allow (`exercise_rules`), or code that changes what the checks rely on,
costs points before anything runs. An exercise earns its points when its solution cell runs, each
visible check prints what the reference printed (nbval's comparison, as text), and each hidden
test prints what the reference printed. Only stdout is compared: what a cell writes to stderr (a
warning, say) is shown in the feedback for the student's own cells and the visible checks, and
never costs points. The reference notebook is graded first, the same way, to record what it
prints. Students who hand in the same code are listed for the instructor (`similarity`).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import io
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill.parameterize
from tqdm.auto import tqdm

from course_lib import atomic
from course_lib.data import tiny
from course_lib.tools import assignments, cell_runner, exercise_rules, jobs, sandbox, similarity
from course_lib.tools.assignments import Assignment
from course_lib.tools.course_map import BY_FILENAME
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS, run_parameters
from course_lib.tools.sandbox import NO_SANDBOX, Limits, SandboxMissing

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


@dataclass(frozen=True, kw_only=True)
class GradeOptions:
    """How long a cell and a whole submission may run, where the tiny data is, and whether to sandbox.

    `sandbox=False` (`course grade --no-sandbox`) runs student code with the grader's own rights.
    """

    cell_timeout: float = 120.0
    timeout: float = 900.0
    data_dir: Path | None = None
    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)
    hidden: tuple[Path, ...] = ()  # folders the kernel must not see (the reference, submissions, output)


UNSANDBOXED = (
    "# Graded without a sandbox\n\nThis class was graded with `--no-sandbox`: student code ran with the grader's "
    "rights (files, network, processes). A hostile submission could have changed any file here, this "
    "gradebook included. Regrade with bubblewrap installed before trusting these grades.\n"
)


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


# ---------------------------------------------------------------- building the notebook to run


def graded_notebook(student: nbformat.NotebookNode, assignment: Assignment) -> tuple[nbformat.NotebookNode, dict]:
    """The student's cells with the reference's checks and hidden tests in place; problems found, by exercise.

    A student cell with hidden-test markers is dropped; every cell's metadata (but a `parameters`
    tag) and saved outputs are dropped, so no tag can skip a check and no saved output can stand in
    for one. A check cell is found by its exact source; the solution is the last cell that defines
    the exercise's function (parsed: a definition inside a string does not count), and another cell
    that binds that name costs the exercise. Hidden tests go right after the exercise's last
    visible check (or its solution cell).
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
        solution = next((i for i in reversed(range(len(cells))) if _defines(cells[i], exercise.name)), None)
        if solution is None:
            problems[exercise.name].append(f"no solution cell defining `{exercise.name}` was found")
            continue
        _tag(cells[solution], exercise.name, "solution", "solution")
        problems[exercise.name] += _outside_rule(exercise.name, cells[solution].source)
        problems[exercise.name] += [
            f"the cell starting `{cell_runner.first_line(c)}` binds `{exercise.name}` again, outside its solution cell"
            for i, c in enumerate(cells)
            if i != solution and c.cell_type == "code" and exercise_rules.rebinds(c.source, exercise.name)
        ]
        last = solution
        for k, source in enumerate(exercise.checks):
            found = next((i for i, c in enumerate(cells) if c.cell_type == "code" and _same(c.source, source)), None)
            if found is None:
                problems[exercise.name].append(f"visible check {k + 1} was edited or deleted; it was not run")
                continue
            _tag(cells[found], exercise.name, "check", f"check {k + 1}")
            last = max(last, found)
        for offset, test in enumerate(exercise.hidden, start=1):
            hidden = nbformat.v4.new_code_cell(test.source)
            _tag(hidden, exercise.name, "hidden", test.name)
            cells.insert(last + offset, hidden)
    tampered = [
        f"cell {i + 1}: {t}"
        for i, c in enumerate(cells)
        if c.cell_type == "code"
        for t in exercise_rules.tampering(c.source)
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


def _outside_rule(exercise: str, source: str) -> list[str]:
    """Why the solution cell breaks its exercise's rule (`exercise_rules`), if it does."""
    rule = exercise_rules.RULES.get(exercise)
    if rule is None:
        return []
    return [
        f"your solution cell uses {found}: this exercise {rule.says()}"
        for found in exercise_rules.violations(source, rule)
    ]


def _owner(cells: list, assignment: Assignment) -> str | None:
    names = [e.name for e in assignment.exercises]
    for cell in reversed(cells):
        for name in names:
            if _defines(cell, name):
                return name
    return None


def _defines(cell: nbformat.NotebookNode, name: str) -> bool:
    return cell.cell_type == "code" and exercise_rules.defines(cell.source, name)


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _tag(cell: nbformat.NotebookNode, exercise: str, role: str, key: str) -> None:
    cell.metadata["grading"] = {"exercise": exercise, "role": role, "key": key}


def parameterized(nb: nbformat.NotebookNode, stem: str, workdir: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """`nb` with the course's tiny-data parameters injected; notes if its parameters cell was tampered with."""
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


# ---------------------------------------------------------------- running it in a sandbox


# read-only file system, no network, own process ids, gone when the grader goes
def run_cells(nb: nbformat.NotebookNode, workdir: Path, options: GradeOptions) -> tuple[list[dict], str | None]:
    """Run `nb` in `workdir`, its kernel sandboxed unless told not to; the cell reports, and why it stopped early."""
    path, kernel_dir = workdir / "submission.ipynb", workdir / "kernel"  # the kernel sees kernel/ only
    nbformat.write(nb, path)
    kernel_dir.mkdir()
    readable = [options.data_dir] if options.data_dir else []
    covered = [*options.hidden, CHECKOUT_NOTEBOOKS.parent, Path.home()]
    kernel_prefix = sandbox.prefix(kernel_dir, covered, readable) if options.sandbox else []
    runner = [
        sys.executable, "-P", "-m", "course_lib.tools.cell_runner", str(path), "--kernel-dir", str(kernel_dir),
        "--cell-timeout", str(options.cell_timeout), "--kernel-prefix", json.dumps(kernel_prefix),
        "--memory-mb", str(options.limits.memory_mb), "--file-mb", str(options.limits.file_mb),
    ]  # fmt: skip
    env = sandbox.environment(kernel_dir, options.data_dir)
    token = secrets.token_hex(16)
    proc = subprocess.Popen(
        runner, cwd=kernel_dir, env=env, text=True,
        start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    proc.stdin.write(token + "\n")
    proc.stdin.close()
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()
    reports, deadline = [], time.monotonic() + options.timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            _stop(proc)
            return reports, f"the submission ran past the time limit ({options.timeout:g} s) and was stopped"
        if line is None:
            break
        if line.startswith(token):
            reports.append(json.loads(line[len(token) :]))
    proc.wait()
    return reports, None


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# ---------------------------------------------------------------- scoring


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
            notes.append(
                f"{label} raised {report['error'].split(':', 1)[0]} (the message of a hidden test is not shown)"
            )
        elif report["error"]:
            notes.append(f"{label} raised {report['error']}")
        elif expected is None or role == "solution" or report["text"] == expected[(name, key)]:
            continue
        elif role == "check":  # visible: show the diff; a hidden test's expected output stays secret
            notes.append(f"visible {label} printed something else:\n{_diff(expected[(name, key)], report['text'])}")
        else:
            notes.append(f"{label} failed")
    seconds = sum(r["seconds"] for r in mine.values())
    stderr = [  # a hidden test's stderr could show its inputs: only the student's own cells and the visible checks
        f"{LABELS[role].format(key=key)} wrote to stderr (not graded):\n{mine[key]['stderr'].rstrip()}"
        for key, role in roles.items()
        if role != "hidden" and key in mine and mine[key].get("stderr")
    ]
    return ExerciseResult(0 if notes else points, notes, seconds, stderr)


def _diff(expected: str, got: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got", lineterm="")
    return "\n".join(f"    {line}" for line in lines)


# ---------------------------------------------------------------- a class


def tiny_data_dir() -> Path:
    """This machine's copy of the tiny datasets for grading (written once, then only read)."""
    root = Path(tempfile.gettempdir()) / f"course-grading-data-{os.getuid() if hasattr(os, 'getuid') else 0}"
    tiny.ensure_tiny(root)
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
        try:
            student = nbformat.reads(content.decode("utf-8"), as_version=4)
        except Exception as e:  # noqa: BLE001 (not JSON, not a notebook, not UTF-8)
            results[stem] = NotebookResult(empty, [f"{name} is not a readable notebook ({type(e).__name__})"])
            continue
        result, _ = grade_notebook(student, assignment, expected, options)
        if all(any(n.startswith("no solution cell") for n in r.notes) for r in result.exercises.values()):
            result.notes.append(f"{name} answers none of {stem}'s exercises: is it the right notebook?")
        results[stem] = result
    return results


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
    skipped = {p.name: reason for p in entries if (reason := _not_a_student(p))}
    students = [p for p in entries if p.name not in skipped]
    skipped |= {
        f"{s.name}/{f.name}": "a symbolic link: not followed (it could hand in another student's work); copy the file in"
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
    handed_in = {folder.name: {stem: _handed_in(folder / f"{stem}.ipynb") for stem in tasks} for folder in students}
    rows = [{"entry": spreadsheet_safe(name), "reason": reason} for name, reason in skipped.items()]
    atomic.write_csv(out / "not_graded.csv", rows, ["entry", "reason"])
    for row in rows:
        report(f"not graded: {row['entry']}: {row['reason']}")
    if options.sandbox:
        (out / "UNSANDBOXED.md").unlink(missing_ok=True)
    else:
        atomic.write_text(out / "UNSANDBOXED.md", UNSANDBOXED)
    rows = _grade_all(handed_in, tasks, out, options, (workers, scheduler), report)
    _report_shared(handed_in, tasks, out, report)
    return rows


def _report_shared(handed_in: dict, tasks: dict, out: Path, report: Callable[[str], None]) -> None:
    """Write OUT/similar_solutions.csv: students whose solutions are the same code (see `similarity`)."""
    shared = []
    for stem, (assignment, _) in tasks.items():
        solutions = {student: _solutions(notebooks.get(stem), assignment) for student, notebooks in handed_in.items()}
        shared += [row | {"exercise": f"{stem}:{row['exercise']}"} for row in similarity.shared(solutions)]
    for row in shared:
        report(f"same solution ({row['nodes']} syntax nodes): {row['exercise']}: {row['students']}")
        row["students"] = spreadsheet_safe(row["students"])
    atomic.write_csv(out / "similar_solutions.csv", shared, ["exercise", "students", "nodes"])


def _solutions(submitted: bytes | None, assignment: Assignment) -> dict[str, str]:
    """{exercise: source of the student's cell defining it} for a handed-in notebook (empty if unreadable)."""
    try:
        cells = nbformat.reads(submitted.decode(), as_version=4).cells if submitted else []
        return {e.name: c.source for e in assignment.exercises for c in cells if _defines(c, e.name)}
    except Exception:  # noqa: BLE001 (not a notebook, or a malformed one: nothing to compare)
        return {}


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
    """The submitted notebook's bytes; None if it is missing or a symbolic link (never followed)."""
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None


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
