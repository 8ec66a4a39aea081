"""Grading: a student's notebook passes only if its code reproduces the reference check outputs."""

from __future__ import annotations

import nbformat
import pytest

from course_lib.tools import cli, grading
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

THEORY = CHECKOUT_NOTEBOOKS / "02_softmax_cross_entropy.ipynb"
NAIVE_SOFTMAX = """def my_softmax(z):
    # BEGIN SOLUTION
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
    # END SOLUTION"""


def test_student_copy_removes_every_solution(tmp_path):
    assert cli.main(["student-copy", str(THEORY), str(tmp_path / "student.ipynb")]) == 0
    student = nbformat.read(tmp_path / "student.ipynb", as_version=4)
    sources = [c.source for c in student.cells if c.cell_type == "code"]
    assert sum("raise NotImplementedError" in s for s in sources) == 2
    assert not any("shifted = z - z.max" in s for s in sources)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


@pytest.fixture
def student_notebook(tmp_path):
    def write(change_solution: bool, keep_reference_outputs: bool = False, edit_check: bool = False):
        nb = nbformat.read(THEORY, as_version=4)
        if change_solution:
            cell = next(c for c in nb.cells if c.source.startswith("def my_softmax"))
            cell.source = NAIVE_SOFTMAX
        if edit_check:  # a check cell rewritten so that it can only pass
            cell = next(c for c in nb.cells if c.source.startswith(grading.CHECK_MARK))
            cell.source = grading.CHECK_MARK + "\nprint('all good')"
        for cell in nb.cells:  # a student's own run: its outputs must not matter
            if cell.cell_type == "code" and not keep_reference_outputs:
                cell.outputs = []
        path = tmp_path / THEORY.name
        nbformat.write(nb, path)
        return path

    return write


def test_reference_solution_passes_from_the_command_line(student_notebook):
    assert cli.main(["grade", str(student_notebook(change_solution=False))]) == 0


def test_wrong_solution_fails_its_check(student_notebook):
    assert grading.grade(student_notebook(change_solution=True), THEORY) != 0


def test_wrong_solution_fails_even_with_the_reference_outputs_saved_in_the_file(student_notebook):
    assert grading.grade(student_notebook(change_solution=True, keep_reference_outputs=True), THEORY) != 0


def test_an_edited_check_cell_fails(student_notebook, capsys):
    assert grading.grade(student_notebook(change_solution=False, edit_check=True), THEORY) != 0
    assert "check cell missing or edited" in capsys.readouterr().err


def test_grading_a_notebook_the_course_does_not_have_is_a_clear_error(tmp_path, capsys):
    student = tmp_path / "99_unknown.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), student)
    assert cli.main(["grade", str(student)]) == 2
    assert "no reference notebook" in capsys.readouterr().err
