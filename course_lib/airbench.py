"""The training recipe of Jordan's airbench94 (`legacy/airbench94.py`) in Keras: schedule, optimizer, lookahead, data order.

The network itself is `models.airbench_net`. Airbench states its rate and weight decay per 1,024
examples of a summed loss (`lr` 11.5, `weight_decay` 0.0153); `sgd_settings` converts them to a
Keras rate and decay for the mean loss over a batch.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import augment

LOOKAHEAD_EVERY = 5  # steps between two lookahead updates
LOOKAHEAD_FINAL = 0.95**5  # the lookahead decay reached at the last step
FLIPS = ("alternating", "random", "none")


def sgd_settings(lr: float, weight_decay: float, momentum: float, batch_size: int) -> tuple[float, float]:
    """Airbench's `lr` and `weight_decay` (per 1,024 examples) as (rate, coupled decay) for a mean loss.

    Airbench divides its rate by 1,024 * (1 + 1/(1 - momentum)), the step size Nesterov momentum
    builds up from a constant gradient, so that the rate means the same for any momentum.
    """
    summed_rate = lr / (1024 * (1 + 1 / (1 - momentum)))
    return summed_rate * batch_size, weight_decay / lr


class WarmupLinear(keras.optimizers.schedules.LearningRateSchedule):
    """Airbench's schedule: linear from `start`*peak to peak over the first `warmup` of the steps, then linear to `end`*peak."""

    def __init__(self, peak: float, total_steps: int, warmup: float = 0.23, start: float = 0.2, end: float = 0.07):
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        self.peak, self.total_steps, self.warmup, self.start, self.end = peak, total_steps, warmup, start, end

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = float(max(int(self.warmup * self.total_steps), 1))
        rising = self.start + (1 - self.start) * step / warm
        falling = 1 + (self.end - 1) * (step - warm) / max(self.total_steps - warm, 1.0)
        return self.peak * tf.where(step < warm, rising, falling)

    def get_config(self) -> dict:
        return {k: getattr(self, k) for k in ("peak", "total_steps", "warmup", "start", "end")}


