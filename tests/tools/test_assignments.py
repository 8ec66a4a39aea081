"""`course_lib.tools.assignments`: reading an assignment (exercises, points, checks, hidden tests) and releasing the
students' copy."""

from __future__ import annotations

import nbformat
import pytest
from grading_helpers import EX1, EX2, REFERENCE, check_cells, released

from course_lib.exercise_rules import RULES
from course_lib.tools import assignments, cli
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS


def test_the_assignment_lists_exercises_points_checks_and_hidden_tests():
    assignment = assignments.read_assignment(REFERENCE)
    assert [(e.name, e.points, len(e.checks), len(e.hidden)) for e in assignment.exercises] == [
        (EX1, 2, 1, 1),
        (EX2, 2, 1, 1),
    ]
    assert assignment.exercises[0].hidden[0].name == "logits never shown, some in the thousands"
    assert assignment.max_points == 4


def test_every_course_exercise_declares_its_points():
    for path in sorted(CHECKOUT_NOTEBOOKS.glob("*.ipynb")):
        for exercise in assignments.read_assignment(path).exercises:
            assert exercise.points > 0 and exercise.checks, f"{path.name}: {exercise.name}"


def test_an_exercise_without_points_or_with_a_broken_hidden_marker_is_refused(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("### Exercise 1: twice"),
        nbformat.v4.new_code_cell("def twice(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION"),
    ]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    with pytest.raises(
        ValueError, match=r"exercise twice declares no points; end its markdown heading with '\(N points\)'"
    ):
        assignments.read_assignment(tmp_path / "nb.ipynb")
    nb.cells[0].source += " (3 points)"
    nb.cells.append(nbformat.v4.new_code_cell("# BEGIN HIDDEN TESTS\nprint(twice(4))"))
    nbformat.write(nb, tmp_path / "nb.ipynb")
    with pytest.raises(ValueError, match="lacks its BEGIN/END HIDDEN TESTS pair"):
        assignments.read_assignment(tmp_path / "nb.ipynb")


def test_release_removes_solutions_hidden_tests_and_outputs_and_keeps_the_checks():
    reference, student = nbformat.read(REFERENCE, as_version=4), released()
    sources = [c.source for c in student.cells if c.cell_type == "code"]
    assert sum(assignments.PLACEHOLDER in s for s in sources) == 2
    assert not any("shifted = z - z.max" in s or "HIDDEN" in s for s in sources)
    assert all(not c.outputs and c.execution_count is None for c in student.cells if c.cell_type == "code")
    assert [c.source for c in check_cells(student)] == [c.source for c in check_cells(reference)]
    assert len(student.cells) == len(reference.cells) - 2  # the two hidden-test cells
    rule = f"    # This exercise {RULES[EX1].says()}.\n    # BEGIN SOLUTION"
    assert sum(rule in s for s in sources) == 1, "the released cell says what the exercise may use"


def test_release_accepts_nbgraders_spelling_of_the_solution_markers(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION")]
    assert assignments.release(nb).cells[0].source == (
        f"def f():\n    # BEGIN SOLUTION\n    {assignments.PLACEHOLDER}\n    # END SOLUTION"
    )


def test_release_from_the_command_line_and_a_clear_error_for_a_broken_notebook(tmp_path, capsys):
    assert cli.main(["release", str(REFERENCE), "--out", str(tmp_path / "out")]) == 0
    assert nbformat.read(tmp_path / "out" / REFERENCE.name, as_version=4).cells
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert cli.main(["release", str(broken), "--out", str(tmp_path / "out")]) == 2
    assert "is not a readable notebook" in capsys.readouterr().err
    assert not (tmp_path / "out" / "broken.ipynb").exists()
