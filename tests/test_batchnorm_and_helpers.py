"""Batch normalization reference, augmentations, array pipelines, training helpers and the BN models."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import augment, batchnorm, evaluation, models, pipelines, training


@pytest.fixture
def bn_layer_and_input():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(8, 4, 4, 5)).astype(np.float32)
    layer = keras.layers.BatchNormalization(momentum=0.9)
    layer.build(x.shape)
    layer.gamma.assign(rng.uniform(0.5, 2.0, 5))
    layer.beta.assign(rng.normal(size=5))
    return layer, x


def test_reference_matches_keras_in_training_mode_including_moving_statistics(bn_layer_and_input):
    layer, x = bn_layer_and_input
    state = batchnorm.state_of(layer)
    expected, updated = batchnorm.batch_norm_train(x, state, momentum=0.9)
    np.testing.assert_allclose(layer(x, training=True).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), updated.moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), updated.moving_variance, atol=1e-5)
    assert not np.allclose(updated.moving_mean, state.moving_mean)  # the update did something


def test_reference_matches_keras_in_inference_mode(bn_layer_and_input):
    layer, x = bn_layer_and_input
    layer.moving_mean.assign(np.arange(5.0))
    layer.moving_variance.assign(np.linspace(0.5, 3, 5))
    before = batchnorm.state_of(layer)
    np.testing.assert_allclose(layer(x, training=False).numpy(), batchnorm.batch_norm_inference(x, before), atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before.moving_mean)  # inference does not update


def test_training_mode_output_is_normalized_per_channel():
    x = np.random.default_rng(1).normal(5, 3, size=(64, 7)).astype(np.float32)
    y, _ = batchnorm.batch_norm_train(x, batchnorm.BatchNormState.initial(7), epsilon=0.0)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-5)


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


def test_array_dataset_scales_shuffles_and_one_hot_encodes():
    images = np.arange(10 * 2 * 2 * 3, dtype=np.uint8).reshape(10, 2, 2, 3)
    labels = np.arange(10) % 3
    ordered = pipelines.array_dataset(images, labels, 4)
    x, y = next(iter(ordered))
    np.testing.assert_allclose(x.numpy(), images[:4] / 255, rtol=1e-6)
    np.testing.assert_array_equal(y.numpy(), labels[:4])
    shuffled = pipelines.array_dataset(images, labels, 10, shuffle_seed=0, num_classes=3)
    first, second = (np.concatenate([b.numpy() for b, _ in shuffled]) for _ in range(2))
    assert not np.array_equal(first, second)  # reshuffled each epoch
    assert sorted(first[:, 0, 0, 0].tolist()) == sorted((images[:, 0, 0, 0] / 255).astype(np.float32).tolist())
    assert next(iter(shuffled))[1].shape == (10, 3)


def test_array_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        pipelines.array_dataset(np.zeros((3, 2, 2, 3), np.uint8), np.zeros(2), 2)


def test_accuracy_and_confident_mistakes():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([1, 1, 1, 1])
    assert evaluation.accuracy(probabilities, labels) == 0.5
    assert evaluation.confident_mistakes(probabilities, labels, 5).tolist() == [0, 2]
    assert evaluation.confident_mistakes(probabilities, labels, 1).tolist() == [0]


def test_flip_probabilities_average_the_mirror_images():
    model = keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    x = np.random.default_rng(0).random((3, 2, 2, 1)).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(3))).batch(2)
    plain = evaluation.predict_probabilities(model, ds)
    mirror = tf.nn.softmax(model.predict(x[:, :, ::-1], verbose=0)).numpy()
    np.testing.assert_allclose(evaluation.predict_probabilities(model, ds, flip=True), (plain + mirror) / 2, atol=1e-6)


def test_timed_fit_cuts_an_endless_dataset_into_epochs_and_runs_callbacks():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    x = np.random.default_rng(0).random((8, 2)).astype(np.float32)
    endless = tf.data.Dataset.from_tensor_slices((x, np.arange(8) % 2)).batch(4).repeat()
    finite = tf.data.Dataset.from_tensor_slices((x, np.arange(8) % 2)).batch(4)
    steps = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    history, seconds = training.timed_fit(
        model, endless, 3, finite, log_every=None, steps_per_epoch=5, callbacks=[counter]
    )
    assert len(steps) == 15 and len(history["val_accuracy"]) == 3 and seconds > 0


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


def test_views_are_averaged_in_probability_space():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    x = np.random.default_rng(1).random((4, 2)).astype(np.float32)
    views = [tf.data.Dataset.from_tensor_slices((v, np.zeros(4))).batch(3) for v in (x, 2 * x)]
    softmax = [tf.nn.softmax(model.predict(v, verbose=0)).numpy() for v in (x, 2 * x)]
    np.testing.assert_allclose(evaluation.predict_probabilities(model, views), (softmax[0] + softmax[1]) / 2, atol=1e-6)


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    matrix = evaluation.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_a_seeded_augmented_pipeline_repeats_exactly():
    from course_lib import runtime

    images = np.random.default_rng(0).integers(0, 256, size=(64, 8, 8, 3), dtype=np.uint8)

    def batches():
        runtime.seed_everything(3)
        ds = pipelines.array_dataset(images, np.arange(64) % 10, 8, shuffle_seed=3, augment=augment.random_flip)
        return [x.numpy() for x, _ in ds.repeat(3)]

    first, second = batches(), batches()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_epoch_table_prints_a_header_every_nth_epoch_the_last_and_where_early_stopping_ended():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    x = np.random.default_rng(0).random((8, 2)).astype(np.float32)
    lines: list[str] = []
    model.fit(x, np.arange(8) % 2, epochs=7, verbose=0, callbacks=[training.EpochTable(3, print_fn=lines.append)])
    assert lines[0].split() == ["epoch", "loss", "accuracy", "seconds"]
    assert [int(line.split()[0]) for line in lines[1:]] == [3, 6, 7]
    lines.clear()
    stop = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 3))
    model.fit(x, np.arange(8) % 2, epochs=9, verbose=0, callbacks=[stop, training.EpochTable(3, print_fn=lines.append)])
    assert [int(line.split()[0]) for line in lines[1:]] == [3, 4]
