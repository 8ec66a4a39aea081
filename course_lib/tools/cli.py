"""The `course` command: run the course, prepare nbval copies, promote runs, make student copies, grade.

    course run [--tiny] [--data-dir DIR] [--accept-mirror] [--out DIR] [--only TEXT] [--notebooks DIR]
    course prepare-nbval FOLDER [--notebooks DIR]
    course promote EXECUTED TARGET
    course student-copy NOTEBOOK OUTPUT
    course grade STUDENT_NOTEBOOK [--reference NOTEBOOK] [--notebooks DIR]

`python -m course_lib.tools` is the same command. `course SUBCOMMAND --help` explains each.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from course_lib import atomic, data
from course_lib.tools import grading, notebooks, runner
from course_lib.tools.course_map import NOTEBOOKS


def _notebooks_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notebooks", type=Path, default=None,
        help="folder holding the course notebooks (default: the checkout's notebooks/, else ./notebooks)",
    )  # fmt: skip


def _run(args: argparse.Namespace) -> int:
    try:
        folder = notebooks.notebooks_dir(args.notebooks)
        failed = runner.run(folder, args.out, args.tiny, args.data_dir, args.accept_mirror, args.only)
    except (data.DataError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def _prepare_nbval(args: argparse.Namespace) -> int:
    folder = notebooks.notebooks_dir(args.notebooks)
    for nb in NOTEBOOKS:
        print(f"prepared {notebooks.prepare_tiny_copy(nb, folder, args.folder)}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    notebooks.promote(args.executed, args.target)
    print(f"promoted {args.executed} -> {args.target}")
    return 0


def _student_copy(args: argparse.Namespace) -> int:
    student = grading.strip_solutions(nbformat.read(args.notebook, as_version=4))
    atomic.write_text(args.output, nbformat.writes(student) + "\n")
    print(f"wrote {args.output}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    try:
        reference = args.reference or notebooks.notebooks_dir(args.notebooks) / args.notebook.name
        return grading.grade(args.notebook, reference)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


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
    run.add_argument("--only", default="", help="run only the notebooks whose file name contains this")
    _notebooks_option(run)
    run.set_defaults(func=_run)

    prep = sub.add_parser("prepare-nbval", help="write every notebook parameterized for the tiny data (nothing run)")
    prep.add_argument("folder", type=Path, help="where the copies go (their metrics go to FOLDER/metrics/)")
    _notebooks_option(prep)
    prep.set_defaults(func=_prepare_nbval)

    promote = sub.add_parser("promote", help="copy an executed notebook over its source, minus run metadata")
    promote.add_argument("executed", type=Path, help="a notebook executed by `course run` (OUT/notebooks/NAME)")
    promote.add_argument("target", type=Path, help="the notebook to overwrite (notebooks/NAME)")
    promote.set_defaults(func=_promote)

    copy = sub.add_parser("student-copy", help="write a copy with the reference solutions and outputs removed")
    copy.add_argument("notebook", type=Path)
    copy.add_argument("output", type=Path)
    copy.set_defaults(func=_student_copy)

    grade = sub.add_parser("grade", help="grade a student's notebook against the reference check outputs")
    grade.add_argument("notebook", type=Path, help="the student's notebook, named as the course notebook")
    grade.add_argument("--reference", type=Path, default=None, help="the reference notebook (default: the course's)")
    _notebooks_option(grade)
    grade.set_defaults(func=_grade)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `course` console script."""
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
