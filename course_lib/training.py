"""Training helpers: a timed fit, and training for a wall-time budget (scoring is in `course_lib.evaluation`)."""

from __future__ import annotations

import math
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
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.params.get("epochs"):
            self._row(epoch, logs)

    def on_train_end(self, logs=None):
        if self._keys is not None and self._last_printed != self._last_epoch:  # stopped early: show where
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


class TimeBudget(keras.callbacks.Callback):
    """Train for a fixed wall time instead of a fixed number of epochs, annealing the rate over that time.

    Before each step the learning rate is set from the share `p` of the budget used so far: a linear
    warm-up to `peak_lr` over the first `warmup` share, then a cosine decay to zero at `p = 1`, where
    training stops (mid-epoch if need be; pass a generous `epochs` to `fit`). With `peak_lr=None` the
    optimizer's own rate is left alone and the budget only stops training. Time spent evaluating
    the validation data is not counted. On a shared CPU whose speed varies from minute to minute,
    this keeps both the budget and a schedule that really ends at zero. `seconds` and `steps` say
    what was used; `rates` holds the rate set before each step.

    With `max_steps`, the budget is that many steps instead of `seconds`: the same schedule over
    steps, so the run no longer depends on the machine's speed (the tiny test runs use it).
    """

    def __init__(
        self,
        seconds: float,
        peak_lr: float | None,
        warmup: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
        max_steps: int | None = None,
    ):
        super().__init__()
        if seconds <= 0 or not 0 <= warmup < 1 or (max_steps is not None and max_steps < 1):
            raise ValueError(
                f"need seconds > 0, 0 <= warmup < 1 and max_steps >= 1 if given; "
                f"got seconds={seconds}, warmup={warmup}, max_steps={max_steps}"
            )
        self.budget, self.peak_lr, self.warmup, self.clock = seconds, peak_lr, warmup, clock
        self.max_steps = max_steps
        self.seconds, self.steps, self.rates = 0.0, 0, []

    def rate(self, progress: float) -> float:
        """Learning rate after `progress` (0 to 1) of the budget."""
        if progress < self.warmup:
            return self.peak_lr * progress / self.warmup
        decay = min(1.0, (progress - self.warmup) / (1 - self.warmup))
        return self.peak_lr * 0.5 * (1 + math.cos(math.pi * decay))

    def on_train_begin(self, logs=None):
        self.seconds, self.steps, self.rates, self._paused = 0.0, 0, [], 0.0
        self._start = self.clock()

    def on_train_batch_begin(self, batch, logs=None):
        if self.peak_lr is not None:
            self.rates.append(self.rate(self._progress()))
            self.model.optimizer.learning_rate.assign(self.rates[-1])

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self.seconds = self._used()
        if self._progress() >= 1:
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        self._test_start = self.clock()

    def on_test_end(self, logs=None):
        self._paused += self.clock() - self._test_start

    def _progress(self) -> float:
        return self.steps / self.max_steps if self.max_steps else self._used() / self.budget

    def _used(self) -> float:
        return self.clock() - self._start - self._paused
