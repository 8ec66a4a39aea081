"""NumPy reference implementations of softmax and cross-entropy, for the theory notebook.

Inputs are logits `z` of shape (..., classes); `y` is one-hot of the same shape, or
integer labels for the sparse variant.
"""

from __future__ import annotations

import numpy as np


def softmax_naive(z: np.ndarray) -> np.ndarray:
    """exp(z) / sum(exp(z)) exactly as written: overflows for logits above ~88 (float32) or ~709 (float64)."""
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp(z: np.ndarray) -> np.ndarray:
    """log(sum(exp(z))) computed as m + log(sum(exp(z - m))) with m = max(z): never overflows."""
    m = np.max(z, axis=-1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True))).squeeze(-1)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log(softmax(z)) = z - logsumexp(z), stable for any finite logits."""
    return z - logsumexp(z)[..., None]


def softmax(z: np.ndarray) -> np.ndarray:
    """Stable softmax: shifting the logits by their maximum does not change the result."""
    return np.exp(log_softmax(z))


def cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-sum(y * log softmax(z)) per example, from logits (what `tf.nn.softmax_cross_entropy_with_logits` computes)."""
    return -(y * log_softmax(z)).sum(axis=-1)


def sparse_cross_entropy(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy with integer labels: -log softmax(z)[label]."""
    return -np.take_along_axis(log_softmax(z), np.asarray(labels)[..., None], axis=-1).squeeze(-1)


def cross_entropy_grad(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient of `cross_entropy` with respect to the logits: softmax(z) - y."""
    return softmax(z) - y
