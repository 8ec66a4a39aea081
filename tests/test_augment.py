"""`course_lib.augment`: random crops, translations and flips."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from course_lib import augment


def test_random_crop_with_padding_translates_by_at_most_pad_pixels():
    tf.random.set_seed(0)
    images = tf.constant(np.random.default_rng(0).random((16, 8, 8, 1)), tf.float32)
    out = augment.random_crop(images, 8, pad=2).numpy()
    padded = np.pad(images.numpy(), [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    for k in range(16):
        shifts = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if np.array_equal(out[k], padded[k, dy : dy + 8, dx : dx + 8])
        ]
        assert shifts, f"image {k} is not a window of its padded image"
    assert len({out[k].tobytes() for k in range(16)}) > 1


def test_translate_shifts_down_and_right_with_reflected_edges():
    images = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    out = augment.translate(tf.constant(images), 1, -2).numpy()
    np.testing.assert_array_equal(out[:, 1:, :3], images[:, :4, 2:])  # row r comes from r - 1, column c from c + 2
    np.testing.assert_array_equal(out[:, 0], images[:, 1, list(range(2, 5)) + [3, 2]])  # reflected edges
    np.testing.assert_array_equal(augment.translate(tf.constant(images), 0, 0).numpy(), images)


def test_random_flip_mirrors_about_half_the_images():
    tf.random.set_seed(0)
    images = tf.constant(np.random.default_rng(0).random((200, 4, 4, 1)), tf.float32)
    out = augment.random_flip(images).numpy()
    flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images.numpy())]
    kept = [np.array_equal(o, i) for o, i in zip(out, images.numpy())]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 60 < sum(flipped) < 140


def test_every_crop_offset_is_reachable_and_none_beyond():
    tf.random.set_seed(1)
    side, pad = 6, 2
    rows, cols = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    image = np.stack([rows, cols], axis=-1).astype(np.float32)  # each pixel holds its own row and column
    out = augment.random_crop(tf.constant(np.repeat(image[None], 2000, axis=0)), side, pad=pad).numpy()
    padded = np.pad(image, [(pad, pad), (pad, pad), (0, 0)], mode="reflect")
    windows = {
        padded[dy : dy + side, dx : dx + side].tobytes(): (dy, dx)
        for dy in range(2 * pad + 1)
        for dx in range(2 * pad + 1)
    }
    seen = [windows.get(crop.tobytes()) for crop in out]
    assert None not in seen, "every crop is a window of the padded image"
    assert set(seen) == set(windows.values()), "all (2 pad + 1)^2 offsets occur, the last ones included"


def test_crops_and_translations_keep_a_wide_image_wide():
    tf.random.set_seed(3)
    images = tf.constant(np.tile(np.arange(4 * 6, dtype=np.float32).reshape(1, 4, 6, 1), (200, 1, 1, 1)))
    crops = augment.random_crop(images, 4, pad=1).numpy()
    padded = np.pad(images.numpy()[0], [(1, 1), (1, 1), (0, 0)], mode="reflect")
    windows = {padded[dy : dy + 4, dx : dx + 4].tobytes() for dy in range(3) for dx in range(5)}
    assert all(crop.tobytes() in windows for crop in crops), "each crop a 4x4 window of the padded 6x8 image"
    out = augment.translate(images, 1, 2).numpy()
    assert out.shape == (200, 4, 6, 1)
    np.testing.assert_array_equal(out[:, 1:, 2:], images.numpy()[:, :3, :4])


def test_without_padding_a_crop_is_a_window_of_the_image_itself():
    tf.random.set_seed(2)
    rows, cols = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    image = np.stack([rows, cols], axis=-1).astype(np.float32)
    out = augment.random_crop(tf.constant(np.repeat(image[None], 500, axis=0)), 3).numpy()
    offsets = {(int(crop[0, 0, 0]), int(crop[0, 0, 1])) for crop in out}
    assert offsets == {(dy, dx) for dy in range(3) for dx in range(3)}, "no reflected border by default"
