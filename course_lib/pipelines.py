"""tf.data input pipelines for images held in memory as uint8 arrays."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf


def array_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffle_seed: int | None = None,
    augment: Callable[[tf.Tensor], tf.Tensor] | None = None,
    num_classes: int | None = None,
) -> tf.data.Dataset:
    """Batches of float32 images scaled to [0, 1], with their labels.

    Cached (the pattern the course teaches; for arrays already in memory it only costs a copy,
    it pays off where records are read and decoded from files); reshuffled every epoch if
    `shuffle_seed` is given (training), in order otherwise (evaluation); `augment` runs on whole
    batches; labels become one-hot vectors if `num_classes` is given (needed for label
    smoothing); prefetched. Augmented batches are drawn in one thread so that a seeded run repeats.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: they must match one to one")
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32))).cache()
    if shuffle_seed is not None:
        ds = ds.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def prepare(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.cast(x, tf.float32) / 255.0
        if augment is not None:
            x = augment(x)
        return x, (y if num_classes is None else tf.one_hot(y, num_classes))

    # Random augmentation runs in one thread, in batch order, so a seeded run repeats exactly
    # (parallel calls would take the random numbers in whatever order the threads run).
    parallel = None if augment is not None else tf.data.AUTOTUNE
    return ds.map(prepare, num_parallel_calls=parallel).prefetch(tf.data.AUTOTUNE)
