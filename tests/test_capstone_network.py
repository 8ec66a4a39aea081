"""The capstone's airbench network: patch whitening, identity-initialised convolutions, BN settings."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import models


def _correlated_images(n=300, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.normal(size=(n, 16, 16, 3)).astype(np.float32)
    images[..., 1] += 0.8 * images[..., 0]  # channels that move together...
    images[:, 1:] += 0.5 * images[:, :-1]  # ...and neighbouring rows too
    return images


def test_whitening_kernel_makes_the_patches_uncorrelated_with_unit_variance():
    images = _correlated_images()
    kernel = models.whitening_kernel(images, size=2, epsilon=0.0)
    assert kernel.shape == (2, 2, 3, 24)
    out = tf.nn.conv2d(images, kernel, 1, "VALID").numpy().reshape(-1, 24)
    second_moment = out[:, :12].T @ out[:, :12] / len(out)
    np.testing.assert_allclose(second_moment, np.eye(12), atol=1e-3)
    np.testing.assert_array_equal(out[:, 12:], -out[:, :12])
    raw = tf.nn.conv2d(images, np.eye(12, dtype=np.float32).reshape(2, 2, 3, 12), 1, "VALID").numpy()
    assert np.abs(np.corrcoef(raw.reshape(-1, 12).T) - np.eye(12)).max() > 0.3, "the probe must start correlated"


def test_whitening_filters_come_largest_variance_first_and_epsilon_damps_the_small_ones():
    images = _correlated_images()
    damped = models.whitening_kernel(images, epsilon=1.0).reshape(12, 24)
    exact = models.whitening_kernel(images, epsilon=0.0).reshape(12, 24)
    norms = np.linalg.norm(exact[:, :12], axis=0)
    assert np.all(np.diff(norms) > 0), "largest eigenvalue first: its filter is scaled down most"
    assert np.all(np.linalg.norm(damped[:, :12], axis=0) < norms)


def test_identity_init_passes_the_input_channels_through():
    conv = keras.layers.Conv2D(5, 3, padding="same", use_bias=False)
    x = np.random.default_rng(1).normal(size=(2, 6, 6, 3)).astype(np.float32)
    conv.build(x.shape)
    models.identity_init(conv)
    y = conv(x).numpy()
    np.testing.assert_allclose(y[..., :3], x, atol=1e-6)
    assert np.abs(y[..., 3:]).max() > 0, "the other filters keep their random start"


def test_airbench_net_has_airbench_shape_and_settings():
    whitening = models.whitening_kernel(_correlated_images(50))
    model = models.airbench_net(whitening, widths=(8, 16, 16))
    assert model.output.shape == (None, 10)
    assert not model.get_layer("whiten").trainable
    np.testing.assert_array_equal(model.get_layer("whiten").kernel.numpy(), whitening)
    bn = model.get_layer("block2b_bn")
    assert bn.gamma is None and bn.momentum == 0.6
    full = models.airbench_net(whitening)
    trainable = sum(int(np.prod(w.shape)) for w in full.trainable_weights)
    assert trainable == 1_971_328, "airbench94: widths 64/256/256, about 2M parameters"
    plain = models.airbench_net(None, widths=(8, 16, 16), identity=False, bn_scale=True)
    assert plain.get_layer("whiten").trainable and plain.get_layer("block1a_bn").gamma is not None
