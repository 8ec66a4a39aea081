"""CIFAR-10 binary records through two input pipelines: tf.data, and the TF1 queue runners it replaced.

A record is 3073 bytes: one label byte, then 3072 pixels, channel-major (1024 red, 1024 green,
1024 blue, each row by row). The training distortions are those of the original TensorFlow
CIFAR-10 tutorial: random 24x24 crop, random left-right flip, random brightness (max delta 63)
and contrast (0.2-1.8), then per-image standardization; test images get a central crop only
(or, for test-time augmentation, the four corner crops and the mirror images too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from course_lib import augment
from course_lib.data.layouts import CIFAR_BINARY_FILES, CIFAR_RECORD_BYTES

CROP = 24


def record_files(folder: str | os.PathLike, split: str) -> list[str]:
    """The .bin files of `split` ('train' or 'test') in a `cifar-10-batches-bin/` folder."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    names = CIFAR_BINARY_FILES.train if split == "train" else (CIFAR_BINARY_FILES.test,)
    return [str(Path(folder) / name) for name in names]


def decode_record(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One 3073-byte record -> (uint8 image 32x32x3, int32 label)."""
    raw = tf.io.decode_raw(record, tf.uint8)
    label = tf.cast(raw[0], tf.int32)
    image = tf.transpose(tf.reshape(raw[1:], [3, 32, 32]), [1, 2, 0])
    return image, label


def records(files: Sequence[str], keep: np.ndarray | None = None) -> tf.data.Dataset:
    """Decoded (image, label) records, in file order: `FixedLengthRecordDataset` + `map`.

    `keep`, a boolean mask with one entry per record (see `holdout`), keeps only the records it marks.
    """
    ds = tf.data.FixedLengthRecordDataset(list(files), CIFAR_RECORD_BYTES)
    if keep is not None:
        if len(keep) != record_count(files):
            raise ValueError(f"keep has {len(keep)} entries but the files hold {record_count(files)} records")
        mask = tf.constant(keep, tf.bool)

        def kept(index: tf.Tensor, record: tf.Tensor) -> tf.Tensor:
            return mask[index]

        def drop_index(index: tf.Tensor, record: tf.Tensor) -> tf.Tensor:
            return record

        ds = ds.enumerate().filter(kept).map(drop_index)
    return ds.map(decode_record)


def holdout(files: Sequence[str], size: int, seed: int) -> np.ndarray:
    """A seeded random choice of `size` records of `files` to hold out for validation, as a boolean mask.

    `records(files, keep=mask)` reads the held-out records, `keep=~mask` the others.
    """
    count = record_count(files)
    if not 0 < size < count:
        raise ValueError(
            f"cannot hold out {size} of {count} records: choose a validation size between 1 and {count - 1}"
        )
    mask = np.zeros(count, bool)
    mask[np.random.default_rng(seed).choice(count, size, replace=False)] = True
    return mask


def distort(image: tf.Tensor) -> tf.Tensor:
    """The tutorial's training distortions for one image, ending in per-image standardization."""
    return distort_batch(image[tf.newaxis])[0]


def distort_batch(images: tf.Tensor, colour: bool = True) -> tf.Tensor:
    """The same distortions drawn independently for each image of a uint8 batch, as whole-batch ops.

    Random 24x24 crop, left-right flip with probability 1/2, brightness + U(-63, 63),
    contrast x U(0.2, 1.8) around each channel's mean, then per-image standardization:
    what `tf.image.random_crop`, `random_flip_left_right`, `random_brightness`,
    `random_contrast` and `per_image_standardization` do to one image, batched so that the
    input pipeline costs little next to the model on a CPU. `colour=False` skips the
    brightness and contrast jitter.
    """
    images = augment.random_flip(augment.random_crop(tf.cast(images, tf.float32), CROP))
    if colour:
        n = tf.shape(images)[0]
        images += tf.random.uniform([n, 1, 1, 1], -63.0, 63.0)
        mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
        images = (images - mean) * tf.random.uniform([n, 1, 1, 1], 0.2, 1.8) + mean
    return tf.image.per_image_standardization(images)


# (top, left) of the centre crop and the four corner crops of a 32x32 image: AlexNet's test views
CROP_OFFSETS = ((4, 4), (0, 0), (0, 8), (8, 0), (8, 8))


def view(image: tf.Tensor, top: int = 4, left: int = 4, flip: bool = False) -> tf.Tensor:
    """A 24x24 test view at (top, left), optionally mirrored, standardized per image."""
    image = tf.image.crop_to_bounding_box(tf.cast(image, tf.float32), top, left, CROP, CROP)
    if flip:
        image = tf.image.flip_left_right(image)
    return tf.image.per_image_standardization(image)


def train_dataset(
    files: Sequence[str],
    batch_size: int,
    shuffle_seed: int,
    colour: bool = True,
    shuffle_buffer: int = 20000,
    keep: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Endless shuffled, distorted batches (the queue pipeline's `shuffle_batch`); see `distort_batch`.

    The distortions are drawn in one thread so that a seeded run repeats exactly. `keep`: as in `records`.
    """
    ds = records(files, keep).cache().repeat().shuffle(shuffle_buffer, seed=shuffle_seed)
    ds = ds.batch(batch_size, drop_remainder=True)
    # One thread draws the random distortions, in batch order, so a seeded run repeats exactly
    # (parallel calls would take the random numbers in whatever order the threads run).
    return ds.map(lambda x, y: (distort_batch(x, colour), y)).prefetch(tf.data.AUTOTUNE)


def test_dataset(
    files: Sequence[str],
    batch_size: int,
    top: int = 4,
    left: int = 4,
    flip: bool = False,
    keep: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Every record once, in order, as one 24x24 view (default: the central crop); see `view`.

    For the test files, or for held-out training records (`keep`, as in `records`). The dataset
    knows its length (from the file sizes), so Keras does not warn that the input ran out of data.
    """
    count = record_count(files) if keep is None else int(np.sum(keep))
    ds = records(files, keep).map(lambda x, y: (view(x, top, left, flip), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size).apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
    return ds.prefetch(tf.data.AUTOTUNE)


def test_views(
    files: Sequence[str],
    batch_size: int,
    views: Sequence[tuple[int, int, bool]] = ((4, 4, False),),
    keep: np.ndarray | None = None,
) -> list[tf.data.Dataset]:
    """One `test_dataset` per (top, left, flip) view, for `evaluation.predict_probabilities`."""
    return [test_dataset(files, batch_size, *v, keep=keep) for v in views]


def record_count(files: Sequence[str]) -> int:
    """Number of records in `files`, from their sizes; a size that is not a whole number of records is an error."""
    total = 0
    for name in files:
        size = os.path.getsize(name)
        if size % CIFAR_RECORD_BYTES:
            raise ValueError(
                f"{name} holds {size} bytes, not a whole number of {CIFAR_RECORD_BYTES}-byte CIFAR-10 records: "
                "the file is truncated or not a CIFAR-10 binary batch; fetch it again"
            )
        total += size // CIFAR_RECORD_BYTES
    return total


def queue_pipeline_records(files: Sequence[str], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Read the first `count` records with the TF1 queue runners, as the original tutorial did.

    filename queue (`string_input_producer`) -> `FixedLengthRecordReader` -> decode ->
    `tf.train.batch`, in its own graph and `tf.compat.v1.Session` with queue runners started.
    No shuffling, so the records come out in file order and can be compared with tf.data's.
    """
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # every queue call logs its deprecation; the markdown says it once
    try:
        return _run_queue_pipeline(files, count)
    finally:
        logger.setLevel(level)


def _run_queue_pipeline(files: Sequence[str], count: int) -> tuple[np.ndarray, np.ndarray]:
    v1 = tf.compat.v1
    with tf.Graph().as_default():
        filename_queue = v1.train.string_input_producer(list(files), shuffle=False, num_epochs=1)
        reader = v1.FixedLengthRecordReader(record_bytes=CIFAR_RECORD_BYTES)
        _, value = reader.read(filename_queue)
        image, label = decode_record(value)
        image.set_shape([32, 32, 3])
        images, labels = v1.train.batch([image, label], batch_size=count, num_threads=1)
        with v1.Session() as sess:
            sess.run(v1.local_variables_initializer())
            coord = v1.train.Coordinator()
            threads = v1.train.start_queue_runners(sess=sess, coord=coord)
            try:
                return sess.run([images, labels])
            finally:
                coord.request_stop()
                coord.join(threads)
