"""course_lib.training: the epoch log, the timed fit and the weight average."""

import itertools
import time
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import training


def _fit_with_average(steps: int, decay: float) -> tuple[list[np.ndarray], training.WeightAverage, keras.Model]:
    """One weight, plain SGD on a fixed batch; returns the weight after every step (initial first)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    seen = [model.get_weights()[0].copy()]
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda *_, **__: seen.append(model.get_weights()[0].copy())
    )
    average = training.WeightAverage(decay)
    x, y = np.ones((4, 1), "float32"), np.full((4, 1), 3.0, "float32")
    model.fit(x, y, batch_size=4, epochs=steps, callbacks=[average, record], verbose=0, shuffle=False)
    return seen, average, model


def test_weight_average_follows_tf1s_warmed_up_decay():
    steps, decay = 30, 0.9
    seen, average, _ = _fit_with_average(steps, decay)
    expected = seen[0]
    for t in range(1, steps + 1):
        d = min(decay, (1 + t) / (10 + t))
        expected = d * expected + (1 - d) * seen[t]
    np.testing.assert_allclose(average.average[0].numpy(), expected, rtol=1e-5)
    assert float(average.steps.numpy()) == steps


def test_the_warm_up_keeps_little_of_the_initial_weights():
    seen, average, _ = _fit_with_average(50, 0.999)
    constant = seen[0]
    for t in range(1, 51):
        constant = 0.999 * constant + 0.001 * seen[t]
    # without the warm-up the average would sit next to the initial weight 1.0
    assert abs(float(constant[0, 0]) - 1.0) < 0.1
    assert (
        abs(float(average.average[0].numpy()[0, 0]) - float(seen[-1][0, 0]))
        < abs(float(constant[0, 0]) - float(seen[-1][0, 0])) / 3
    )


def test_swap_exchanges_and_swaps_back():
    seen, average, model = _fit_with_average(10, 0.9)
    last, averaged = model.get_weights()[0].copy(), average.average[0].numpy().copy()
    assert not np.allclose(last, averaged)
    average.swap()
    np.testing.assert_array_equal(model.get_weights()[0], averaged)
    average.swap()
    np.testing.assert_array_equal(model.get_weights()[0], last)
    np.testing.assert_array_equal(last, seen[-1])


def _tiny_model() -> tuple[keras.Model, np.ndarray, np.ndarray]:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model, np.random.default_rng(0).random((8, 2)).astype(np.float32), np.arange(8) % 2


@pytest.mark.parametrize("decay", [-0.1, 1.0])
def test_weight_average_refuses_a_decay_outside_0_1(decay):
    with pytest.raises(ValueError, match="decay"):
        training.WeightAverage(decay)


def test_timed_fit_cuts_an_endless_dataset_into_epochs_and_runs_callbacks():
    model, x, y = _tiny_model()
    endless = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    finite = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    steps = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    history, seconds = training.timed_fit(
        model, endless, 3, finite, log_every=None, steps_per_epoch=5, callbacks=[counter]
    )
    assert len(steps) == 15 and len(history["val_accuracy"]) == 3 and seconds > 0


def test_epoch_table_prints_a_header_every_nth_epoch_the_last_and_where_early_stopping_ended():
    model, x, y = _tiny_model()
    lines: list[str] = []
    model.fit(x, y, epochs=7, verbose=0, callbacks=[training.EpochTable(3, print_fn=lines.append)])
    assert lines[0].split() == ["epoch", "loss", "accuracy", "seconds"]
    assert [int(line.split()[0]) for line in lines[1:]] == [3, 6, 7]
    lines.clear()
    stop = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 3))
    model.fit(x, y, epochs=9, verbose=0, callbacks=[stop, training.EpochTable(3, print_fn=lines.append)])
    assert [int(line.split()[0]) for line in lines[1:]] == [3, 4]


def test_modern_sgd_warms_up_over_a_tenth_then_decays_to_zero():
    optimizer = training.modern_sgd(100, 0.4)
    schedule = optimizer._learning_rate  # the schedule object (Keras' public attribute gives the current rate)
    got = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    np.testing.assert_allclose(got, [0.0, 0.2, 0.4, 0.2, 0.0], atol=1e-6)
    assert optimizer.nesterov and optimizer.momentum == 0.9 and optimizer.weight_decay == 5e-3


def test_label_smoothing_is_what_notebook_07_says():
    smoothing = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)
    targets = np.full(10, 0.02)
    targets[3] = 0.82
    one_hot = np.eye(10)[[3]]

    def loss(p):
        return float(smoothing(one_hot, np.asarray([p], "float32")))

    np.testing.assert_allclose(loss(targets), -(targets * np.log(targets)).sum(), rtol=1e-5)
    assert round(loss(targets), 2) == 0.87, "the smallest loss is the targets' entropy"
    confident = np.full(10, 0.001)
    confident[3] = 0.991
    assert loss(confident) > loss(targets), "more confident than the targets costs more"
    plain = keras.losses.CategoricalCrossentropy()
    assert float(plain(one_hot, np.asarray([confident], "float32"))) < -np.log(0.82), "unlike one-hot"


@pytest.mark.parametrize("every", [0, -1])
def test_epoch_table_refuses_an_interval_below_one(every):
    with pytest.raises(ValueError, match=f"every must be at least 1, got {every}"):
        training.EpochTable(every)
    training.EpochTable(1)  # one is fine


def test_epoch_table_shows_the_validation_columns_and_the_seconds_since_training_began(capsys):
    model, x, y = _tiny_model()
    before = time.perf_counter()
    history, seconds = training.timed_fit(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4), 3, (x, y))
    elapsed = time.perf_counter() - before
    lines = capsys.readouterr().out.splitlines()  # log_every=1 by default, and nothing but the table
    assert lines[0].split() == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]
    assert len(lines) == 4 and [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    last = lines[-1].split()
    assert float(last[3]) == pytest.approx(history["val_loss"][-1], abs=1e-4)
    assert lines[-1] == f"{3:5d} " + " ".join(f"{float(v):12.4f}" for v in last[1:5]) + f"  {float(last[5]):7.0f}"
    assert 0 <= float(last[5]) <= elapsed + 1 and 0 < seconds <= elapsed, "seconds since this fit began"


def test_a_run_stopped_right_after_an_unprinted_epoch_still_shows_where_it_stopped():
    model, x, y = _tiny_model()
    lines: list[str] = []
    stop = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch == 1))
    model.fit(x, y, epochs=9, verbose=0, callbacks=[stop, training.EpochTable(3, print_fn=lines.append)])
    assert [line.split()[0] for line in lines[1:]] == ["2"]


def test_modern_sgd_warms_up_over_whole_steps():
    schedule = training.modern_sgd(25, 0.4)._learning_rate  # a tenth of 25 steps: 2 whole steps of warm-up
    assert float(schedule(2)) == pytest.approx(0.4)


def _fit_at(times: list[float], fitted: list[list[int]]):
    """A stand-in for `fit` that records its batches' sizes and ends batch i at times[i]."""

    def fit(data, callbacks=(), **kw):
        fitted.append([int(x.shape[0]) for x, _ in data])
        for i, t in enumerate(times[: len(fitted[-1])]):
            clock.now = t
            for callback in callbacks:
                callback.on_train_batch_end(i, {})

    clock = SimpleNamespace(now=0.0)
    return fit, SimpleNamespace(perf_counter=lambda: clock.now)


