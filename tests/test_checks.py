"""`course_lib.checks`: a solution read against its rule (`follows_rule`)."""

from __future__ import annotations

import pytest

from course_lib import checks


@pytest.fixture
def shell():
    """A fresh IPython shell: cells run as in a notebook, so their code is where a check reads it."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell()
    ip.run_cell("import numpy as np\nimport tensorflow as tf\nfrom course_lib import checks")
    return ip


def follows_rule_error(shell, solution: str, name: str = "my_softmax") -> BaseException | None:
    assert shell.run_cell(solution).success
    return shell.run_cell(f"checks.follows_rule({name})").error_in_exec


def test_a_solution_within_its_rule_passes(shell):
    ok = "def my_softmax(z):\n    e = np.exp(z - z.max(axis=-1, keepdims=True))\n    return e / e.sum(axis=-1, keepdims=True)\n"
    assert follows_rule_error(shell, ok) is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("return tf.raw_ops.Softmax(logits=z).numpy()", "tf.raw_ops"),
        ("return tf.compat.v1.nn.softmax(z).numpy()", "tf.compat"),
        ("return np.exp(tf.nn.log_softmax(z).numpy())", "`tf`, defined outside this cell"),
        ("return getattr(tf.nn, 'soft' + 'max')(z).numpy()", "`getattr`"),
        ("return eval('tf.nn.softmax')(z).numpy()", "`eval`"),
    ],
)
def test_each_other_door_to_the_answer_is_refused_and_named(shell, body, named):
    error = follows_rule_error(shell, f"def my_softmax(z):\n    {body}\n")
    assert isinstance(error, checks.RuleBrokenError)
    assert named in str(error) and "may use `np`" in str(error), "the message names the call and the rule"


def test_code_that_cannot_be_read_is_refused_with_how_to_fix_it(shell):
    error = follows_rule_error(shell, "%%time\ndef my_softmax(z):\n    return z\n")
    assert isinstance(error, checks.RuleBrokenError) and "in a cell of its own" in str(error)


def test_a_function_that_is_no_exercise_is_a_clear_error(shell):
    error = follows_rule_error(shell, "def helper(z):\n    return z\n", "helper")
    assert isinstance(error, ValueError) and "not an exercise" in str(error)


def test_a_builtin_another_cell_redefined_is_refused(shell):
    assert shell.run_cell("def abs(z):\n    return tf.nn.softmax(z).numpy()\n").success
    error = follows_rule_error(shell, "def my_softmax(z):\n    return abs(z)\n")
    assert isinstance(error, checks.RuleBrokenError) and "`abs`, which another cell redefines" in str(error)
