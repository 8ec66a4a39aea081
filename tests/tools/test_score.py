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
