"""Grading a class whose submissions loop: one in a solution cell, one deaf to interrupts.

Apart from the hostile class (test_grading_hostile.py) so that each class is one short fixture, and
the files can run on both test workers at once.
"""

from __future__ import annotations

import nbformat
import pytest
from grading_helpers import EX1, exercise_lines, grade, points, reference_solutions, solved


@pytest.fixture(scope="module")
def looping_class(tmp_path_factory):
    """emil (loops in exercise 1's solution), otto (loops deaf to interrupts before the exercises)."""
    deaf = solved()  # ignores interrupts, then loops: its kernel must be killed, not wait out --timeout
    deaf.cells.insert(
        1,
        nbformat.v4.new_code_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
    )
    students = {
        "emil_loop": solved({EX1: reference_solutions()[EX1] + "\n\n\nwhile True:\n    pass"}),
        "otto_deaf": deaf,
    }
    return grade(tmp_path_factory.mktemp("loops"), students)


@pytest.mark.notebooks
def test_a_loop_costs_its_exercise_and_the_class_goes_on(looping_class):
    assert points(looping_class) == {
        "emil_loop": ("0", "2", "2", "4"),
        "otto_deaf": ("0", "0", "0", "4"),
    }
    assert exercise_lines(looping_class["feedback"]["emil_loop"], EX1)[1:] == [
        "  - your solution cell raised CellTimeoutError: the cell ran past the cell timeout (30 s) and was interrupted"
    ]
    deaf = (
        "raised CellTimeoutError: the cell ran past the cell timeout (30 s) and was interrupted, ignored the interrupt"
    )
    assert any(deaf in line for line in looping_class["feedback"]["otto_deaf"].splitlines()), "killed, not waited for"
