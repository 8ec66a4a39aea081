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
    assert kinds.count("ReLU") == kinds.count("Conv2D") == 3, "every block keeps its ReLU"
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


def test_named_layers_keep_their_names_when_a_session_built_the_network_before():
    """Notebooks look layers up by name (`get_layer("conv1")`); Keras' own names gain a suffix in a second build."""
    keras.backend.clear_session()
    first, second = models.mnist_cnn(), models.mnist_cnn()
    assert [layer.name for layer in second.layers] == [layer.name for layer in first.layers]
    names = {layer.name for layer in [models.published_bn_cnn(), models.published_bn_cnn()][1].layers}
    assert {"conv1", "bn2", "pool3", "dense", "logits"} <= names
    default = models.cifar10_lrn_cnn()
    l2 = 0.004 * sum(float(tf.nn.l2_loss(default.get_layer(name).kernel)) for name in ("local3", "local4"))
    assert float(sum(default.losses)) == pytest.approx(l2, rel=1e-5), "the tutorial's weight decay by default"


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


@pytest.mark.parametrize("size", [3, 5])
def test_identity_init_passes_the_input_channels_through(size):
    conv = keras.layers.Conv2D(5, size, padding="same", use_bias=False)
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
    table = []
    model.summary(line_length=60, print_fn=table.append)
    capsys.readouterr()
    models.print_summary(model, line_length=60)
    printed = capsys.readouterr().out
    assert printed == "\n".join(table) + "\n", "Keras' own lines, each once"
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


# ---------------------------------------------------------------- every builder, layer by layer


def _describe(model: keras.Model) -> list[str]:
    """One line per layer: name, type, output shape, parameter count and the settings that define it."""
    keys = ("filters", "kernel_size", "strides", "padding", "activation", "use_bias", "units", "pool_size", "rate",
            "momentum", "epsilon", "scale", "center", "depth_radius", "bias", "alpha", "beta")  # fmt: skip

    def text(value) -> str:
        return "x".join(map(str, value)) if isinstance(value, tuple | list) else str(value)

    lines = []
    for layer in model.layers:
        config = layer.get_config()
        settings = [f"{k}={text(config[k])}" for k in keys if k in config] + ([] if layer.trainable else ["frozen"])
        lines.append(" ".join([layer.name, type(layer).__name__, text(layer.output.shape[1:]),
                               str(layer.count_params()), *settings]))  # fmt: skip
    return lines


