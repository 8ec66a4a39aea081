"""`course_lib.models`: the notebooks' networks. The BN CNNs, the LRN CNN's weight decay, and the capstone's airbench
network (patch whitening, identity-initialised convolutions, BN settings)."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import models


def test_published_bn_cnn_has_the_published_parameter_counts():
    model = models.published_bn_cnn()
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert (model.count_params(), non_trainable) == (159_018, 512)


def test_conv_bn_net_standardizes_its_input_and_outputs_logits():
    model = models.conv_bn_net((8, 16, 16), mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2))
    assert model.output_shape == (None, 10)
    standardized = model.get_layer("standardize")(np.full((1, 32, 32, 3), 0.5, np.float32)).numpy()
    np.testing.assert_allclose(standardized[0, 0, 0], [0.0, 0.5, 1.0], atol=1e-5)


@pytest.mark.parametrize("norm", ["none", "before", "after"])
def test_small_cnn_places_batch_normalization_as_asked(norm):
    kinds = [type(layer).__name__ for layer in models.small_cnn(norm).layers]
    pairs = list(itertools.pairwise(kinds))
    assert {
        "none": "BatchNormalization" not in kinds,
        "before": ("BatchNormalization", "ReLU") in pairs,
        "after": ("ReLU", "BatchNormalization") in pairs,
    }[norm]


def test_small_cnn_rejects_unknown_placement():
    with pytest.raises(ValueError, match="'none', 'before' or 'after'"):
        models.small_cnn("middle")


def test_l2_term_is_the_tutorials_weight_decay_times_l2_loss():
    model = models.cifar10_lrn_cnn(weight_decay=0.004)
    kernels = [model.get_layer(name).kernel for name in ("local3", "local4")]
    expected = 0.004 * sum(float(tf.nn.l2_loss(k)) for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_conv_weight_decay_adds_the_conv_kernels_to_the_l2_term():
    model = models.cifar10_lrn_cnn(weight_decay=0.004, conv_weight_decay=0.0005)
    dense = sum(float(tf.nn.l2_loss(model.get_layer(name).kernel)) for name in ("local3", "local4"))
    conv = sum(float(tf.nn.l2_loss(model.get_layer(name).kernel)) for name in ("conv1", "conv2"))
    assert float(sum(model.losses)) == pytest.approx(0.004 * dense + 0.0005 * conv, rel=1e-5)
    assert len(models.cifar10_lrn_cnn().losses) == 2  # the tutorial's network: dense layers only


# ---------------------------------------------------------------- the capstone's airbench network


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
    assert trainable == 1_971_352, "airbench94: widths 64/256/256, about 2M parameters, the whitening bias included"
    np.testing.assert_array_equal(full.get_layer("whiten_bias").bias.numpy(), np.zeros(24))
    without = models.airbench_net(whitening, whiten_bias=False)
    assert "whiten_bias" not in [layer.name for layer in without.layers]
    assert sum(int(np.prod(w.shape)) for w in without.trainable_weights) == trainable - 24
    plain = models.airbench_net(None, widths=(8, 16, 16), identity=False, bn_scale=True)
    assert plain.get_layer("whiten").trainable and plain.get_layer("block1a_bn").gamma is not None


def test_print_summary_prints_the_plain_table_once(capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="logits")], name="tiny")
    models.print_summary(model, line_length=60)
    printed = capsys.readouterr().out
    assert printed.startswith('Model: "tiny"') and printed.count("Model:") == 1
    assert "logits (Dense)" in printed and "Total params: 8" in printed
    assert max(len(line) for line in printed.splitlines()) <= 60
    assert "\x1b[" not in printed, "no ANSI colour codes"


def test_airbench_net_torch_init_draws_kernels_as_pytorch_does():
    """PyTorch's default (airbench's): uniform in +-1/sqrt(fan_in); the default stays Keras' Glorot uniform."""
    whitening = models.whitening_kernel(_correlated_images(50))
    keras.utils.set_random_seed(0)
    torch_like = models.airbench_net(whitening, widths=(16, 64, 128), init="torch")
    keras.utils.set_random_seed(0)
    glorot = models.airbench_net(whitening, widths=(16, 64, 128))
    layers = [("block2a_conv", 9 * 16, 9 * 64, 16), ("block3a_conv", 9 * 64, 9 * 128, 64), ("logits", 128, 10, 0)]
    for name, fan_in, fan_out, first in layers:
        kernel = torch_like.get_layer(name).kernel.numpy()
        random = kernel[..., first:].ravel()  # the first filters are Dirac
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(random).max() <= bound and np.abs(random).max() > 0.95 * bound, name
        np.testing.assert_allclose(random.std(), bound / np.sqrt(3), rtol=0.03, err_msg=name)
        glorot_std = glorot.get_layer(name).kernel.numpy()[..., first:].std()
        np.testing.assert_allclose(glorot_std, np.sqrt(2 / (fan_in + fan_out)), rtol=0.03, err_msg=name)
    conv = torch_like.get_layer("block2a_conv").kernel.numpy()
    np.testing.assert_array_equal(conv[1, 1, np.arange(16), np.arange(16)], np.ones(16))
    with pytest.raises(ValueError, match='"torch"'):
        models.airbench_net(whitening, init="he")
