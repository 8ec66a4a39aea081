"""Model builders shared by the notebooks."""

from __future__ import annotations

import keras

from course_lib.lrn import TUTORIAL_PARAMS, LocalResponseNormalization


def cifar10_lrn_cnn(weight_decay: float = 0.004, input_size: int = 24, num_classes: int = 10) -> keras.Model:
    """The classic TensorFlow CIFAR-10 tutorial network (channels last, logits out).

    conv 5x5x64 + ReLU -> max-pool 3x3/2 -> LRN -> conv 5x5x64 + ReLU -> LRN -> max-pool 3x3/2
    -> dense 384 -> dense 192 -> dense 10. The fully connected weights carry the tutorial's
    L2 term, weight_decay * tf.nn.l2_loss(w) = weight_decay / 2 * sum(w**2).
    """
    l2 = keras.regularizers.L2(weight_decay / 2)
    return keras.Sequential(
        [
            keras.Input(shape=(input_size, input_size, 3)),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1"),
            LocalResponseNormalization(**TUTORIAL_PARAMS, name="norm1"),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu", name="conv2"),
            LocalResponseNormalization(**TUTORIAL_PARAMS, name="norm2"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool2"),
            keras.layers.Flatten(),
            keras.layers.Dense(384, activation="relu", kernel_regularizer=l2, name="local3"),
            keras.layers.Dense(192, activation="relu", kernel_regularizer=l2, name="local4"),
            keras.layers.Dense(num_classes, name="logits"),
        ],
        name="cifar10_lrn_cnn",
    )