# Written from each builder's docstring (and airbench94's network for `airbench_net`); the layers a builder does not
# name take Keras' names, which a fresh session makes predictable.
ARCHITECTURES = [
    (
        "models.softmax_regression()",
        [
            "dense Dense 10 7850 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.mnist_mlp()",
        [
            "flatten Flatten 784 0",
            "dense Dense 128 100480 activation=relu use_bias=True units=128",
            "dense_1 Dense 10 1290 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.mnist_cnn()",
        [
            "conv1 Conv2D 28x28x32 320 filters=32 kernel_size=3x3 strides=1x1 padding=same activation=relu use_bias=True",
            "pool1 MaxPooling2D 14x14x32 0 strides=2x2 padding=valid pool_size=2x2",
            "conv2 Conv2D 14x14x64 18496 filters=64 kernel_size=3x3 strides=1x1 padding=same activation=relu use_bias=True",
            "pool2 MaxPooling2D 7x7x64 0 strides=2x2 padding=valid pool_size=2x2",
            "flatten Flatten 3136 0",
            "dense Dense 128 401536 activation=relu use_bias=True units=128",
            "dropout Dropout 128 0 rate=0.4",
            "logits Dense 10 1290 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.folder_cnn()",
        [
            "conv2d Conv2D 32x32x32 896 filters=32 kernel_size=3x3 strides=1x1 padding=same activation=relu use_bias=True",
            "max_pooling2d MaxPooling2D 16x16x32 0 strides=2x2 padding=valid pool_size=2x2",
            "conv2d_1 Conv2D 16x16x64 18496 filters=64 kernel_size=3x3 strides=1x1 padding=same activation=relu use_bias=True",
            "max_pooling2d_1 MaxPooling2D 8x8x64 0 strides=2x2 padding=valid pool_size=2x2",
            "conv2d_2 Conv2D 8x8x128 73856 filters=128 kernel_size=3x3 strides=1x1 padding=same activation=relu use_bias=True",
            "max_pooling2d_2 MaxPooling2D 4x4x128 0 strides=2x2 padding=valid pool_size=2x2",
            "global_average_pooling2d GlobalAveragePooling2D 128 0",
            "dense Dense 10 1290 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.cifar10_lrn_cnn()",
        [
            "conv1 Conv2D 24x24x64 4864 filters=64 kernel_size=5x5 strides=1x1 padding=same activation=relu use_bias=True",
            "pool1 MaxPooling2D 12x12x64 0 strides=2x2 padding=same pool_size=3x3",
            "norm1 LocalResponseNormalization 12x12x64 0 depth_radius=4 bias=1.0 alpha=0.00011111111111111112 beta=0.75",
            "conv2 Conv2D 12x12x64 102464 filters=64 kernel_size=5x5 strides=1x1 padding=same activation=relu use_bias=True",
            "norm2 LocalResponseNormalization 12x12x64 0 depth_radius=4 bias=1.0 alpha=0.00011111111111111112 beta=0.75",
            "pool2 MaxPooling2D 6x6x64 0 strides=2x2 padding=same pool_size=3x3",
            "flatten Flatten 2304 0",
            "local3 Dense 384 885120 activation=relu use_bias=True units=384",
            "local4 Dense 192 73920 activation=relu use_bias=True units=192",
            "logits Dense 10 1930 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.published_bn_cnn()",
        [
            "conv1 Conv2D 30x30x64 1792 filters=64 kernel_size=3x3 strides=1x1 padding=valid activation=relu use_bias=True",
            "bn1 BatchNormalization 30x30x64 256 momentum=0.99 epsilon=0.001 scale=True center=True",
            "pool1 MaxPooling2D 15x15x64 0 strides=2x2 padding=valid pool_size=2x2",
            "conv2 Conv2D 13x13x128 73856 filters=128 kernel_size=3x3 strides=1x1 padding=valid activation=relu use_bias=True",
            "bn2 BatchNormalization 13x13x128 512 momentum=0.99 epsilon=0.001 scale=True center=True",
            "pool2 MaxPooling2D 6x6x128 0 strides=2x2 padding=valid pool_size=2x2",
            "conv3 Conv2D 4x4x64 73792 filters=64 kernel_size=3x3 strides=1x1 padding=valid activation=relu use_bias=True",
            "bn3 BatchNormalization 4x4x64 256 momentum=0.99 epsilon=0.001 scale=True center=True",
            "pool3 MaxPooling2D 2x2x64 0 strides=2x2 padding=valid pool_size=2x2",
            "flatten Flatten 256 0",
            "dropout Dropout 256 0 rate=0.5",
            "dense Dense 32 8224 activation=relu use_bias=True units=32",
            "logits Dense 10 330 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.conv_bn_net((8, 16, 16))",
        [
            "input_layer InputLayer 32x32x3 0",
            "standardize Normalization 32x32x3 0",
            "stem_conv Conv2D 32x32x4 108 filters=4 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "stem_bn BatchNormalization 32x32x4 16 momentum=0.9 epsilon=0.001 scale=True center=True",
            "stem_relu ReLU 32x32x4 0",
            "block1a_conv Conv2D 32x32x8 288 filters=8 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block1a_pool MaxPooling2D 16x16x8 0 strides=2x2 padding=valid pool_size=2x2",
            "block1a_bn BatchNormalization 16x16x8 32 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block1a_relu ReLU 16x16x8 0",
            "block1b_conv Conv2D 16x16x8 576 filters=8 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block1b_bn BatchNormalization 16x16x8 32 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block1b_relu ReLU 16x16x8 0",
            "block2a_conv Conv2D 16x16x16 1152 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block2a_pool MaxPooling2D 8x8x16 0 strides=2x2 padding=valid pool_size=2x2",
            "block2a_bn BatchNormalization 8x8x16 64 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block2a_relu ReLU 8x8x16 0",
            "block2b_conv Conv2D 8x8x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block2b_bn BatchNormalization 8x8x16 64 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block2b_relu ReLU 8x8x16 0",
            "block3a_conv Conv2D 8x8x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block3a_pool MaxPooling2D 4x4x16 0 strides=2x2 padding=valid pool_size=2x2",
            "block3a_bn BatchNormalization 4x4x16 64 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block3a_relu ReLU 4x4x16 0",
            "block3b_conv Conv2D 4x4x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block3b_bn BatchNormalization 4x4x16 64 momentum=0.9 epsilon=0.001 scale=True center=True",
            "block3b_relu ReLU 4x4x16 0",
            "global_max_pooling2d GlobalMaxPooling2D 16 0",
            "logits Dense 10 160 activation=linear use_bias=False units=10",
            "scale Rescaling 10 0 scale=0.125",
        ],
    ),
    (
        'models.small_cnn("after", (4, 8))',
        [
            "conv2d Conv2D 32x32x4 112 filters=4 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=True",
            "re_lu ReLU 32x32x4 0",
            "batch_normalization BatchNormalization 32x32x4 16 momentum=0.99 epsilon=0.001 scale=True center=True",
            "max_pooling2d MaxPooling2D 16x16x4 0 strides=2x2 padding=valid pool_size=2x2",
            "conv2d_1 Conv2D 16x16x8 296 filters=8 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=True",
            "re_lu_1 ReLU 16x16x8 0",
            "batch_normalization_1 BatchNormalization 16x16x8 32 momentum=0.99 epsilon=0.001 scale=True center=True",
            "max_pooling2d_1 MaxPooling2D 8x8x8 0 strides=2x2 padding=valid pool_size=2x2",
            "global_average_pooling2d GlobalAveragePooling2D 8 0",
            "dense Dense 10 90 activation=linear use_bias=True units=10",
        ],
    ),
    (
        "models.airbench_net(None, (8, 16, 16))",
        [
            "input_layer InputLayer 32x32x3 0",
            "standardize Normalization 32x32x3 0",
            "whiten Conv2D 31x31x24 288 filters=24 kernel_size=2x2 strides=1x1 padding=valid activation=linear use_bias=False",
            "whiten_bias Bias 31x31x24 24",
            "whiten_gelu Activation 31x31x24 0 activation=gelu",
            "block1a_conv Conv2D 31x31x8 1728 filters=8 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block1_pool MaxPooling2D 15x15x8 0 strides=2x2 padding=valid pool_size=2x2",
            "block1a_bn BatchNormalization 15x15x8 24 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block1a_gelu Activation 15x15x8 0 activation=gelu",
            "block1b_conv Conv2D 15x15x8 576 filters=8 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block1b_bn BatchNormalization 15x15x8 24 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block1b_gelu Activation 15x15x8 0 activation=gelu",
            "block2a_conv Conv2D 15x15x16 1152 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block2_pool MaxPooling2D 7x7x16 0 strides=2x2 padding=valid pool_size=2x2",
            "block2a_bn BatchNormalization 7x7x16 48 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block2a_gelu Activation 7x7x16 0 activation=gelu",
            "block2b_conv Conv2D 7x7x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block2b_bn BatchNormalization 7x7x16 48 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block2b_gelu Activation 7x7x16 0 activation=gelu",
            "block3a_conv Conv2D 7x7x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block3_pool MaxPooling2D 3x3x16 0 strides=2x2 padding=valid pool_size=2x2",
            "block3a_bn BatchNormalization 3x3x16 48 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block3a_gelu Activation 3x3x16 0 activation=gelu",
            "block3b_conv Conv2D 3x3x16 2304 filters=16 kernel_size=3x3 strides=1x1 padding=same activation=linear use_bias=False",
            "block3b_bn BatchNormalization 3x3x16 48 momentum=0.6 epsilon=1e-12 scale=False center=True",
            "block3b_gelu Activation 3x3x16 0 activation=gelu",
            "pool MaxPooling2D 1x1x16 0 strides=3x3 padding=valid pool_size=3x3",
            "flatten Flatten 16 0",
            "logits Dense 10 160 activation=linear use_bias=False units=10",
            "scale Rescaling 10 0 scale=0.1111111111111111",
        ],
    ),
]


@pytest.mark.parametrize("call, layers", ARCHITECTURES, ids=[call.split("(")[0] for call, _ in ARCHITECTURES])
def test_every_builder_makes_the_documented_network(call, layers):
    keras.backend.clear_session()
    model = eval(call, {"models": models})
    assert _describe(model) == layers
    assert model.name == {"small_cnn": "small_cnn_after"}.get(call[7:].split("(")[0], call[7:].split("(")[0])


def test_softmax_regression_starts_at_zero_and_the_chapter_init_is_the_chapters():
    model = models.softmax_regression(5, 3)
    assert all(not w.numpy().any() for w in model.weights) and model.output_shape == (None, 3)
    keras.utils.set_random_seed(0)
    chapter = models.cifar10_lrn_cnn(chapter_init=True)
    for name, (stddev, bias) in models.CHAPTER_INIT.items():
        kernel, biases = (w.numpy() for w in chapter.get_layer(name).weights)
        assert np.abs(kernel).max() <= 2 * stddev + 1e-7, f"{name}: truncated at two standard deviations"
        np.testing.assert_allclose(kernel.std(), stddev * 0.88, rtol=0.1, err_msg=name)  # a truncated normal's std
        np.testing.assert_array_equal(biases, np.full(biases.shape, bias, np.float32))
    keras.utils.set_random_seed(0)
    default = models.cifar10_lrn_cnn()
    assert not default.get_layer("conv2").bias.numpy().any(), "Keras' default: zero biases"
    glorot = np.sqrt(6 / (5 * 5 * 64 + 5 * 5 * 64))
    assert np.abs(default.get_layer("conv2").kernel.numpy()).max() == pytest.approx(glorot, rel=0.01)


def test_airbench_net_standardizes_takes_any_whitening_size_and_adds_its_bias():
    images = _correlated_images(50)
    model = models.airbench_net(models.whitening_kernel(images, size=3), (8, 16, 16), (0.5, 0.4, 0.3), (0.2, 0.2, 0.2))
    assert model.get_layer("whiten").kernel.shape == (3, 3, 3, 54) and model.output.shape == (None, 10)
    standardized = model.get_layer("standardize")(np.full((1, 32, 32, 3), 0.5, np.float32)).numpy()
    np.testing.assert_allclose(standardized[0, 0, 0], [0.0, 0.5, 1.0], atol=1e-5)
    bias = model.get_layer("whiten_bias")
    assert bias.bias.path == "whiten_bias/bias", "the optimizer finds the gated bias by its path"
    bias.bias.assign(np.arange(54, dtype=np.float32))
    np.testing.assert_allclose(bias(np.ones((1, 2, 2, 54), np.float32)).numpy()[0, 1, 1], np.arange(54) + 1.0)


def test_the_defaults_are_the_documented_ones(capsys):
    assert "BatchNormalization" not in [type(layer).__name__ for layer in models.small_cnn().layers], "norm='none'"
    images = _correlated_images(20)
    np.testing.assert_array_equal(models.whitening_kernel(images), models.whitening_kernel(images, 2, 5e-4))
    model = models.conv_bn_net((8, 16, 16))
    table = []
    model.summary(line_length=90, print_fn=table.append)
    capsys.readouterr()
    models.print_summary(model)
    assert capsys.readouterr().out == table[0] + "\n", "90 characters wide"
