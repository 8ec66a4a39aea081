"""Shared solutions: renamed, re-commented, re-laid-out copies match; different code, placeholders and other libraries do not."""

from course_lib.tools.assignments import PLACEHOLDER
from course_lib.tools.grading import similarity

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
