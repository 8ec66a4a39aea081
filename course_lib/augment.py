"""Random augmentations applied to a whole batch at once: cheap next to the model on a CPU.

Each image of the batch gets its own random draw, as with `tf.image.random_crop` and
`tf.image.random_flip_left_right` applied image by image inside `map`, but as a few batch ops.
"""

from __future__ import annotations

import tensorflow as tf


def random_crop(images: tf.Tensor, size: int, pad: int = 0) -> tf.Tensor:
    """A random `size` x `size` window of each image, after reflect-padding `pad` pixels on each side.

    With `pad` > 0 and `size` equal to the image side this is a random translation by up to `pad`
    pixels in each direction.
    """
    if pad:
        images = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    n, height, width = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    rows = tf.random.uniform([n, 1], 0, height - size + 1, dtype=tf.int32) + tf.range(size)
    cols = tf.random.uniform([n, 1], 0, width - size + 1, dtype=tf.int32) + tf.range(size)
    return tf.gather(tf.gather(images, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)


def random_flip(images: tf.Tensor) -> tf.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    flip = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < 0.5
    return tf.where(flip, tf.reverse(images, axis=[2]), images)


def translate(images: tf.Tensor, dy: int, dx: int) -> tf.Tensor:
    """Every image shifted down `dy` and right `dx` pixels (negative: up, left), reflect-padded at the edges.

    The fixed shifts of test-time augmentation, the deterministic twin of `random_crop(..., pad=...)`.
    """
    pad = max(abs(dy), abs(dx))
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    return padded[:, pad - dy : pad - dy + height, pad - dx : pad - dx + width, :]
