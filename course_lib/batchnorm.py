"""Batch normalization in NumPy: the reference the theory notebook checks Keras against.

For a batch x of shape (..., C), per channel c:
    training:  y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta, with the batch's own mean and
               (biased) variance; the moving statistics move towards them:
               moving = momentum * moving + (1 - momentum) * batch statistic
    inference: the same formula with the moving mean and variance, so y depends on x alone.
Defaults are those of `keras.layers.BatchNormalization` (momentum 0.99, epsilon 1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class BatchNormState:
    """The four per-channel vectors a BatchNormalization layer holds: gamma and beta are trained."""

    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray

    @classmethod
    def initial(cls, channels: int) -> BatchNormState:
        """Keras' initial values: gamma 1, beta 0, moving mean 0, moving variance 1."""
        return cls(np.ones(channels), np.zeros(channels), np.zeros(channels), np.ones(channels))


def normalize(
    x: np.ndarray, mean: np.ndarray, variance: np.ndarray, state: BatchNormState, epsilon: float
) -> np.ndarray:
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta, per channel (last axis)."""
    return state.gamma * (x - mean) / np.sqrt(variance + epsilon) + state.beta


def batch_norm_train(
    x: np.ndarray, state: BatchNormState, momentum: float = 0.99, epsilon: float = 1e-3
) -> tuple[np.ndarray, BatchNormState]:
    """Training-mode forward pass: normalize with the batch statistics; return the output and the updated state."""
    axes = tuple(range(x.ndim - 1))
    mean, variance = x.mean(axis=axes), x.var(axis=axes)
    updated = replace(
        state,
        moving_mean=momentum * state.moving_mean + (1 - momentum) * mean,
        moving_variance=momentum * state.moving_variance + (1 - momentum) * variance,
    )
    return normalize(x, mean, variance, state, epsilon), updated


def batch_norm_inference(x: np.ndarray, state: BatchNormState, epsilon: float = 1e-3) -> np.ndarray:
    """Inference-mode forward pass: normalize with the moving statistics."""
    return normalize(x, state.moving_mean, state.moving_variance, state, epsilon)


def state_of(layer) -> BatchNormState:
    """The current state of a built `keras.layers.BatchNormalization` layer, as NumPy arrays."""
    return BatchNormState(
        layer.gamma.numpy(), layer.beta.numpy(), layer.moving_mean.numpy(), layer.moving_variance.numpy()
    )
