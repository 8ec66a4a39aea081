"""The `course` command: run the course, prepare nbval copies, promote runs, release students' copies, grade a class.

    course run [--tiny] [--data-dir DIR] [--accept-mirror] [--out DIR] [--only TEXT] [--workers N | --scheduler ADDR]
    course prepare-nbval FOLDER [--notebooks DIR]
    course promote EXECUTED TARGET
    course release NOTEBOOK... --out DIR
    course grade SUBMISSIONS --out DIR [--workers N | --scheduler ADDR] [--cell-timeout S] [--timeout S] [--no-sandbox]
    course sweep NOTEBOOK -p NAME V1 V2 ... [-p ...] --out DIR [--tiny] [--metric KEY] [--workers N | --scheduler ADDR]
    course bench [--quick] [--rounds N] [--seconds S] [--json PATH]

`python -m course_lib.tools` is the same command. `course SUBCOMMAND --help` explains each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from course_lib import atomic, data
from course_lib.tools import assignments, bench, notebooks, runner, sweep
from course_lib.tools.course_map import NOTEBOOKS
from course_lib.tools.grading import classes, sandbox


def _notebooks_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notebooks", type=Path, default=None,
        help="folder holding the course notebooks (default: the checkout's notebooks/, else ./notebooks)",
    )  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    try:
        folder = notebooks.notebooks_dir(args.notebooks)
        course = runner.CourseRun(
            notebooks_dir=folder, out=args.out, tiny=args.tiny, data_dir=args.data_dir, accept_mirror=args.accept_mirror
        )
        entries = runner.selected(args.only)
        print(runner.plan(entries, folder, args.tiny), flush=True)
        outcome = runner.run_course(course, entries, workers=args.workers, scheduler=args.scheduler, report=_status)
    except (data.DataError, FileNotFoundError, runner.NoSuchNotebook) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(outcome.table)
    return 1 if outcome.failed else 0


def _status(line: str) -> None:
    """A status line printed above any progress bar on screen."""
    tqdm.write(line, file=sys.stdout)


def _prepare_nbval(args: argparse.Namespace) -> int:
    folder = notebooks.notebooks_dir(args.notebooks)
    for nb in NOTEBOOKS:
        print(f"prepared {notebooks.prepare_tiny_copy(nb, folder, args.folder)}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    notebooks.promote(args.executed, args.target)
    print(f"promoted {args.executed} -> {args.target}")
    return 0


def _release(args: argparse.Namespace) -> int:
    for path in args.notebooks:
        try:
            student = assignments.release(nbformat.read(path, as_version=4))
        except (OSError, ValueError) as e:
            print(f"error: {path} is not a readable notebook: {e}", file=sys.stderr)
            return 2
        target = args.out / path.name
        atomic.write_text(target, nbformat.writes(student) + "\n")
        print(f"released {target}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    options = sandbox.GradeOptions(cell_timeout=args.cell_timeout, timeout=args.timeout, sandbox=not args.no_sandbox)
    if args.no_sandbox:
        print("warning: --no-sandbox: student code runs with your rights (files, network, processes)", file=sys.stderr)
    try:
        folder = notebooks.notebooks_dir(args.notebooks)
        rows = classes.grade_class(
            args.submissions, args.out, folder, options, workers=args.workers, scheduler=args.scheduler, report=_status
        )
    except (FileNotFoundError, ValueError, sandbox.SandboxMissing) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"graded {len(rows)} students: {args.out / 'gradebook.csv'}, feedback in {args.out / 'feedback'}")
    return 0


def _dask_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--workers", type=int, default=1, help=f"{what} at once, on a local Dask cluster of that many processes (1)"
    )
    parser.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler to run on instead")


def _sweep(args: argparse.Namespace) -> int:
    try:
        rows = sweep.sweep(
            args.notebook, args.p, args.out, tiny=args.tiny, metric=args.metric, data_dir=args.data_dir,
            workers=args.workers, scheduler=args.scheduler, report=_status,
        )  # fmt: skip
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = [r["run"] for r in rows if r["status"] != "ok"]
    print(f"{len(rows)} runs in {args.out / 'sweep.csv'}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _bench(args: argparse.Namespace) -> int:
    rounds = 1 if args.quick else args.rounds
    seconds = 0.05 if args.quick else args.seconds
    try:
        report = bench.bench(args.quick, rounds, seconds, args.json, progress=lambda m: print(m, file=sys.stderr))
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(report)
    return 0


def parser() -> argparse.ArgumentParser:
    """The `course` command line, one subcommand per task."""
    top = argparse.ArgumentParser(
        prog="course", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    run = sub.add_parser("run", help="execute every notebook headless, in course order; write OUT/results.md")
    run.add_argument("--tiny", action="store_true", help="use the built-in tiny datasets (offline, minutes)")
    run.add_argument(
        "--data-dir", default="", help="folder holding the datasets (default: $COURSE_DATA_DIR or ~/.course_data)"
    )
    run.add_argument("--accept-mirror", action="store_true", help="accept re-packed local copies, checked by structure")
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    run.add_argument(
        "--only",
        default="",
        help="run only the notebooks whose file name starts with this (07 runs 07 and 07b, 07_ only 07)",
    )
    _notebooks_option(run)
    _dask_options(run, "notebooks")
    run.set_defaults(func=_run)

    prep = sub.add_parser("prepare-nbval", help="write every notebook parameterized for the tiny data (nothing run)")
    prep.add_argument("folder", type=Path, help="where the copies go (their metrics go to FOLDER/metrics/)")
    _notebooks_option(prep)
    prep.set_defaults(func=_prepare_nbval)

    promote = sub.add_parser("promote", help="copy an executed notebook over its source, minus run metadata")
    promote.add_argument("executed", type=Path, help="a notebook executed by `course run` (OUT/notebooks/NAME)")
    promote.add_argument("target", type=Path, help="the notebook to overwrite (notebooks/NAME)")
    promote.set_defaults(func=_promote)

    release = sub.add_parser("release", help="write students' copies: no solutions, no hidden tests, no outputs")
    release.add_argument("notebooks", type=Path, nargs="+", metavar="NOTEBOOK", help="reference notebooks")
    release.add_argument("--out", type=Path, required=True, help="folder for the copies (same file names)")
    release.set_defaults(func=_release)

    grade = sub.add_parser("grade", help="grade a class: OUT/gradebook.csv and OUT/feedback/<student>.md")
    grade.add_argument("submissions", type=Path, help="a folder holding one folder per student, named by the student")
    grade.add_argument("--out", type=Path, required=True, help="folder for the gradebook and the feedback")
    _dask_options(grade, "submissions")
    grade.add_argument(
        "--cell-timeout", type=float, default=120.0, help="seconds a cell may run before it is interrupted (120)"
    )
    grade.add_argument("--timeout", type=float, default=900.0, help="seconds one submitted notebook may run (900)")
    grade.add_argument(
        "--no-sandbox", action="store_true",
        help="grade without bubblewrap: student code runs with your rights (trusted submissions only)",
    )  # fmt: skip
    _notebooks_option(grade)
    grade.set_defaults(func=_grade)
    sw = sub.add_parser("sweep", help="run a notebook for every combination of parameter values: OUT/sweep.csv")
    sw.add_argument("notebook", type=Path)
    sw.add_argument(
        "-p", nargs="+", action="append", required=True, metavar=("NAME", "VALUE"),
        help="a parameter and the values to try (repeat -p for a grid)",
    )  # fmt: skip
    sw.add_argument("--out", type=Path, required=True, help="folder for sweep.csv, runs/ and sweep.png")
    sw.add_argument("--tiny", action="store_true", help="use the built-in tiny datasets and the course's tiny settings")
    sw.add_argument("--data-dir", default="", help="folder holding the datasets (default: each worker's own)")
    sw.add_argument("--metric", default="", help="key figure to plot against the swept parameters (sweep.png)")
    _dask_options(sw, "runs")
    sw.set_defaults(func=_sweep)

    speed = sub.add_parser("bench", help="training/inference images/s of every model, per TensorFlow setting")
    speed.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, one round, the course's setting only: checks that every row fills",
    )
    speed.add_argument("--rounds", type=int, default=3, help="rounds of all settings in turn (3)")
    speed.add_argument("--seconds", type=float, default=4.0, help="seconds each figure is timed for (4)")
    speed.add_argument("--json", type=Path, default=None, help="write every figure, each round's too, here")
    speed.set_defaults(func=_bench)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `course` console script."""
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
