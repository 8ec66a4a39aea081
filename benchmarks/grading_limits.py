"""Benchmark: the grader's work outside any kernel on an oversized submission, unbounded and within `grading.limits`.

    python benchmarks/grading_limits.py [--parameters 4000 20000] [--code 100000 1000000] [--cells 1000 200000]

"unbounded" is what the grader did before the limits on the same input: papermill reading the
parameters cell (a line `note: "a<spaces>b"`, quadratic for its regex); the grader's rules parsing
a notebook with that much code in its solution cell; the shared-solution pass parsing it again;
nbformat reading a notebook of that many empty cells, the grader's rules and the shared-solution
pass reading them.
"bounded" is what it does now: the same work up to the limit, a note beyond it. No kernel starts.
Prints seconds; these machines drift, so compare figures of one run only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from papermill.translators import PythonTranslator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from grading_helpers import EX1, REFERENCE, STEM, reference_solutions, solved

from course_lib.tools import assignments
from course_lib.tools.grading import build, classes, limits, report, sandbox
from course_lib.tools.grading.report import defines
from course_lib.tools.grading.similarity import _fingerprint


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def parameters_row(chars: int, tmp: Path) -> tuple[float, float]:
    """Seconds to read a parameters cell of about `chars` characters: papermill alone, then `build.parameterized`."""
    nb, _ = build.graded_notebook(solved(), assignments.read_assignment(REFERENCE))
    cell = next(c for c in nb.cells if "parameters" in c.metadata.tags)
    padding = " " * max(0, chars - len(cell.source) - len('note: "ab"\n'))
    cell.source = f'note: "a{padding}b"\n' + cell.source  # a line of its own: papermill's worst case
    return seconds(lambda: PythonTranslator.inspect(cell)), seconds(lambda: build.parameterized(nb, STEM, tmp))


def code_rows(chars: int, tmp: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """Seconds for a notebook with `chars` characters of code, most in its solution cell: grading, shared solutions."""
    assignment = assignments.read_assignment(REFERENCE)
    items = (chars - limits.code_chars(solved()) - len("\nx = []\n")) // 2
    student = solved({EX1: reference_solutions()[EX1] + "\nx = [" + "1," * items + "]\n"})
    content = nbformat.writes(student).encode()
    tasks, options = {STEM: (assignment, {})}, sandbox.GradeOptions(data_dir=tmp)
    unbounded_grading = seconds(lambda: build.graded_notebook(student, assignment))
    bounded_grading = (
        seconds(lambda: classes.grade_student({STEM: content}, tasks, options))
        if limits.code_chars(student) > limits.CODE_CHARS
        else unbounded_grading  # within the limit the work is the same (the kernel would start next)
    )

    def unbounded_shared() -> None:
        cells = nbformat.reads(content.decode(), as_version=4).cells
        for source in [c.source for e in assignment.exercises for c in cells if defines(c, e.name)]:
            _fingerprint(source, EX1)

    bounded_shared = seconds(lambda: report._solutions(content, assignment))
    return (unbounded_grading, bounded_grading), (seconds(unbounded_shared), bounded_shared)


def cells_row(cells: int, tmp: Path) -> tuple[float, float]:
    """Seconds for a notebook of `cells` cells, all but the reference's empty: before the limit, then with it."""
    assignment = assignments.read_assignment(REFERENCE)
    student = solved()
    student.cells += [nbformat.v4.new_code_cell("", id=f"empty-{k}") for k in range(cells - len(student.cells))]
    content = nbformat.writes(student).encode()
    tasks, options = {STEM: (assignment, {})}, sandbox.GradeOptions(data_dir=tmp)

    def unbounded() -> None:
        build.graded_notebook(nbformat.reads(content.decode(), as_version=4), assignment)
        cells = nbformat.reads(content.decode(), as_version=4).cells
        [_fingerprint(c.source, EX1) for e in assignment.exercises for c in cells if defines(c, e.name)]

    def bounded() -> None:
        if limits.too_large(content):
            classes.grade_student({STEM: content}, tasks, options)
            report._solutions(content, assignment)
        else:
            unbounded()  # within the limit the work is the same (the kernel would start next)

    return seconds(unbounded), seconds(bounded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameters", type=int, nargs="+", default=[4_000, 20_000])
    parser.add_argument("--code", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--cells", type=int, nargs="+", default=[1_000, 200_000])
    args = parser.parse_args()
    print("| work | size (characters, cells) | limit | unbounded s | bounded s |\n| --- | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for chars in args.parameters:
            before, after = parameters_row(chars, Path(tmp))
            print(f"| parameters cell | {chars:,} | {limits.PARAMETERS_CELL_CHARS:,} | {before:.2f} | {after:.2f} |")
        for chars in args.code:
            grading, shared = code_rows(chars, Path(tmp))
            print(
                f"| grading, before the kernel | {chars:,} | {limits.CODE_CHARS:,} | {grading[0]:.2f} | {grading[1]:.2f} |"
            )
            print(f"| shared solutions | {chars:,} | {limits.CODE_CHARS:,} | {shared[0]:.2f} | {shared[1]:.2f} |")
        for cells in args.cells:
            before, after = cells_row(cells, Path(tmp))
            print(
                f"| empty cells: reading, rules, shared | {cells:,} | {limits.CELLS:,} | {before:.2f} | {after:.2f} |"
            )


if __name__ == "__main__":
    main()
