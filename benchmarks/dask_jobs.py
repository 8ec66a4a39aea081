"""Benchmark: the course's Dask jobs with 1 and 2 workers — grading a class, a parameter sweep, a course run.

    python benchmarks/dask_jobs.py [--students 30] [--sweep-runs 8] [--only TEXT] [--jobs grade sweep course]

Grades `--students` copies of notebook 02 (reference solutions), sweeps notebook 01 on the tiny
data over `--sweep-runs` seeds, and runs the course notebooks whose name starts with `--only` on
the tiny data: each with 1 worker, then 2. Prints a Markdown table (seconds in all and per job)
with the CPU model and its instruction-set flags, and writes the figures as JSON. The
configurations run one after the other, never at once; these machines drift from minute to
minute, so compare figures of one run only.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.tools import assignments, runner, sweep
from course_lib.tools.bench import cpu
from course_lib.tools.grading import classes, sandbox
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

THEORY = CHECKOUT_NOTEBOOKS / "02_softmax_cross_entropy.ipynb"
SOFTMAX = CHECKOUT_NOTEBOOKS / "01_mnist_softmax_regression.ipynb"


def make_class(folder: Path, students: int) -> None:
    """`students` submissions of notebook 02, each the released copy with the reference solutions."""
    reference = nbformat.read(THEORY, as_version=4)
    solutions = [c.source for c in reference.cells if c.cell_type == "code" and assignments.is_solution_cell(c.source)]
    student = assignments.release(reference)
    answers = iter(solutions)
    for cell in student.cells:
        if cell.cell_type == "code" and assignments.is_solution_cell(cell.source):
            cell.source = next(answers)
    for k in range(students):
        (folder / f"student{k:02d}").mkdir(parents=True)
        nbformat.write(student, folder / f"student{k:02d}" / THEORY.name)


def timed(action) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        action()
    return time.perf_counter() - start


def measure(args: argparse.Namespace, tmp: Path) -> list[dict]:
    notebooks = tmp / "notebooks"
    shutil.copytree(CHECKOUT_NOTEBOOKS, notebooks)
    make_class(tmp / "class", args.students)
    seeds = [str(s) for s in range(args.sweep_runs)]
    course = len(runner.selected(args.only))
    jobs = {
        f"grade {args.students} submissions of 02": (
            args.students,
            lambda w: classes.grade_class(
                tmp / "class",
                tmp / f"grades{w}",
                notebooks,
                sandbox.GradeOptions(sandbox=sandbox.available()),
                workers=w,
            ),
        ),
        f"sweep of 01 on the tiny data, {args.sweep_runs} seeds": (
            args.sweep_runs,
            lambda w: sweep.sweep(SOFTMAX, [["seed", *seeds]], tmp / f"sweep{w}", tiny=True, workers=w),
        ),
        f"course run --tiny --only '{args.only}'": (
            course,
            lambda w: runner.run_course(
                runner.CourseRun(notebooks_dir=notebooks, out=tmp / f"run{w}", tiny=True),
                runner.selected(args.only),
                workers=w,
            ),
        ),
    }
    rows = []
    for workers in (1, 2):
        for name, (count, action) in jobs.items():
            if not name.startswith(tuple(args.jobs)):
                continue
            seconds = timed(functools.partial(action, workers))
            rows.append({"job": name, "workers": workers, "jobs": count, "seconds": seconds})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--sweep-runs", type=int, default=8)
    parser.add_argument("--only", default="", help="course notebooks to run: names starting with this (default: all)")
    parser.add_argument(
        "--jobs", nargs="+", default=["grade", "sweep", "course"], choices=["grade", "sweep", "course"],
        help="which kinds of job to measure (default: all three)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=Path("build/benchmarks/dask_jobs.json"))
    args = parser.parse_args()
    try:
        runner.selected(args.only)
    except runner.NoSuchNotebook as e:
        parser.error(str(e))
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        rows = measure(args, Path(tmp))
    print(f"CPU: {cpu()}\n")
    print("| job | workers | jobs | seconds | seconds per job |\n| --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['job']} | {r['workers']} | {r['jobs']} | {r['seconds']:.0f} | {r['seconds'] / r['jobs']:.1f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"cpu": cpu(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
