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


def _notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    kinds = {"md": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell}
    nb.cells = [kinds[c.split(":")[0]](c.split(":", 1)[1]) if c.split(":")[0] in kinds else nbformat.v4.new_code_cell(c)
                for c in cells]  # fmt: skip
    nbformat.write(nb, tmp_path / "nb.ipynb")
    return tmp_path / "nb.ipynb"


SOLVED = "def {0}(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION"
HIDDEN_TEST = "# BEGIN HIDDEN TESTS\n{0}print({1}(3))\n# END HIDDEN TESTS"


def test_points_checks_and_hidden_tests_belong_to_the_exercise_before_them(tmp_path):
    path = _notebook(
        tmp_path,
        "raw:a raw cell",
        "# NBVAL_CHECK_OUTPUT\nprint('a check before any exercise')",
        "md:### Exercise 1: f (3 points)",
        "md:Some words without points.",
        SOLVED.format("f"),
        "# NBVAL_CHECK_OUTPUT\nprint(f(1))",
        "print('an ordinary cell')",
        HIDDEN_TEST.format("", "f"),
        HIDDEN_TEST.format("# hidden test: big  \n", "f"),
        "md:### Exercise 2: g (1 point)",
        SOLVED.format("g"),
        HIDDEN_TEST.format("", "g"),
    )
    assignment = assignments.read_assignment(path)
    assert assignment.stem == "nb" and assignment.max_points == 4
    f, g = assignment.exercises
    assert (f.name, f.points, f.checks, g.name, g.points, g.checks) == (
        "f",
        3,
        ("# NBVAL_CHECK_OUTPUT\nprint(f(1))",),
        "g",
        1,
        (),
    )
    assert [t.name for t in f.hidden] == ["hidden test 1", "big"] and [t.name for t in g.hidden] == ["hidden test 1"]
    assert f.hidden[0].source == HIDDEN_TEST.format("", "f")


def test_each_exercise_declares_its_own_points_and_a_solution_defines_a_function(tmp_path):
    twice = _notebook(tmp_path, "md:### Exercise 1: f (2 points)", SOLVED.format("f"), SOLVED.format("g"))
    with pytest.raises(ValueError, match="nb.ipynb: exercise g declares no points"):
        assignments.read_assignment(twice)
    nameless = _notebook(tmp_path, "md:## Task (2 points)", "# BEGIN SOLUTION\nx = 1\n# END SOLUTION")
    with pytest.raises(ValueError, match="nb.ipynb: a solution cell defines no function:\n# BEGIN SOLUTION"):
        assignments.read_assignment(nameless)
    early = _notebook(tmp_path, HIDDEN_TEST.format("", "f"))
    with pytest.raises(ValueError, match="nb.ipynb: a hidden test cell comes before any exercise:\n# BEGIN HIDDEN"):
        assignments.read_assignment(early)


def test_removing_hidden_tests_keeps_the_rest_of_their_cell_and_the_original():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1\n" + HIDDEN_TEST.format("", "f") + "\nprint(x)"),
        nbformat.v4.new_code_cell(HIDDEN_TEST.format("", "f") + "\n\n"),
        nbformat.v4.new_markdown_cell("# BEGIN HIDDEN TESTS\nin a markdown cell stays\n# END HIDDEN TESTS"),
        nbformat.v4.new_code_cell("b = X\n" + HIDDEN_TEST.format("", "f")),
        nbformat.v4.new_code_cell("c = 1 \n" + HIDDEN_TEST.format("", "f")),
    ]
    kept = assignments.without_hidden_tests(nb)
    assert [c.source for c in kept.cells] == [
        "x = 1\nprint(x)", "# BEGIN HIDDEN TESTS\nin a markdown cell stays\n# END HIDDEN TESTS", "b = X", "c = 1 "
    ]  # fmt: skip
    assert len(nb.cells) == 5 and nb.cells[0].source.startswith("x = 1\n# BEGIN HIDDEN"), "the original is untouched"
    assert assignments.is_hidden_cell("## END HIDDEN TESTS") and not assignments.is_hidden_cell("hidden tests")
    assert assignments.is_solution_cell(
        "  ### BEGIN SOLUTION \n  y\n  ### END SOLUTION"
    ) and not assignments.is_solution_cell("# BEGIN SOLUTION")


def test_a_released_cell_says_its_rule_only_for_a_solution_of_an_exercise_with_one():
    ruled = next(iter(RULES))
    source = f"def {ruled}(z):\n\t### BEGIN SOLUTION\n\treturn z\n\t### END SOLUTION\n"
    assert assignments._with_rule(source).splitlines()[1:3] == [
        f"\t# This exercise {RULES[ruled].says()}.",
        "\t### BEGIN SOLUTION",
    ]
    assert assignments._with_rule(f"def {ruled}(z):\n    return z") == f"def {ruled}(z):\n    return z", (
        "not a solution cell"
    )
    free = SOLVED.format("no_rule_for_this")
    assert assignments._with_rule(free) == free
    twice = f"def {ruled}(z):\n    # BEGIN SOLUTION\n    a = z\n    # END SOLUTION\n    # BEGIN SOLUTION\n    return a\n    # END SOLUTION"
    assert assignments._with_rule(twice).count("# This exercise") == 1, "said once, above the first block"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION")]
    assert assignments.release(nb).cells[0].source == f"# BEGIN SOLUTION\n{assignments.PLACEHOLDER}\n# END SOLUTION"
    nb.cells = [nbformat.v4.new_code_cell(c) for c in ("y = X\n\n", "y = 1 \n")]
    assert [c.source for c in assignments.release(nb).cells] == ["y = X", "y = 1 "]
    nb.cells = [nbformat.v4.new_code_cell(SOLVED.format("f") + "\n\n\n")]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="42")]
    nb.cells[0].execution_count = 3
    out = assignments.release(nb).cells[0]
    assert out.source == f"def f(x):\n    # BEGIN SOLUTION\n    {assignments.PLACEHOLDER}\n    # END SOLUTION"
    assert (out.outputs, out.execution_count) == ([], None)
