"""`course_lib.checks.without`: the listed functions refuse to run inside the block, and only there."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import checks


def test_a_listed_function_refuses_inside_the_block_and_works_again_after():
    with checks.without("tf.nn.softmax", "np.argsort"):
        with pytest.raises(checks.ForbiddenFunctionError, match="tf.nn.softmax is switched off"):
            tf.nn.softmax([[1.0, 2.0]])
        with pytest.raises(checks.ForbiddenFunctionError, match="np.argsort"):
            np.argsort([3, 1])
        assert np.sum([1, 2]) == 3  # everything else still works
    assert np.argsort([3, 1]).tolist() == [1, 0]
    assert tf.nn.softmax([[0.0, 0.0]]).numpy().tolist() == [[0.5, 0.5]]


def test_functions_are_restored_when_the_check_itself_raises():
    original = np.argsort
    with pytest.raises(ZeroDivisionError), checks.without("np.argsort"):
        raise ZeroDivisionError
    assert np.argsort is original


def test_a_misspelt_name_is_a_clear_error_and_changes_nothing():
    original = np.argsort
    with pytest.raises(ValueError, match="np.argsrot does not exist"), checks.without("np.argsort", "np.argsrot"):
        pass
    assert np.argsort is original
