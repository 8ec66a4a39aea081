"""`course_lib.cifar_records`: CIFAR-10 record pipelines (tf.data and TF1 queue runners), test views, the hold-out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from course_lib import cifar_records
from course_lib.data import tiny


@pytest.fixture
def record_file(tmp_path):
    x, y = tiny.cifar_like(20, np.random.default_rng(0))
    path = tmp_path / "test_batch.bin"
    path.write_bytes(tiny.cifar_binary_records(x, y))
    return str(path), x, y


def test_tfdata_and_queue_pipelines_decode_the_same_records(record_file):
    path, x, y = record_file
    images, labels = next(iter(cifar_records.records([path]).batch(20)))
    np.testing.assert_array_equal(images.numpy(), x)
    np.testing.assert_array_equal(labels.numpy(), y)
    q_images, q_labels = cifar_records.queue_pipeline_records([path], count=20)
    np.testing.assert_array_equal(q_images, x)
    np.testing.assert_array_equal(q_labels, y)


def test_train_and_test_preprocessing_shapes_and_standardization(record_file):
    path, _, _ = record_file
    batch, labels = next(iter(cifar_records.train_dataset([path], batch_size=8, shuffle_seed=0)))
    assert batch.shape == (8, 24, 24, 3) and labels.dtype == tf.int32
    np.testing.assert_allclose(tf.reduce_mean(batch, axis=[1, 2, 3]).numpy(), 0, atol=1e-4)
    test = np.concatenate([x.numpy() for x, _ in cifar_records.test_dataset([path], batch_size=6)])
    assert test.shape == (20, 24, 24, 3)
    again = np.concatenate([x.numpy() for x, _ in cifar_records.test_dataset([path], batch_size=6)])
    np.testing.assert_array_equal(test, again)  # no randomness at test time


def test_record_files_rejects_unknown_split(tmp_path):
    assert [p.rsplit("/", 1)[-1] for p in cifar_records.record_files(tmp_path, "test")] == ["test_batch.bin"]
    with pytest.raises(ValueError, match="'train' or 'test'"):
        cifar_records.record_files(tmp_path, "validation")


def test_batched_distortions_crop_real_windows_of_each_image():
    tf.random.set_seed(0)
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3)), tf.uint8)
    out = cifar_records.distort_batch(images).numpy()
    assert out.shape == (6, 24, 24, 3)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-3)
    # undo brightness/contrast/standardization per channel: each crop correlates perfectly with one window
    for k in range(6):
        best = max(
            abs(np.corrcoef(out[k, ..., 0].ravel(), window.ravel())[0, 1])
            for dy in range(9)
            for dx in range(9)
            for window in (
                images.numpy()[k, dy : dy + 24, dx : dx + 24, 0],
                images.numpy()[k, dy : dy + 24, dx : dx + 24, 0][:, ::-1],
            )
        )
        assert best > 0.999


def test_test_views_are_the_centre_and_corner_crops_and_their_mirrors(record_file):
    path, x, _ = record_file
    image = tf.constant(x[0])
    np.testing.assert_allclose(
        cifar_records.view(image).numpy(),
        tf.image.per_image_standardization(
            tf.image.resize_with_crop_or_pad(tf.cast(image, tf.float32), 24, 24)
        ).numpy(),
    )
    for top, left in cifar_records.CROP_OFFSETS:
        window = tf.image.per_image_standardization(tf.constant(x[0, top : top + 24, left : left + 24], tf.float32))
        np.testing.assert_allclose(cifar_records.view(image, top, left).numpy(), window.numpy(), atol=1e-6)
        np.testing.assert_allclose(
            cifar_records.view(image, top, left, flip=True).numpy(), window.numpy()[:, ::-1], atol=1e-6
        )
    views = next(iter(cifar_records.test_dataset([path], 20, top=0, left=8, flip=True)))[0].numpy()
    np.testing.assert_allclose(views[0], cifar_records.view(image, 0, 8, flip=True).numpy(), atol=1e-6)


def test_test_dataset_knows_its_length_and_rejects_truncated_files(record_file, tmp_path):
    path, _, _ = record_file
    ds = cifar_records.test_dataset([path], batch_size=6)
    assert int(ds.cardinality()) == 4 == sum(1 for _ in ds)  # 20 records in batches of 6
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(Path(path).read_bytes()[:-5])
    with pytest.raises(ValueError, match="truncated"):
        cifar_records.test_dataset([str(truncated)], batch_size=6)


def test_holdout_splits_the_records_into_two_disjoint_seeded_parts(record_file):
    path, x, y = record_file
    held = cifar_records.holdout([path], 5, seed=3)
    assert held.dtype == bool and held.sum() == 5
    np.testing.assert_array_equal(held, cifar_records.holdout([path], 5, seed=3))  # seeded
    assert not np.array_equal(held, cifar_records.holdout([path], 5, seed=4))
    validation = next(iter(cifar_records.records([path], keep=held).batch(20)))
    training = next(iter(cifar_records.records([path], keep=~held).batch(20)))
    np.testing.assert_array_equal(validation[0].numpy(), x[held])  # exactly the marked records, in file order
    np.testing.assert_array_equal(training[1].numpy(), y[~held])
    ds = cifar_records.test_dataset([path], batch_size=2, keep=held)
    assert int(ds.cardinality()) == 3 == sum(1 for _ in ds)  # 5 records in batches of 2


def test_training_batches_never_show_a_held_out_record(tmp_path):
    x, _ = tiny.cifar_like(10, np.random.default_rng(0))
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(tiny.cifar_binary_records(x, np.arange(10)))  # the label names the record
    held = cifar_records.holdout([str(path)], 3, seed=0)
    ds = cifar_records.train_dataset([str(path)], batch_size=7, shuffle_seed=0, keep=~held)
    seen = {int(label) for _, labels in ds.take(20) for label in labels}
    assert seen == set(np.flatnonzero(~held).tolist())


def test_holdout_and_keep_reject_sizes_that_do_not_fit(record_file):
    path, _, _ = record_file
    for size in (0, 20, 25):
        with pytest.raises(ValueError, match=f"cannot hold out {size} of 20 records"):
            cifar_records.holdout([path], size, seed=0)
    with pytest.raises(ValueError, match="keep has 19 entries but the files hold 20 records"):
        cifar_records.records([path], keep=np.ones(19, bool))


def test_the_train_split_is_the_five_data_batches(tmp_path):
    names = [p.rsplit("/", 1)[-1] for p in cifar_records.record_files(tmp_path, "train")]
    assert names == [f"data_batch_{k}.bin" for k in range(1, 6)]


def test_holdout_counts_every_file_and_takes_one_record_at_least(record_file, tmp_path):
    path, _, _ = record_file
    second = tmp_path / "second.bin"
    second.write_bytes(Path(path).read_bytes())
    assert cifar_records.holdout([path, str(second)], 39, seed=0).shape == (40,), "20 records in each file"
    assert cifar_records.holdout([path], 1, seed=0).sum() == 1
    with pytest.raises(ValueError, match="choose a validation size between 1 and 19$"):
        cifar_records.holdout([path], 20, seed=0)


def test_a_cut_file_is_named_and_the_message_says_what_to_do(record_file, tmp_path):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(Path(record_file[0]).read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"the file is truncated or not a CIFAR-10 binary batch; fetch it again$"):
        cifar_records.record_count([str(cut)])


def test_distort_one_image_gives_a_standardized_24x24_crop(record_file):
    _, x, _ = record_file
    out = cifar_records.distort(tf.constant(x[0])).numpy()
    assert out.shape == (24, 24, 3)
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1) < 1e-2


def test_test_views_gives_one_dataset_per_view_in_order(record_file):
    path, x, _ = record_file
    views = ((4, 4, False), (0, 8, True))
    datasets = cifar_records.test_views([path], 20, views)
    assert len(datasets) == 2
    for ds, (top, left, flip) in zip(datasets, views, strict=True):
        first = next(iter(ds))[0].numpy()[0]
        np.testing.assert_allclose(first, cifar_records.view(tf.constant(x[0]), top, left, flip).numpy(), atol=1e-6)


def _checkerboard(count: int) -> tf.Tensor:
    """`count` copies of an image whose every 24x24 window, mirrored or not, has the same statistics:
    channel means 60, 128, 190, and a +-20 checkerboard within each channel."""
    board = np.where(np.add.outer(np.arange(32), np.arange(32)) % 2 == 0, 20, -20)
    image = np.stack([m + board for m in (60, 128, 190)], axis=-1).astype(np.uint8)
    return tf.constant(np.repeat(image[np.newaxis], count, axis=0))


def _contrast_factors(out: np.ndarray, images: tf.Tensor) -> np.ndarray:
    """The contrast factor each distorted image was given: within-channel spread relative to the spread of
    the channel means, after over before (brightness and standardization change neither ratio)."""

    def ratio(x):
        means = x.mean(axis=(1, 2), keepdims=True)
        return (x - means).std(axis=(1, 2, 3)) / means.std(axis=(1, 2, 3))

    return ratio(out.astype(np.float64)) / ratio(images.numpy()[:, 4:28, 4:28].astype(np.float64))


def test_contrast_scales_each_channel_around_its_mean_by_0_2_to_1_8():
    tf.random.set_seed(0)
    images = _checkerboard(300)
    factors = _contrast_factors(cifar_records.distort_batch(images).numpy(), images)
    assert factors.min() >= 0.2 - 1e-4 and factors.max() <= 1.8 + 1e-4
    assert factors.min() < 0.3 and factors.max() > 1.7, "the whole range is drawn, one factor per image"
    plain = _contrast_factors(cifar_records.distort_batch(images, colour=False).numpy(), images)
    np.testing.assert_allclose(plain, 1, rtol=1e-4)


def _checkerboard_batch(tmp_path):
    """A training batch file of 40 copies of one checkerboard image, labelled 0 to 9 in turn."""
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(tiny.cifar_binary_records(np.asarray(_checkerboard(1)).repeat(40, axis=0), np.arange(40) % 10))
    return path


def test_train_dataset_seeds_its_order_passes_colour_on_and_keeps_whole_batches(tmp_path):
    path = _checkerboard_batch(tmp_path)

    def batches(seed, colour=True):
        tf.random.set_seed(0)
        ds = cifar_records.train_dataset([str(path)], 16, shuffle_seed=seed, colour=colour, shuffle_buffer=40)
        assert ds.element_spec[0].shape == (16, 24, 24, 3), "drop_remainder: every batch is whole"
        return [y.numpy().tolist() for _, y in ds.take(3)], next(iter(ds))[0].numpy()

    order, coloured = batches(1)
    assert batches(1)[0] == order and batches(2)[0] != order
    assert np.ptp(_contrast_factors(coloured, _checkerboard(16))) > 0.1, "colour on by default"
    np.testing.assert_allclose(_contrast_factors(batches(1, colour=False)[1], _checkerboard(16)), 1, rtol=1e-4)


def test_test_dataset_defaults_to_the_unmirrored_centre_crop(record_file):
    path, x, _ = record_file
    first = next(iter(cifar_records.test_dataset([path], 20)))[0].numpy()
    centre = tf.image.per_image_standardization(tf.constant(x[:, 4:28, 4:28], tf.float32)).numpy()
    np.testing.assert_allclose(first, centre, atol=1e-6)


def test_test_views_pass_the_held_out_records_on(record_file):
    path, x, _ = record_file
    held = cifar_records.holdout([path], 5, seed=3)
    for ds in cifar_records.test_views([path], 20, ((4, 4, False), (0, 0, True)), keep=held):
        assert next(iter(ds))[0].shape[0] == 5
    first = next(iter(cifar_records.test_views([path], 20, keep=held)[0]))[0].numpy()
    np.testing.assert_allclose(first[0], cifar_records.view(tf.constant(x[held][0])).numpy(), atol=1e-6)


def test_a_uniform_brightness_shift_is_undone_by_the_standardization():
    """Notebook 04 says the brightness jitter does nothing: standardizing per image removes any shift."""
    images = tf.constant(np.random.default_rng(0).integers(0, 150, size=(8, 32, 32, 3)), tf.uint8)
    tf.random.set_seed(0)
    plain = cifar_records.distort_batch(images).numpy()
    tf.random.set_seed(0)
    brighter = cifar_records.distort_batch(images + 100).numpy()
    np.testing.assert_allclose(brighter, plain, atol=1e-4)
    assert np.abs(plain).max() > 1, "the outputs are real standardized images, not constants"


def test_contrast_keeps_each_channels_mean_so_a_flat_colour_keeps_its_order():
    """Red above green above blue everywhere: after the jitter and the standardization, still in that order."""
    flat = np.broadcast_to(np.array([200, 120, 40], np.uint8), (8, 32, 32, 3))
    out = cifar_records.distort_batch(tf.constant(flat)).numpy()
    assert np.all(out[..., 0] > out[..., 1]) and np.all(out[..., 1] > out[..., 2])


def test_train_dataset_defaults_are_colour_on_and_a_buffer_of_20000(tmp_path):
    path = _checkerboard_batch(tmp_path)

    def first(**settings):
        tf.random.set_seed(0)
        images, labels = next(iter(cifar_records.train_dataset([str(path)], 16, shuffle_seed=1, **settings)))
        return images.numpy(), labels.numpy()

    default, explicit = first(), first(colour=True, shuffle_buffer=20000)
    np.testing.assert_array_equal(default[0], explicit[0])
    np.testing.assert_array_equal(default[1], explicit[1])


def test_the_queue_pipeline_reads_its_files_in_the_order_given(tmp_path):
    paths, labels = [], []
    for k in range(5):
        x, y = tiny.cifar_like(4, np.random.default_rng(k))
        paths.append(str(tmp_path / f"data_batch_{k + 1}.bin"))
        Path(paths[-1]).write_bytes(tiny.cifar_binary_records(x, (y + k) % 10))
        labels += ((y + k) % 10).tolist()
    _, read = cifar_records.queue_pipeline_records(paths, count=20)
    assert read.tolist() == labels, "no shuffling of the files: 1 chance in 120 to pass by luck if they were"
