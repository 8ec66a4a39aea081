"""Scoring an exercise from its cells' reports: every combination of outcomes, no kernel started."""

from __future__ import annotations

import itertools

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
    reports[2] = {**reports[2], "error": "ZeroDivisionError: 1 / x with x = 0", "seconds": 40.0}
    reports[3] = {**reports[3], "error": "x_equals_0_and_y_equals_7: anything", "seconds": 7.0}
    result = _score("ex", ROLES, [], reports, EXPECTED, 3)
    assert result.notes == [
        "hidden test 'secret one' raised ZeroDivisionError (the message of a hidden test is not shown)",
        "hidden test 'secret two' raised an exception of a type the submission made"
        + " (the message of a hidden test is not shown)",
    ]
    assert result.seconds == 1.0, "the solution and the visible check, 0.5 s each; the hidden tests not"
