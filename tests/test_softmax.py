"""The NumPy references in course_lib.softmax against TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import softmax
from course_lib import softmax as ref


@pytest.fixture
def logits():
    return np.random.default_rng(1).normal(0, 40, size=(32, 7))


def test_softmax_matches_tensorflow_and_sums_to_one(logits):
    np.testing.assert_allclose(ref.softmax(logits), tf.nn.softmax(logits).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref.softmax(logits).sum(-1), 1.0)


def test_cross_entropies_match_tensorflow(logits):
    labels = np.arange(32) % 7
    onehot = np.eye(7)[labels]
    np.testing.assert_allclose(
        ref.cross_entropy(logits, onehot),
        tf.nn.softmax_cross_entropy_with_logits(onehot, logits).numpy(),
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        ref.sparse_cross_entropy(logits, labels),
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy(),
        rtol=1e-10,
        atol=1e-12,
    )


def test_gradient_is_softmax_minus_onehot(logits):
    onehot = np.eye(7)[np.arange(32) % 7]
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(onehot, z))
    np.testing.assert_allclose(ref.cross_entropy_grad(logits, onehot), tape.gradient(loss, z).numpy(), atol=1e-12)


def test_naive_softmax_overflows_where_the_stable_one_does_not():
    z = np.array([1000.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(ref.softmax_naive(z)).any()
    np.testing.assert_allclose(ref.softmax(z), [1.0, 0.0])
    assert ref.cross_entropy(np.array([0.0, -1000.0]), np.array([0.0, 1.0])) == pytest.approx(1000.0)


ROWS = np.array([[1.0, 2.0, 3.0], [10.0, -5.0, 0.0]])  # rows with different maxima and sums


def test_softmax_references_work_row_by_row():
    for f in (softmax.softmax_naive, softmax.softmax):
        p = f(ROWS)
        assert p.shape == ROWS.shape
        np.testing.assert_allclose(p.sum(axis=1), [1.0, 1.0])
        np.testing.assert_allclose(p[1], np.exp(ROWS[1]) / np.exp(ROWS[1]).sum())
    np.testing.assert_allclose(softmax.logsumexp(ROWS), np.log(np.exp(ROWS).sum(axis=1)))
    np.testing.assert_allclose(
        softmax.sparse_cross_entropy(ROWS, np.array([2, 1])), -np.log(softmax.softmax(ROWS)[[0, 1], [2, 1]])
    )
    assert softmax.sparse_cross_entropy(ROWS[:1], np.array([0])).shape == (1,)


def test_logsumexp_shifts_each_row_by_its_own_maximum():
    """Shifting by the batch's maximum instead would underflow the small row to log(0)."""
    rows = np.array([[1000.0, 1000.0], [0.0, 0.0]])
    np.testing.assert_allclose(softmax.logsumexp(rows), [1000.0 + np.log(2.0), np.log(2.0)])
    assert softmax.logsumexp(np.zeros((1, 3))).shape == (1,)


def test_references_take_any_leading_axes():
    """Logits of shape (..., classes): a batch of sequences works like a flat batch of its rows."""
    z = np.arange(24.0).reshape(2, 4, 3) % 5
    labels = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    flat = softmax.sparse_cross_entropy(z.reshape(8, 3), labels.reshape(8))
    np.testing.assert_allclose(softmax.sparse_cross_entropy(z, labels), flat.reshape(2, 4))
    np.testing.assert_allclose(softmax.logsumexp(z), softmax.logsumexp(z.reshape(8, 3)).reshape(2, 4))
