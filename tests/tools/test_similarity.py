"""Shared solutions: renamed, re-commented, re-laid-out copies match; different code, placeholders and other libraries do not."""

import csv

import nbformat
import pytest
from grading_helpers import REFERENCE, STEM, solved

from course_lib.tools import assignments
from course_lib.tools.assignments import PLACEHOLDER
from course_lib.tools.grading import limits, report, similarity

ALICE = '''
def my_softmax(z):
    """Stable softmax."""
    shifted = z - np.max(z, axis=-1, keepdims=True)  # avoid overflow
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)
'''
BOB = """
def my_softmax(logits):
    # mine!
    s = logits - np.max(logits, axis=-1, keepdims=True)


    exps = np.exp(s)
    return exps / exps.sum(axis=-1, keepdims=True)
"""
CAROL_OTHER_LIBRARY = BOB.replace("np.exp", "tf.exp")
DAN_DIFFERENT = """
def my_softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
"""
UNSOLVED = f"def my_softmax(z):\n    {PLACEHOLDER}\n"


def test_a_renamed_recommented_copy_matches():
    assert similarity.fingerprint(ALICE, "my_softmax")[0] == similarity.fingerprint(BOB, "my_softmax")[0]


def test_a_magic_line_hides_no_copy():  # found by a fourth hostile review
    for magic in ["%matplotlib inline\n", "%time x = 1\n"]:
        assert similarity.fingerprint(magic + BOB, "my_softmax")[0] == similarity.fingerprint(ALICE, "my_softmax")[0]


def test_other_code_or_another_library_does_not_match():
    alice = similarity.fingerprint(ALICE, "my_softmax")[0]
    assert similarity.fingerprint(CAROL_OTHER_LIBRARY, "my_softmax")[0] != alice, "np.exp is not tf.exp"
    assert similarity.fingerprint(DAN_DIFFERENT, "my_softmax")[0] != alice


def test_placeholders_broken_code_and_missing_functions_are_never_matched():
    assert similarity.fingerprint(UNSOLVED, "my_softmax") is None
    assert similarity.fingerprint("def my_softmax(z:\n", "my_softmax") is None
    assert similarity.fingerprint(ALICE, "other_name") is None


def test_shared_groups_students_by_exercise_largest_code_first():
    solutions = {
        "alice": {"my_softmax": ALICE, "bce": "def bce(y, z):\n    return np.mean(z)\n"},
        "bob": {"my_softmax": BOB, "bce": "def bce(t, x):\n    return np.mean(x)\n"},
        "carol": {"my_softmax": CAROL_OTHER_LIBRARY, "bce": "def bce(y, z):\n    return np.mean(y)\n"},
        "erin": {"my_softmax": UNSOLVED},
        "fred": {"my_softmax": UNSOLVED},
    }
    rows = similarity.shared(solutions)
    assert [(r["exercise"], r["students"]) for r in rows] == [("my_softmax", "alice; bob"), ("bce", "alice; bob")]
    assert rows[0]["nodes"] > rows[1]["nodes"] > 0


def test_code_too_deep_to_read_is_never_matched_and_never_crashes():
    deep = "def my_softmax(z):\n    return " + "+".join(["z"] * 1000) + "\n"
    assert similarity.fingerprint(deep, "my_softmax") is None
    assert similarity.shared({"a": {"my_softmax": deep}, "b": {"my_softmax": deep}}) == []


def test_a_solution_longer_than_the_limit_is_never_read(monkeypatch):
    padded = ALICE + "\n" + "#" * similarity.SIMILARITY_CELL_CHARS + "\n"
    monkeypatch.setattr(similarity.ast, "parse", lambda *args: pytest.fail("a cell over the limit was parsed"))
    assert similarity.fingerprint(padded, "my_softmax") is None
    assert similarity.shared({"a": {"my_softmax": padded}, "b": {"my_softmax": padded}}) == []


def test_shared_code_skips_long_cells_and_long_notebooks_with_a_note(tmp_path):
    assignment = assignments.read_assignment(REFERENCE)
    long_cell, long_notebook = solved(), solved()
    long_cell.cells.append(nbformat.v4.new_code_cell("#" * (limits.SIMILARITY_CELL_CHARS + 1)))
    cells = limits.CODE_CHARS // limits.SIMILARITY_CELL_CHARS + 1  # each within its limit, all together not
    long_notebook.cells += [nbformat.v4.new_code_cell("#" * limits.SIMILARITY_CELL_CHARS) for _ in range(cells)]
    handed_in = {name: {STEM: nbformat.writes(nb).encode()} for name, nb in [("a", solved()), ("b", long_cell)]}
    handed_in["c"] = {STEM: nbformat.writes(long_notebook).encode()}
    printed = []
    report.report_shared(handed_in, {STEM: (assignment, {})}, tmp_path, printed.append)
    assert printed[:2] == [
        f"not compared for shared code: b: {STEM}: 1 cell(s) over {limits.SIMILARITY_CELL_CHARS:,} characters not read",
        f"not compared for shared code: c: {STEM}: its code is over {limits.CODE_CHARS:,} characters",
    ]
    with open(tmp_path / "similar_solutions.csv", newline="") as f:
        assert {row["students"] for row in csv.DictReader(f)} == {"a; b"}, "b's other cells are still compared"
