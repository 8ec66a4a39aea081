"""The batch normalization reference (`course_lib.batchnorm`) against Keras, in training and in inference mode."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import batchnorm


@pytest.fixture
def bn_layer_and_input():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(8, 4, 4, 5)).astype(np.float32)
    layer = keras.layers.BatchNormalization(momentum=0.9)
    layer.build(x.shape)
    layer.gamma.assign(rng.uniform(0.5, 2.0, 5))
    layer.beta.assign(rng.normal(size=5))
    return layer, x


def test_reference_matches_keras_in_training_mode_including_moving_statistics(bn_layer_and_input):
    layer, x = bn_layer_and_input
    state = batchnorm.state_of(layer)
    expected, updated = batchnorm.batch_norm_train(x, state, momentum=0.9)
    np.testing.assert_allclose(layer(x, training=True).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), updated.moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), updated.moving_variance, atol=1e-5)
    assert not np.allclose(updated.moving_mean, state.moving_mean)  # the update did something


def test_reference_matches_keras_in_inference_mode(bn_layer_and_input):
    layer, x = bn_layer_and_input
    layer.moving_mean.assign(np.arange(5.0))
    layer.moving_variance.assign(np.linspace(0.5, 3, 5))
    before = batchnorm.state_of(layer)
    np.testing.assert_allclose(layer(x, training=False).numpy(), batchnorm.batch_norm_inference(x, before), atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before.moving_mean)  # inference does not update


def test_training_mode_output_is_normalized_per_channel():
    x = np.random.default_rng(1).normal(5, 3, size=(64, 7)).astype(np.float32)
    y, _ = batchnorm.batch_norm_train(x, batchnorm.BatchNormState.initial(7), epsilon=0.0)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-5)


def test_batch_norm_default_momentum_and_variance_update():
    x = np.array([[1.0, 10.0], [3.0, 30.0]])  # mean (2, 20), variance (1, 100)
    state = batchnorm.BatchNormState(
        gamma=np.ones(2), beta=np.zeros(2), moving_mean=np.zeros(2), moving_variance=np.full(2, 4.0)
    )
    _, after = batchnorm.batch_norm_train(x, state)  # Keras' default momentum, 0.99
    np.testing.assert_allclose(after.moving_mean, [0.02, 0.2])
    np.testing.assert_allclose(after.moving_variance, [0.99 * 4 + 0.01 * 1, 0.99 * 4 + 0.01 * 100])
