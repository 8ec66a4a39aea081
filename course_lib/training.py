"""Training helpers: a compact epoch log and a timed fit (scoring is in `course_lib.evaluation`)."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

import keras
import tensorflow as tf


class EpochTable(keras.callbacks.Callback):
    """A compact training log: a header, then one row every `every` epochs (and after the last one).

    Use it with `fit(..., verbose=0)` instead of Keras' progress bars, which fill a saved notebook
    with a line per epoch and terminal control codes. Rows show the metrics Keras logs (loss,
    accuracy, and the validation ones) and the seconds since training began.
    """

    def __init__(self, every: int = 1, print_fn: Callable[[str], None] = print):
        super().__init__()
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.every, self.print_fn = every, print_fn

    def on_train_begin(self, logs=None):
        self._start, self._keys, self._last_printed = time.perf_counter(), None, -1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs]
            self.print_fn("epoch " + " ".join(f"{k:>12}" for k in self._keys) + "  seconds")
        self._last_logs, self._last_epoch = logs, epoch
        if (epoch + 1) % self.every == 0:
            self._row(epoch, logs)

    def on_train_end(self, logs=None):
        if self._keys is not None and self._last_printed != self._last_epoch:  # the last epoch, or where it stopped
            self._row(self._last_epoch, self._last_logs)

    def _row(self, epoch: int, logs: dict) -> None:
        seconds = time.perf_counter() - self._start
        self.print_fn(f"{epoch + 1:5d} " + " ".join(f"{logs[k]:12.4f}" for k in self._keys) + f"  {seconds:7.0f}")
        self._last_printed = epoch


def timed_fit(
    model: keras.Model,
    dataset: tf.data.Dataset,
    epochs: int,
    validation: tf.data.Dataset | None = None,
    log_every: int | None = 1,
    steps_per_epoch: int | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> tuple[dict[str, list[float]], float]:
    """`model.fit` for `epochs`, logged by an `EpochTable`; returns the history and the wall time in seconds.

    `log_every` sets the table's row interval (None: no log). `steps_per_epoch` cuts an endless
    dataset into "epochs" of that many steps. The time includes the per-epoch evaluation on
    `validation`, if given.
    """
    table = [] if log_every is None else [EpochTable(log_every)]
    start = time.perf_counter()
    history = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation,
        callbacks=[*(callbacks or []), *table],
        shuffle=False,
        verbose=0,
    )
    return history.history, time.perf_counter() - start


class WeightAverage(keras.callbacks.Callback):
    """An exponential moving average of the trainable weights, kept beside them during `fit`.

    After each step t (from 1) the average moves toward the weights with decay
    `min(decay, (1 + t) / (10 + t))`: TF1's `tf.train.ExponentialMovingAverage(decay, num_updates)`.
    The warm-up keeps the first steps' weights from dominating: with a constant decay d, the
    average still holds d**t of the initial weights after t steps (13.5% at 0.999 and 2,000 steps).
    `swap()` exchanges the averaged and the current weights; calling it again swaps them back.
    """

    def __init__(self, decay: float = 0.999):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay = decay

    def on_train_begin(self, logs=None):
        self.average = [tf.Variable(v.value, trainable=False) for v in self.model.trainable_variables]
        self.steps = tf.Variable(0.0, trainable=False)
        self._update = tf.function(self._moved)

    def _moved(self) -> None:
        self.steps.assign_add(1.0)
        decay = tf.minimum(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        for average, weight in zip(self.average, self.model.trainable_variables):
            average.assign(decay * average + (1.0 - decay) * weight.value)

    def on_train_batch_end(self, batch, logs=None):
        self._update()

    def swap(self) -> None:
        """Put the averaged weights into the model, and the model's weights into the average."""
        for average, weight in zip(self.average, self.model.trainable_variables):
            current = tf.identity(weight.value)
            weight.assign(average)
            average.assign(current)


def modern_sgd(total_steps: int, peak_lr: float) -> keras.optimizers.SGD:
    """Notebook 07's modern optimizer: Nesterov SGD (momentum 0.9, decoupled weight decay 5e-3).

    The rate rises linearly from 0 to `peak_lr` over the first tenth of `total_steps`, then
    follows a cosine down to 0 at the last step.
    """
    warm = total_steps // 10
    rate = keras.optimizers.schedules.CosineDecay(0.0, total_steps - warm, warmup_target=peak_lr, warmup_steps=warm)
    return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=5e-3)


def images_per_second(model: keras.Model, dataset: tf.data.Dataset, steps: int = 10) -> float:
    """Training speed of a compiled `model` on `dataset` of (images, labels) batches: the median over `steps` timed steps.

    One step (with `steps_per_execution`, one execution) traces first; each timed one's speed is
    its images over the time since the one before. The median is the typical step's speed, unmoved
    by one step something else slowed; per-epoch costs (a shuffle refilled, validation) are not in
    it. A dataset shorter than needed is repeated. The weights change: use a model built for this.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    batches = dataset.repeat().take((steps + 1) * model.steps_per_execution)
    sizes = [int(tf.shape(x)[0]) for x, _ in batches]
    if not sizes:
        raise ValueError("the dataset has no batch to time")
    ends: list[tuple[int, float]] = []  # (last batch of a step, when it ended)
    clock = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: ends.append((batch, time.perf_counter()))
    )
    model.fit(batches, shuffle=False, verbose=0, callbacks=[clock])
    return statistics.median(sum(sizes[a + 1 : b + 1]) / (t - s) for (a, s), (b, t) in itertools.pairwise(ends))
