"""Make student copies of a notebook and grade them with nbval against the reference outputs.

nbval alone compares a notebook with its *own* stored outputs, so it cannot tell a right answer
from a wrong one a student saved. `grade` first copies the reference outputs of every checked
cell (`# NBVAL_CHECK_OUTPUT`) into the student's notebook, parameterizes it for the tiny data,
then runs nbval in lax mode: a check cell passes only if the student's code reproduces the
reference output.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from course_lib.tools.course_map import NAMES
from course_lib.tools.notebooks import prepare, run_parameters

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
SOLUTION = re.compile(r"(?P<indent>[ \t]*)# BEGIN SOLUTION\n.*?# END SOLUTION[ \t]*\n?", re.DOTALL)


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` with each reference solution replaced by a placeholder, and no outputs."""
    student = copy.deepcopy(nb)
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        cell.source = SOLUTION.sub(
            lambda m: (
                f'{m["indent"]}# BEGIN SOLUTION\n{m["indent"]}raise NotImplementedError("your code here")\n'
                f"{m['indent']}# END SOLUTION\n"
            ),
            cell.source,
        )
        cell.outputs, cell.execution_count = [], None
    return student


def with_reference_outputs(student: nbformat.NotebookNode, reference: nbformat.NotebookNode) -> list[str]:
    """Copy the reference's outputs into the student's checked cells; return the problems found."""
    by_source = {c.source: c for c in reference.cells if c.cell_type == "code" and c.source.startswith(CHECK_MARK)}
    problems = [
        f"check cell missing or edited:\n{src}" for src in by_source if src not in {c.source for c in student.cells}
    ]
    for cell in student.cells:
        if cell.cell_type != "code":
            continue
        if cell.source in by_source:
            cell.outputs = copy.deepcopy(by_source[cell.source].outputs)
            cell.execution_count = by_source[cell.source].execution_count
        else:
            cell.outputs, cell.execution_count = [], None
            cell.source = cell.source.replace(CHECK_MARK, "# (not a reference check)")
    return problems


def grade(student_path: Path, reference_path: Path) -> int:
    """Run the student's notebook on the tiny data and compare its check cells; returns pytest's exit code."""
    if not reference_path.is_file():
        raise FileNotFoundError(f"no reference notebook {reference_path}; name one with --reference")
    student = nbformat.read(student_path, as_version=4)
    problems = with_reference_outputs(student, nbformat.read(reference_path, as_version=4))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    course_nb = NAMES.get(reference_path.name)
    with tempfile.TemporaryDirectory() as tmp:
        merged, prepared = Path(tmp) / "merged.ipynb", Path(tmp) / reference_path.name
        nbformat.write(student, merged)
        metrics_path = Path(tmp) / "metrics.json"
        if course_nb is None:
            parameters = {"metrics_path": str(metrics_path)}
        else:
            parameters = run_parameters(course_nb, merged, "tiny", metrics_path)
        prepare(merged, prepared, parameters)
        pytest = [sys.executable, "-m", "pytest", "-p", "course_lib.tools.nbval_plugin", "-p", "no:cacheprovider"]
        code = subprocess.call([*pytest, "--nbval-lax", "-q", str(prepared)], cwd=tmp)
    return 1 if problems else code
