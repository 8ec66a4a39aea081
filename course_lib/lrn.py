"""Local response normalization: a Keras layer around `tf.nn.lrn`, and a NumPy reference.

For each position and channel c of a 4-D NHWC input a:

    b_c = a_c / (bias + alpha * sum_{k=c-r}^{c+r} a_k^2) ** beta        (r = depth_radius)

The sum runs over the channels within `depth_radius` of c (clipped at the edges).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

# The parameter sets of the course's two CIFAR-10 sources and of the AlexNet paper.
TUTORIAL_PARAMS = {"depth_radius": 4, "bias": 1.0, "alpha": 0.001 / 9.0, "beta": 0.75}  # TensorFlow's cifar10.py
COOKBOOK_PARAMS = {"depth_radius": 5, "bias": 2.0, "alpha": 1e-3, "beta": 0.75}  # the cookbook recipe
ALEXNET_PARAMS = {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75}  # Krizhevsky et al., 2012 (n = 5)


def lrn_reference(x: np.ndarray, depth_radius: int, bias: float, alpha: float, beta: float) -> np.ndarray:
    """NumPy LRN over the last axis, written as the formula reads."""
    squared = np.square(x.astype(np.float64))
    channels = x.shape[-1]
    total = np.zeros_like(squared)
    for c in range(channels):
        lo, hi = max(0, c - depth_radius), min(channels, c + depth_radius + 1)
        total[..., c] = squared[..., lo:hi].sum(axis=-1)
    return x / (bias + alpha * total) ** beta


@keras.saving.register_keras_serializable(package="course_lib")
class LocalResponseNormalization(keras.layers.Layer):
    """`tf.nn.lrn` as a Keras layer (channels last), saved and reloaded with its parameters."""

    def __init__(
        self, depth_radius: int = 4, bias: float = 1.0, alpha: float = 0.001 / 9.0, beta: float = 0.75, **kwargs
    ):  # pragma: no mutate block (Keras reads this signature; mutmut's wrapper would hide it)
        super().__init__(**kwargs)
        self.depth_radius, self.bias, self.alpha, self.beta = depth_radius, bias, alpha, beta

    def call(self, inputs):
        return tf.nn.lrn(inputs, depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return super().get_config() | {
            "depth_radius": self.depth_radius, "bias": self.bias, "alpha": self.alpha, "beta": self.beta
        }  # fmt: skip
