"""Scoring an exercise from its cells' reports: every combination of outcomes, no kernel started."""

from __future__ import annotations

import itertools

import nbformat
import pytest
from grading_helpers import EX1, REFERENCE, solved

from course_lib.tools import assignments
from course_lib.tools.grading import score
from course_lib.tools.grading.sandbox import GradeOptions
from course_lib.tools.grading.score import _score

ROLES = {"solution": "solution", "check 1": "check", "secret one": "hidden", "secret two": "hidden"}
EXPECTED = {("ex", key): f"reference output of {key}\n" for key in ROLES}
OUTCOMES = ("right", "wrong", "error", "missing")


def _report(key: str, outcome: str) -> dict:
    text = EXPECTED[("ex", key)] if outcome == "right" else "something else\n"
    error = "ValueError: bad input 123" if outcome == "error" else None
    return {"grading": {"exercise": "ex", "key": key}, "text": text, "stderr": "", "error": error, "seconds": 0.5}


def test_an_exercise_scores_only_if_every_cell_ran_and_every_check_and_hidden_test_printed_the_reference():
    for outcomes in itertools.product(OUTCOMES, repeat=len(ROLES)):
        reports = [_report(key, o) for key, o in zip(ROLES, outcomes) if o != "missing"]
        result = _score("ex", ROLES, [], reports, EXPECTED, 3)
        passed = all(o == "right" or (role == "solution" and o == "wrong") for role, o in zip(ROLES.values(), outcomes))
        assert result.points == (3 if passed else 0), outcomes
        assert bool(result.notes) != passed, outcomes
        feedback = "\n".join(result.notes)
        for key, role in ROLES.items():
            if role == "hidden":
                assert EXPECTED[("ex", key)] not in feedback, "a hidden test's expected output stays secret"
        hidden_notes = [n for n in result.notes if n.startswith("hidden test")]
        assert all("bad input 123" not in n for n in hidden_notes), "a hidden test's error message is not shown"


def test_a_problem_found_before_running_costs_the_exercise_whatever_the_cells_printed():
    reports = [_report(key, "right") for key in ROLES]
    result = _score("ex", ROLES, ["your solution cell uses tf.nn.softmax"], reports, EXPECTED, 3)
    assert result.points == 0 and result.notes == ["your solution cell uses tf.nn.softmax"]


def test_a_hidden_test_shows_only_a_type_python_defines_and_its_time_is_not_counted():
    """A submission could raise a class named after the test's inputs, or sleep for as long as one of them."""
    reports = [_report(key, "right") for key in ROLES]
    reports[2] = {**reports[2], "error": "ZeroDivisionError: 1 / x: x = 0", "seconds": 40.0}
    reports[3] = {**reports[3], "error": "x_equals_0_and_y_equals_7: anything", "seconds": 7.0}
    result = _score("ex", ROLES, [], reports, EXPECTED, 3)
    assert result.notes == [
        "hidden test 'secret one' raised ZeroDivisionError (the message of a hidden test is not shown)",
        "hidden test 'secret two' raised an exception of a type the submission made"
        + " (the message of a hidden test is not shown)",
    ]
    assert result.seconds == 1.0, "the solution and the visible check, 0.5 s each; the hidden tests not"


def test_what_the_notes_say_a_visible_checks_diff_a_missing_cell_and_the_stderr_shown():
    reports = [_report("solution", "right"), _report("check 1", "wrong"), _report("secret one", "wrong")]
    reports[0]["stderr"] = "a warning\n"
    reports[1]["stderr"] = "from the check\n"
    reports[2]["stderr"] = "the hidden test's inputs: 7\n"
    result = _score("ex", ROLES, [], reports, EXPECTED, 3)
    assert result.notes == [
        (
            "visible check 1 printed something else:\n"
            "    --- expected\n    +++ got\n    @@ -1 +1 @@\n    -reference output of check 1\n    +something else"
        ),
        "hidden test 'secret one' failed",
        "hidden test 'secret two' did not run (stopped before it)",
    ]
    assert result.stderr == [
        "your solution cell wrote to stderr (not graded):\na warning",
        "check 1 wrote to stderr (not graded):\nfrom the check",
    ], "not the hidden test's"
    assert (result.points, result.seconds) == (0, 1.0)
    error = [_report("solution", "error")] + [_report(key, "right") for key in list(ROLES)[1:]]
    assert _score("ex", ROLES, [], error, EXPECTED, 3).notes == ["your solution cell raised ValueError: bad input 123"]


