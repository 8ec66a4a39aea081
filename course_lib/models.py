"""Model builders shared by the notebooks."""

from __future__ import annotations

import keras
import numpy as np
from IPython.utils.capture import capture_output

from course_lib.lrn import TUTORIAL_PARAMS, LocalResponseNormalization


def print_summary(model: keras.Model, line_length: int = 90) -> None:
    """Print `model.summary()` as plain text, and nothing else.

    Inside Jupyter, Keras' summary also sends an empty HTML block (rich displays its emptied buffer
    when a capture ends); displays made while the summary is drawn are dropped.
    """
    lines: list[str] = []
    with capture_output(stdout=False, stderr=False, display=True):
        model.summary(line_length=line_length, print_fn=lines.append)
    print("\n".join(lines))


def softmax_regression(num_inputs: int = 784, num_classes: int = 10) -> keras.Model:
    """Notebook 01's model: logits x @ W + b from one dense layer, W and b starting at zero."""
    return keras.Sequential(
        [keras.Input(shape=(num_inputs,)), keras.layers.Dense(num_classes, kernel_initializer="zeros")],
        name="softmax_regression",
    )


def mnist_mlp() -> keras.Model:
    """Notebook 03's network with one hidden layer: 28x28 pixels -> 128 ReLU units -> 10 logits."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),  # logits: the loss applies the softmax
        ],
        name="mnist_mlp",
    )


def mnist_cnn() -> keras.Model:
    """Notebook 03's convnet: two 3x3 conv + 2x2 max-pool blocks (32, 64 filters), dense 128, dropout, 10 logits."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(name="pool1"),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(128, activation="relu", name="dense"),
            keras.layers.Dropout(0.4, name="dropout"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="mnist_cnn",
    )


def folder_cnn(image_size: int = 32, num_classes: int = 10) -> keras.Model:
    """Notebook 09's CNN: three 3x3 conv + ReLU + 2x2 max-pool blocks (32, 64, 128), global average pool, logits."""
    model = keras.Sequential([keras.Input(shape=(image_size, image_size, 3))], name="folder_cnn")
    for filters in (32, 64, 128):
        model.add(keras.layers.Conv2D(filters, 3, padding="same", activation="relu"))
        model.add(keras.layers.MaxPooling2D())
    model.add(keras.layers.GlobalAveragePooling2D())
    model.add(keras.layers.Dense(num_classes))
    return model


# The book chapter's initial values (source 001): truncated-normal kernels with these standard
# deviations, constant biases. Keras' default is Glorot-uniform kernels and zero biases.
CHAPTER_INIT = {
    "conv1": (0.05, 0.0), "conv2": (0.05, 0.1), "local3": (0.04, 0.1), "local4": (0.04, 0.1), "logits": (1 / 192, 0.0),
}  # fmt: skip


def _init(layer: str, chapter_init: bool) -> dict:
    """The initializers of `layer`: the chapter's (CHAPTER_INIT) or Keras' defaults."""
    if not chapter_init:
        return {}
    stddev, bias = CHAPTER_INIT[layer]
    return {
        "kernel_initializer": keras.initializers.TruncatedNormal(stddev=stddev),
        "bias_initializer": keras.initializers.Constant(bias),
    }