def test_images_per_second_is_the_median_step_after_the_traced_one(monkeypatch):
    model, _, _ = _tiny_model()
    sizes = [1, 2, 4, 4, 4, 6]  # the first batch traces; the timed steps' speeds: 2/1, 4/2, 4/1, 4/8, 6/3
    batches = [(np.zeros((n, 2), "float32"), np.zeros(n, "int64")) for n in sizes]
    ds = tf.data.Dataset.from_generator(
        lambda: iter(batches),
        output_signature=(tf.TensorSpec((None, 2), tf.float32), tf.TensorSpec((None,), tf.int64)),
    )
    fitted: list[list[int]] = []
    model.fit, clock = _fit_at([100.0, 101.0, 103.0, 104.0, 112.0, 115.0], fitted)
    monkeypatch.setattr(training, "time", clock)
    assert training.images_per_second(model, ds, steps=5) == 2.0, "median of 2, 2, 4, 0.5 and 2 images/s"
    assert fitted == [sizes], "one fit over the traced batch and the 5 timed ones"


def test_images_per_second_repeats_a_short_dataset_and_times_ten_steps_by_default(monkeypatch):
    model, x, y = _tiny_model()
    fitted: list[list[int]] = []
    model.fit, clock = _fit_at([float(t) for t in range(20)], fitted)
    monkeypatch.setattr(training, "time", clock)
    assert training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4)) == 4.0
    assert fitted == [[4] * 11], "8 images in batches of 4, repeated: one traced step and 10 timed"


def test_images_per_second_times_whole_executions_of_several_steps(monkeypatch):
    model, x, y = _tiny_model()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), steps_per_execution=2)
    monkeypatch.setattr(training, "time", SimpleNamespace(perf_counter=itertools.count().__next__))
    speed = training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4), steps=3)
    assert speed == 8.0, "each timed execution: 2 batches of 4 images in one tick"


@pytest.mark.parametrize("steps", [0, -2])
def test_images_per_second_refuses_fewer_than_one_timed_step(steps):
    model, x, y = _tiny_model()
    with pytest.raises(ValueError, match=f"steps must be at least 1, got {steps}"):
        training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4), steps)


def test_images_per_second_says_when_the_dataset_is_empty():
    model, x, y = _tiny_model()
    with pytest.raises(ValueError, match="no batch"):
        training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4).take(0))


def test_images_per_second_trains_a_real_model():
    model, x, y = _tiny_model()
    before = model.get_weights()
    assert training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(4), steps=2) > 0
    assert any((a != b).any() for a, b in zip(before, model.get_weights())), "the timed steps train"


def test_the_defaults_are_a_row_every_epoch_and_decay_0999():
    assert training.EpochTable().every == 1 and training.WeightAverage().decay == 0.999
    assert training.WeightAverage(0.0).decay == 0.0, "decay 0: the average is the weights themselves"


def test_images_per_second_prints_nothing(capsys):
    model, x, y = _tiny_model()
    training.images_per_second(model, tf.data.Dataset.from_tensor_slices((x, y)).batch(2))
    assert capsys.readouterr().out == "", "no progress bar in a notebook's output"