def test_only_the_exercises_own_reports_count():
    reports = [_report(key, "right") for key in ROLES]
    other = {**_report("check 1", "error"), "grading": {"exercise": "another", "key": "check 1"}}
    assert _score("ex", ROLES, [], [other, *reports], EXPECTED, 3).points == 3
    assert _score("ex", ROLES, [], [*reports, other], EXPECTED, 3).points == 3


# ---------------------------------------------------------------- grading a notebook, the kernel faked


class CallList(list):
    calls: list


def _fake_kernel(monkeypatch, wrong=(), failing_cell=None, stopped=None):
    """`run_cells` replaced: each tagged cell "prints" the reference's output (`wrong` keys print something else).

    A cell whose source starts with `failing_cell` (a string or a tuple of them) raises; `ran` records what
    was run, and `ran.calls` the folder and options it was run with.
    """
    ran = CallList()
    ran.calls = []

    def run_cells(nb, workdir, options):
        ran.append(nb)
        ran.calls.append((workdir, options))
        reports = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            tag = cell.metadata.get("grading", {})
            key = tag.get("key", "")
            text = f"printed by {tag.get('exercise')}/{key}\n" + ("wrong\n" if key in wrong else "")
            error = (
                "NameError: name 'x' is not defined" if failing_cell and cell.source.startswith(failing_cell) else None
            )
            first = {"first_line": cell.source.splitlines()[0]} if cell.source.startswith("import") else {}
            reports.append({"grading": tag, "text": text, "stderr": "", "error": error, "seconds": 0.25, **first})
        return reports, stopped

    monkeypatch.setattr(score, "run_cells", run_cells)
    return ran


def test_grade_notebook_scores_each_exercise_against_the_references_outputs(monkeypatch):
    assignment = assignments.read_assignment(REFERENCE)
    ran = _fake_kernel(monkeypatch)
    options = GradeOptions(cell_timeout=7.0)
    expected = score.expected_outputs(REFERENCE, assignment, options)
    workdir, used = ran.calls[0]
    assert used is options and workdir.name.startswith("course-grade-") and not workdir.exists(), "removed after"
    keys = {(e.name, role) for e in assignment.exercises for role in ("solution", "check 1")}
    keys |= {(e.name, t.name) for e in assignment.exercises for t in e.hidden}
    assert set(expected) == keys and expected[(EX1, "check 1")] == f"printed by {EX1}/check 1\n"
    assert not any(assignments.is_hidden_cell(c.source) for c in ran[0].cells if "grading" not in c.metadata)
    result, reports = score.grade_notebook(solved(), assignment, expected, GradeOptions())
    assert {n: r.points for n, r in result.exercises.items()} == {e.name: e.points for e in assignment.exercises}
    assert result.notes == [] and len(reports) == sum(c.cell_type == "code" for c in ran[1].cells)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in ran[1].cells), "the tiny parameters"

    _fake_kernel(monkeypatch, wrong={"check 1"}, failing_cell=("import", "x ="), stopped="the notebook ran out of time")
    student = solved()
    student.cells.append(nbformat.v4.new_code_cell("x = 1 / 0"))
    next(c for c in student.cells if "parameters" in c.metadata.get("tags", [])).source += "#" * 4000
    result, _ = score.grade_notebook(student, assignment, expected, GradeOptions())
    assert all(r.points == 0 and r.notes[0].startswith("visible check 1 printed") for r in result.exercises.values())
    assert (
        result.notes[0].startswith("the parameters cell holds ") and result.notes[1] == "the notebook ran out of time"
    )
    assert result.notes[2].startswith(f"{score.UNGRADED_ERROR} `import") and result.notes[2].endswith(
        "raised NameError: name 'x' is not defined"
    )
    assert result.notes[3] == f"{score.UNGRADED_ERROR} `` raised NameError: name 'x' is not defined", (
        "no first line known"
    )


def test_a_reference_that_fails_its_own_checks_is_refused_but_an_ungraded_error_is_not(monkeypatch):
    assignment = assignments.read_assignment(REFERENCE)
    _fake_kernel(monkeypatch, failing_cell="import")
    assert score.expected_outputs(REFERENCE, assignment, GradeOptions()), "an error outside the graded cells"
    _fake_kernel(monkeypatch, failing_cell=("# NBVAL_CHECK_OUTPUT", "def my_softmax"))
    refused = (
        f"the reference {REFERENCE.name} does not pass its own checks: .*{EX1}: your solution cell raised .*; check 1"
    )
    with pytest.raises(ValueError, match=refused):
        score.expected_outputs(REFERENCE, assignment, GradeOptions())
    _fake_kernel(monkeypatch, stopped="the kernel died")
    with pytest.raises(ValueError, match="the kernel died"):
        score.expected_outputs(REFERENCE, assignment, GradeOptions())