def cifar10_lrn_cnn(
    weight_decay: float = 0.004,
    input_size: int = 24,
    num_classes: int = 10,
    conv_weight_decay: float = 0.0,
    chapter_init: bool = False,
) -> keras.Model:
    """The classic TensorFlow CIFAR-10 tutorial network (channels last, logits out).

    conv 5x5x64 + ReLU -> max-pool 3x3/2 -> LRN -> conv 5x5x64 + ReLU -> LRN -> max-pool 3x3/2
    -> dense 384 -> dense 192 -> dense 10. The fully connected weights carry the tutorial's
    L2 term, weight_decay * tf.nn.l2_loss(w) = weight_decay / 2 * sum(w**2); the tutorial puts none
    on the conv kernels, `conv_weight_decay` adds one there the same way. `chapter_init` starts
    from the book chapter's truncated normals and constant biases (CHAPTER_INIT) instead of Keras'
    Glorot-uniform kernels and zero biases.
    """
    l2 = keras.regularizers.L2(weight_decay / 2)
    conv_l2 = keras.regularizers.L2(conv_weight_decay / 2) if conv_weight_decay else None

    def conv(name: str) -> keras.layers.Layer:
        init = _init(name, chapter_init)
        return keras.layers.Conv2D(
            64, 5, padding="same", activation="relu", kernel_regularizer=conv_l2, name=name, **init
        )

    def dense(units: int, name: str, **options) -> keras.layers.Layer:
        return keras.layers.Dense(units, name=name, **_init(name, chapter_init), **options)

    return keras.Sequential(
        [
            keras.Input(shape=(input_size, input_size, 3)),
            conv("conv1"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1"),
            LocalResponseNormalization(**TUTORIAL_PARAMS, name="norm1"),
            conv("conv2"),
            LocalResponseNormalization(**TUTORIAL_PARAMS, name="norm2"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2"),
            keras.layers.Flatten(),
            dense(384, "local3", activation="relu", kernel_regularizer=l2),
            dense(192, "local4", activation="relu", kernel_regularizer=l2),
            dense(num_classes, "logits"),
        ],
        name="cifar10_lrn_cnn",
    )


def published_bn_cnn(
    num_classes: int = 10, channels: tuple[int, ...] = (64, 128, 64), dense_units: int = 32
) -> keras.Model:
    """The batch-normalized Keras CNN of the source tutorial: 159,018 parameters, 512 non-trainable.

    Three valid-padded 3x3 conv + ReLU -> BatchNormalization -> max-pool 2 blocks (64, 128, 64
    filters: `channels`), then dropout 0.5, dense 32 (`dense_units`) + ReLU and dense 10 (logits).
    Inputs in [0, 1].
    """
    layers = [keras.Input(shape=(32, 32, 3))]
    for i, filters in enumerate(channels, start=1):
        layers += [
            keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}"),
            keras.layers.BatchNormalization(name=f"bn{i}"),
            keras.layers.MaxPooling2D(2, name=f"pool{i}"),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(dense_units, activation="relu", name="dense"),
        keras.layers.Dense(num_classes, name="logits"),
    ]
    return keras.Sequential(layers, name="published_bn_cnn")


def conv_bn(x, filters: int, pool: bool, name: str):
    """3x3 conv (no bias: BN's beta replaces it) -> [2x2 max-pool] -> BatchNormalization -> ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def conv_bn_net(
    widths: tuple[int, ...] = (32, 64, 128),
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    std: tuple[float, float, float] = (1.0, 1.0, 1.0),
    num_classes: int = 10,
) -> keras.Model:
    """A small modern CIFAR network of conv-BN blocks (after Page's ResNet-9 and Jordan's airbench).

    Standardize with the per-channel training `mean`/`std` -> stem conv-BN-ReLU -> for each width
    a block of conv-pool-BN-ReLU and conv-BN-ReLU -> global max-pool -> dense (logits, scaled
    down by 8 so that the initial predictions are soft). Inputs in [0, 1].
    """
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Normalization(mean=list(mean), variance=[s * s for s in std], name="standardize")(inputs)
    x = conv_bn(x, widths[0] // 2, pool=False, name="stem")
    for i, width in enumerate(widths, start=1):
        x = conv_bn(x, width, pool=True, name=f"block{i}a")
        x = conv_bn(x, width, pool=False, name=f"block{i}b")
    x = keras.layers.GlobalMaxPooling2D()(x)
    x = keras.layers.Dense(num_classes, use_bias=False, name="logits")(x)
    outputs = keras.layers.Rescaling(0.125, name="scale")(x)
    return keras.Model(inputs, outputs, name="conv_bn_net")


def small_cnn(norm: str = "none", widths: tuple[int, ...] = (16, 32, 64), num_classes: int = 10) -> keras.Model:
    """A small CNN for quick experiments with batch normalization: inputs in [0, 1], logits out.

    One block per width: 3x3 conv, ReLU and 2x2 max-pool, with BatchNormalization before the ReLU
    (`norm='before'`, as in the BN paper), after it (`'after'`), or none (`'none'`).
    """
    if norm not in ("none", "before", "after"):
        raise ValueError(f"norm must be 'none', 'before' or 'after', got {norm!r}")
    layers = [keras.Input(shape=(32, 32, 3))]
    for width in widths:
        layers.append(keras.layers.Conv2D(width, 3, padding="same"))
        block = [keras.layers.BatchNormalization(), keras.layers.ReLU()]
        layers += {"none": block[1:], "before": block, "after": block[::-1]}[norm]
        layers.append(keras.layers.MaxPooling2D(2))
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(num_classes)]
    return keras.Sequential(layers, name=f"small_cnn_{norm}")


def whitening_kernel(images: np.ndarray, size: int = 2, epsilon: float = 5e-4) -> np.ndarray:
    """Patch-whitening filters for a first conv layer (after Jordan's airbench), from training images.

    Every `size`x`size` patch of `images` (n, h, w, 3), flattened, gives the patches' (uncentred)
    covariance; its eigenvectors divided by sqrt(eigenvalue + epsilon), largest first, and their
    negatives make a Keras kernel (size, size, 3, 2 * 3 * size * size) whose outputs have unit variance.
    """
    patches = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    flat = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * images.shape[-1]).astype(np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(flat.T @ flat / len(flat))
    filters = (eigenvectors / np.sqrt(eigenvalues + epsilon))[:, ::-1]
    return np.concatenate([filters, -filters], axis=1).reshape(size, size, images.shape[-1], -1).astype(np.float32)


def identity_init(conv: keras.layers.Conv2D) -> None:
    """Make a built 3x3 conv start as the identity on its first input-channel-many filters (Dirac init)."""
    kernel = conv.kernel.numpy()
    k, _, c_in, c_out = kernel.shape
    first = min(c_in, c_out)
    kernel[..., :first] = 0.0
    kernel[k // 2, k // 2, np.arange(first), np.arange(first)] = 1.0
    conv.kernel.assign(kernel)


class Bias(keras.layers.Layer):
    """Adds a learned per-channel bias, starting at zero (a bias kept apart from a frozen convolution)."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")

    def call(self, x):
        return x + self.bias


def torch_default_init() -> keras.initializers.Initializer:
    """PyTorch's default for conv and linear kernels: uniform in +-1/sqrt(fan_in) (Keras': Glorot uniform)."""
    return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


def airbench_net(
    whitening: np.ndarray | None,
    widths: tuple[int, int, int] = (64, 256, 256),
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    std: tuple[float, float, float] = (1.0, 1.0, 1.0),
    batchnorm_momentum: float = 0.6,
    identity: bool = True,
    bn_scale: bool = False,
    whiten_bias: bool = True,
    init: str = "keras",
    num_classes: int = 10,
) -> keras.Model:
    """The network of Jordan's airbench94 in Keras (about 2M parameters for the default widths).

    Standardize -> frozen 2x2 `whitening` conv (see `whitening_kernel`; None: an ordinary trainable
    2x2 conv of 24 filters) + a trained bias (`whiten_bias`, layer "whiten_bias") + GELU -> three blocks of conv-pool-BN-GELU and conv-BN-GELU (`identity`:
    Dirac-initialised convs; BN without a scale unless `bn_scale`) -> 3x3 max-pool -> dense (no bias)
    -> logits scaled by 1/9. Keras' `batchnorm_momentum` 0.6 is airbench's (PyTorch's momentum 0.4).
    `init` "keras" starts the 3x3 convs and the logits layer from Keras' default, "torch" from
    PyTorch's (`torch_default_init`, as airbench does). Inputs in [0, 1].
    """
    if init not in ("keras", "torch"):
        raise ValueError(f'init must be "keras" (Keras\' Glorot uniform) or "torch" (PyTorch\'s default), got {init!r}')
    kernels = torch_default_init if init == "torch" else (lambda: "glorot_uniform")
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Normalization(mean=list(mean), variance=[s * s for s in std], name="standardize")(inputs)
    filters, size = (24, 2) if whitening is None else (whitening.shape[-1], whitening.shape[0])
    whiten = keras.layers.Conv2D(filters, size, use_bias=False, trainable=whitening is None, name="whiten")
    x = whiten(x)
    if whiten_bias:
        x = Bias(name="whiten_bias")(x)
    x = keras.layers.Activation("gelu", name="whiten_gelu")(x)
    convs = []
    for i, width in enumerate(widths, start=1):
        for part in ("a", "b"):
            convs.append(
                keras.layers.Conv2D(
                    width, 3, padding="same", use_bias=False, kernel_initializer=kernels(), name=f"block{i}{part}_conv"
                )
            )
            x = convs[-1](x)
            if part == "a":
                x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
            x = keras.layers.BatchNormalization(
                momentum=batchnorm_momentum, epsilon=1e-12, scale=bn_scale, name=f"block{i}{part}_bn"
            )(x)
            x = keras.layers.Activation("gelu", name=f"block{i}{part}_gelu")(x)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D(3, name="pool")(x))
    x = keras.layers.Dense(num_classes, use_bias=False, kernel_initializer=kernels(), name="logits")(x)
    model = keras.Model(inputs, keras.layers.Rescaling(1 / 9, name="scale")(x), name="airbench_net")
    if whitening is not None:
        whiten.set_weights([whitening])
    if identity:
        for conv in convs:
            identity_init(conv)
    return model