class AirbenchSGD(keras.optimizers.Optimizer):
    """Nesterov SGD computed as PyTorch's `torch.optim.SGD` does, with airbench's per-variable settings.

    The momentum buffer holds gradients, not steps: buf = momentum * buf + g, and the step is
    rate * (g + momentum * buf), where g = gradient + decay * weight (weight decay coupled: it goes
    through the momentum, as in airbench). Variables whose path is in `fast` (airbench: the BN
    biases) take `bias_scaler` times the gradient (their rate times `bias_scaler`, their decay
    unchanged). Variables in `gated` (the whitening bias) are updated only while `gate` is 1:
    set it to 0 and they stay exactly where they are (airbench stops their gradient).
    """

    def __init__(self, learning_rate, momentum: float = 0.85, decay: float = 0.0, fast: tuple[str, ...] = (),
                 bias_scaler: float = 64.0, gated: tuple[str, ...] = (), name: str = "airbench_sgd", **kwargs):  # fmt: skip
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum, self.decay, self.bias_scaler = momentum, decay, bias_scaler
        self.fast, self.gated = tuple(fast), tuple(gated)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.buffers = [self.add_variable_from_reference(v, "momentum") for v in variables]
        self.gate = self.add_variable((), initializer="ones", name="gate")
        self._scales = [self.bias_scaler if v.path in self.fast else 1.0 for v in variables]
        self._gated = [v.path in self.gated for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        rate = tf.cast(learning_rate, variable.dtype)
        index = self._get_variable_index(variable)
        buffer = self.buffers[index]
        g = gradient * self._scales[index] + self.decay * variable
        new_buffer = self.momentum * buffer + g
        step = g + self.momentum * new_buffer
        if self._gated[index]:
            step = tf.cast(self.gate, variable.dtype) * step
        self.assign(buffer, new_buffer)
        self.assign_sub(variable, rate * step)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(momentum=self.momentum, decay=self.decay, fast=self.fast, bias_scaler=self.bias_scaler,
                      gated=self.gated)  # fmt: skip
        return config


def optimizer_for(model: keras.Model, learning_rate, momentum: float, decay: float, bias_scaler: float = 64.0,
                  **options) -> AirbenchSGD:  # fmt: skip
    """An `AirbenchSGD` for `models.airbench_net`: BN biases fast, the "whiten_bias" layer's bias gated.

    `options` go to Keras' optimizer (`use_ema=True`, say).
    """
    fast = tuple(layer.beta.path for layer in model.layers
                 if isinstance(layer, keras.layers.BatchNormalization) and layer.center)  # fmt: skip
    gated = tuple(w.path for layer in model.layers if layer.name == "whiten_bias" for w in layer.weights)
    return AirbenchSGD(learning_rate, momentum, decay, fast, bias_scaler, gated, **options)


def lookahead_decay(step: int | np.ndarray, total_steps: int) -> float | np.ndarray:
    """Airbench's lookahead decay after `step` of `total_steps`: 0.95**5 * (step / total_steps) ** 3."""
    return LOOKAHEAD_FINAL * (np.asarray(step, dtype=np.float64) / total_steps) ** 3


class Lookahead(keras.callbacks.Callback):
    """Airbench's lookahead: every 5 steps the weights are pulled back to a slow copy that follows them.

    A copy of all the model's weights (BN's moving statistics included, as airbench copies its
    whole `state_dict`) is kept. After every 5th step the copy moves toward the weights,
    copy += (1 - decay) * (weights - copy) with decay from `lookahead_decay`, and the weights are
    reset to the copy. Near 0 early, the decay lets the copy simply follow the weights; late in
    training it reaches 0.77 and smooths them. After the last step the weights become the copy.
    """

    def __init__(self, total_steps: int):
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        self.total_steps = total_steps

    def on_train_begin(self, logs=None):
        self.copy = [tf.Variable(w.value, trainable=False) for w in self.model.weights]
        self.step = 0
        self._pull = tf.function(self._pulled)

    def _pulled(self, decay: tf.Tensor) -> None:
        for copy, weight in zip(self.copy, self.model.weights):
            copy.assign(copy + (1.0 - decay) * (weight.value - copy))
            weight.assign(copy)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % LOOKAHEAD_EVERY == 0:
            self._pull(tf.constant(lookahead_decay(self.step, self.total_steps), tf.float32))
        if self.step == self.total_steps:
            self._pull(tf.constant(1.0))


class FreezeGateAfter(keras.callbacks.Callback):
    """Closes an `AirbenchSGD`'s gate at the start of epoch `epochs` (airbench: the whitening bias trains 3 epochs)."""

    def __init__(self, optimizer: AirbenchSGD, epochs: int):
        super().__init__()
        self.optimizer, self.epochs = optimizer, epochs

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epochs:
            if not self.optimizer.built:  # closed before the first step (`epochs` 0): the gate is made on build
                self.optimizer.build(self.model.trainable_variables)
            self.optimizer.gate.assign(0.0)


def flip_schedule(count: int, epochs: int, seed: int) -> np.ndarray:
    """Which images are mirrored in which epoch under airbench's alternating flip: (epochs, count) booleans.

    Each image is mirrored at random once, before training; in every odd epoch (1, 3, ...) all
    images are mirrored again. So each image is seen mirrored in exactly every other epoch.
    """
    first = np.random.default_rng(seed).random(count) < 0.5
    return np.array([first ^ (epoch % 2 == 1) for epoch in range(epochs)])


def training_batches(images: np.ndarray, labels: np.ndarray, batch_size: int, epochs: int, seed: int,
                     translate: int = 2, flip: str = "alternating", num_classes: int = 10) -> tf.data.Dataset:  # fmt: skip
    """`epochs` epochs of airbench's training batches: shuffled, full batches only, translated, flipped.

    Images (uint8) become float32 in [0, 1], labels one-hot. Each epoch is a new shuffle cut into
    `len(images) // batch_size` batches (the rest is dropped, as airbench does); each image is
    moved by up to `translate` pixels (reflect-padded) and mirrored by `flip_schedule` ("alternating"),
    at random in every epoch ("random") or never ("none"). Pass `steps_per_epoch` to `fit`.
    """
    if flip not in FLIPS:
        raise ValueError(f"flip must be one of {FLIPS}, got {flip!r}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: they must match one to one")
    steps = len(images) // batch_size
    if steps < 1:
        raise ValueError(f"{len(images)} images make no full batch of {batch_size}: use a smaller batch_size")
    first = flip_schedule(len(images), 1, seed)[0] if flip == "alternating" else np.zeros(len(images), bool)
    mirrored = np.where(first[:, None, None, None], images[:, :, ::-1], images)
    ds = tf.data.Dataset.from_tensor_slices((mirrored, labels.astype(np.int32)))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)

    def prepare(step: tf.Tensor, batch: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        x = augment.random_crop(tf.cast(batch[0], tf.float32) / 255.0, images.shape[1], pad=translate)
        if flip == "alternating":
            x = tf.cond((step // steps) % 2 == 1, lambda: tf.reverse(x, axis=[2]), lambda: x)
        elif flip == "random":
            x = augment.random_flip(x)
        return x, tf.one_hot(batch[1], num_classes)

    return ds.repeat(epochs).enumerate().map(prepare).prefetch(tf.data.AUTOTUNE)


def tta_logits(model: keras.Model, images: np.ndarray, level: int = 2, batch_size: int = 500) -> np.ndarray:
    """Airbench's test-time augmentation: logits averaged over views of uint8 `images`.

    Level 0: one view. Level 1: the mean with the mirror image. Level 2: half level 1, plus a
    quarter each of level 1 on the image moved one pixel up-left and one down-right (reflect-padded).
    """
    if level not in (0, 1, 2):
        raise ValueError(f"level must be 0, 1 or 2, got {level}")
    x = tf.constant(images, tf.float32) / 255.0

    def logits(view: tf.Tensor) -> np.ndarray:
        return model.predict(view, batch_size=batch_size, verbose=0)

    def mirrored(view: tf.Tensor) -> np.ndarray:
        return 0.5 * (logits(view) + logits(tf.reverse(view, axis=[2])))

    if level == 0:
        return logits(x)
    if level == 1:
        return mirrored(x)
    moved = [mirrored(augment.translate(x, d, d)) for d in (-1, 1)]
    return 0.5 * mirrored(x) + 0.25 * (moved[0] + moved[1])
