"""`course_lib.airbench`: airbench94's training recipe, each piece against airbench's own formula.

The references below transcribe `legacy/airbench94.py` (KellerJordan/cifar10-airbench) and the
update rule of PyTorch's `torch.optim.SGD` (nesterov=True) in NumPy.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import airbench, models


def airbench_get_lr(step: int, total_steps: int) -> float:
    """airbench94.py's `get_lr`, verbatim but for names."""
    warmup_steps = int(total_steps * 0.23)
    warmdown_steps = total_steps - warmup_steps
    if step < warmup_steps:
        frac = step / warmup_steps
        return 0.2 * (1 - frac) + 1.0 * frac
    frac = (step - warmup_steps) / warmdown_steps
    return 1.0 * (1 - frac) + 0.07 * frac


def torch_sgd(w: np.ndarray, gradients: list[np.ndarray], rate: float, decay: float, momentum: float,
              active: list[bool] | None = None) -> np.ndarray:  # fmt: skip
    """torch.optim.SGD(nesterov=True, weight_decay=decay); a step whose parameter has no gradient is skipped."""
    buffer = None
    for i, gradient in enumerate(gradients):
        if active is not None and not active[i]:
            continue
        g = gradient + decay * w
        buffer = g.copy() if buffer is None else momentum * buffer + g
        w = w - rate * (g + momentum * buffer)
    return w


# ---------------------------------------------------------------- rate, decay, schedule


def test_sgd_settings_convert_airbench_units_to_a_mean_loss():
    rate, decay = airbench.sgd_settings(11.5, 0.0153, 0.85, 1024)
    assert rate == pytest.approx(11.5 / (1 + 1 / 0.15))  # 1.5: airbench's lr for the summed loss, times 1,024
    assert decay == pytest.approx(0.0153 / 11.5)
    half, same_decay = airbench.sgd_settings(11.5, 0.0153, 0.85, 512)
    assert (half, same_decay) == (pytest.approx(rate / 2), pytest.approx(decay))
    # per step the decay shrinks a weight by rate * decay: airbench's wd of 0.0153 * 1024 / kilostep_scale
    assert rate * decay == pytest.approx(0.0153 * 1024 / (1024 * (1 + 1 / 0.15)))


@pytest.mark.parametrize("total_steps", [476, 430, 86, 7])
def test_warmup_linear_is_airbench_get_lr_at_every_step(total_steps):
    schedule = airbench.WarmupLinear(2.0, total_steps)
    got = schedule(tf.range(total_steps)).numpy()
    expected = [2.0 * airbench_get_lr(s, total_steps) for s in range(total_steps)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_warmup_linear_refuses_an_empty_run():
    with pytest.raises(ValueError, match="total_steps"):
        airbench.WarmupLinear(1.0, 0)


# ---------------------------------------------------------------- the optimizer


def _variables():
    rng = np.random.default_rng(0)
    return keras.Variable(rng.normal(size=3).astype("float32"), name="w"), keras.Variable(
        rng.normal(size=2).astype("float32"), name="b"
    )


def test_airbench_sgd_is_torch_nesterov_sgd_with_coupled_decay():
    w, b = _variables()
    w0, b0 = w.numpy(), b.numpy()
    rng = np.random.default_rng(1)
    grads = [(rng.normal(size=3).astype("float32"), rng.normal(size=2).astype("float32")) for _ in range(6)]
    optimizer = airbench.AirbenchSGD(0.1, momentum=0.85, decay=0.3)
    for gw, gb in grads:
        optimizer.apply_gradients([(tf.constant(gw), w), (tf.constant(gb), b)])
    np.testing.assert_allclose(w.numpy(), torch_sgd(w0, [g[0] for g in grads], 0.1, 0.3, 0.85), rtol=1e-5)
    np.testing.assert_allclose(b.numpy(), torch_sgd(b0, [g[1] for g in grads], 0.1, 0.3, 0.85), rtol=1e-5)


def test_fast_variables_take_bias_scaler_times_the_rate_and_the_same_decay():
    w, b = _variables()
    b0 = b.numpy()
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=2).astype("float32") for _ in range(5)]
    optimizer = airbench.AirbenchSGD(0.01, momentum=0.85, decay=0.3, fast=(b.path,), bias_scaler=64.0)
    for g in grads:
        optimizer.apply_gradients([(tf.zeros(3), w), (tf.constant(g), b)])
    # airbench: lr_biases = 64 * lr with weight_decay = wd / lr_biases, i.e. the decay per step unchanged
    expected = torch_sgd(b0, grads, 0.01 * 64, 0.3 / 64, 0.85)
    np.testing.assert_allclose(b.numpy(), expected, rtol=1e-5)


def test_a_closed_gate_freezes_its_variables_exactly_and_leaves_the_others_alone():
    w, b = _variables()
    w0, b0 = w.numpy(), b.numpy()
    rng = np.random.default_rng(3)
    grads = [(rng.normal(size=3).astype("float32"), rng.normal(size=2).astype("float32")) for _ in range(6)]
    optimizer = airbench.AirbenchSGD(0.1, momentum=0.85, decay=0.3, gated=(w.path,))
    optimizer.build([w, b])
    for i, (gw, gb) in enumerate(grads):
        if i == 3:
            optimizer.gate.assign(0.0)
            frozen = w.numpy()
        optimizer.apply_gradients([(tf.constant(gw), w), (tf.constant(gb), b)])
    np.testing.assert_array_equal(w.numpy(), frozen)  # no momentum left over, no decay
    active = [True] * 3 + [False] * 3
    np.testing.assert_allclose(w.numpy(), torch_sgd(w0, [g[0] for g in grads], 0.1, 0.3, 0.85, active), rtol=1e-5)
    np.testing.assert_allclose(b.numpy(), torch_sgd(b0, [g[1] for g in grads], 0.1, 0.3, 0.85), rtol=1e-5)


def _tiny_net():
    rng = np.random.default_rng(0)
    whitening = models.whitening_kernel(rng.random((20, 16, 16, 3)).astype(np.float32))
    return models.airbench_net(whitening, widths=(4, 8, 8))


def test_optimizer_for_speeds_up_every_bn_bias_and_gates_the_whitening_bias():
    model = _tiny_net()
    optimizer = airbench.optimizer_for(model, 0.1, 0.85, 0.001)
    betas = {layer.beta.path for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert set(optimizer.fast) == betas and len(betas) == 6
    assert optimizer.gated == ("whiten_bias/bias",)
    assert optimizer.bias_scaler == 64.0 and optimizer.momentum == 0.85


def test_freeze_gate_after_closes_the_gate_at_the_given_epoch_in_a_real_fit():
    model = _tiny_net()
    images = np.random.default_rng(4).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(64) % 10
    optimizer = airbench.optimizer_for(model, 0.5, 0.85, 0.001)
    model.compile(optimizer, keras.losses.CategoricalCrossentropy(from_logits=True))
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(model.get_layer("whiten_bias").bias.numpy().copy())

    ds = airbench.training_batches(images, labels, 16, 3, seed=0)
    model.fit(
        ds,
        epochs=3,
        steps_per_epoch=4,
        callbacks=[airbench.FreezeGateAfter(optimizer, 1), Spy()],
        shuffle=False,
        verbose=0,
    )
    assert np.abs(seen[0]).max() > 0, "trained during the first epoch"
    np.testing.assert_array_equal(seen[1], seen[0])
    np.testing.assert_array_equal(seen[2], seen[0])


def test_a_gate_closed_from_the_start_never_opens():
    model = _tiny_net()
    images = np.random.default_rng(4).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    optimizer = airbench.optimizer_for(model, 0.5, 0.85, 0.001)
    model.compile(optimizer, keras.losses.CategoricalCrossentropy(from_logits=True))
    ds = airbench.training_batches(images, np.arange(32) % 10, 16, 1, seed=0)
    model.fit(
        ds, epochs=1, steps_per_epoch=2, callbacks=[airbench.FreezeGateAfter(optimizer, 0)], shuffle=False, verbose=0
    )
    assert not model.get_layer("whiten_bias").bias.numpy().any(), "a bias gated from step 0 stays at its start, 0"


# ---------------------------------------------------------------- lookahead


def test_lookahead_decay_grows_as_the_cube_of_progress_to_095_to_the_5th():
    assert airbench.lookahead_decay(0, 476) == 0.0
    assert airbench.lookahead_decay(476, 476) == pytest.approx(0.95**5)
    steps = np.arange(5, 477, 5)
    np.testing.assert_allclose(airbench.lookahead_decay(steps, 476), 0.95**5 * (steps / 476) ** 3)


def test_lookahead_pulls_every_fifth_step_with_airbench_decay_and_ends_on_the_copy():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    total = 12
    lookahead = airbench.Lookahead(total)
    lookahead.set_model(model)
    lookahead.on_train_begin()
    kernel = model.weights[0]
    copy = kernel.numpy().copy()
    rng = np.random.default_rng(5)
    for step in range(1, total + 1):
        moved = (kernel.numpy() + rng.normal(size=kernel.shape)).astype("float32")  # a "training step"
        kernel.assign(moved)
        lookahead.on_train_batch_end(step - 1)
        if step % 5 == 0:
            decay = 0.95**5 * (step / total) ** 3
            copy = copy + (1 - decay) * (moved - copy)
            np.testing.assert_allclose(kernel.numpy(), copy, rtol=1e-5, err_msg=f"step {step}")
        elif step == total:
            np.testing.assert_allclose(kernel.numpy(), copy, rtol=1e-5, err_msg="the last step ends on the copy")
        else:
            np.testing.assert_array_equal(kernel.numpy(), moved)


def test_lookahead_also_averages_the_bn_moving_statistics():
    model = _tiny_net()
    lookahead = airbench.Lookahead(10)
    lookahead.set_model(model)
    lookahead.on_train_begin()
    variance = model.get_layer("block1a_bn").moving_variance
    assert any(w is variance for w in model.weights) and len(lookahead.copy) == len(model.weights)


# ---------------------------------------------------------------- data order and test-time views


def test_flip_schedule_mirrors_every_image_in_every_other_epoch():
    flips = airbench.flip_schedule(1000, 6, seed=0)
    assert flips.shape == (6, 1000)
    assert 0.4 < flips[0].mean() < 0.6, "a random half first"
    np.testing.assert_array_equal(flips[1::2], ~flips[0::2])
    np.testing.assert_array_equal(flips[2], flips[0])


def _numbered_images(n):
    """Image i is 200 everywhere but its left column, which holds i: its number and its mirroring can be read back."""
    images = np.full((n, 8, 8, 3), 200, np.uint8)
    images[:, :, 0, :] = np.arange(n, dtype=np.uint8)[:, None, None]
    return images


def _read(batch):
    x = np.rint(batch * 255).astype(int)[:, 0, :, 0]
    mirrored = x[:, 0] == 200
    return np.where(mirrored, x[:, -1], x[:, 0]), mirrored


def test_training_batches_follow_the_flip_schedule_shuffle_and_drop_the_rest():
    n, batch, epochs = 40, 16, 4
    images, labels = _numbered_images(n), np.arange(n) % 10
    batches = list(airbench.training_batches(images, labels, batch, epochs, seed=3, translate=0))
    assert len(batches) == epochs * (n // batch), "only full batches, 2 per epoch"
    schedule = airbench.flip_schedule(n, epochs, seed=3)
    orders = []
    for epoch in range(epochs):
        x = np.concatenate([b[0].numpy() for b in batches[2 * epoch : 2 * epoch + 2]])
        y = np.concatenate([b[1].numpy() for b in batches[2 * epoch : 2 * epoch + 2]])
        number, mirrored = _read(x)
        assert len(set(number)) == 32, "each image at most once per epoch"
        np.testing.assert_array_equal(mirrored, schedule[epoch, number], err_msg=f"epoch {epoch}")
        np.testing.assert_array_equal(y.argmax(axis=1), number % 10)
        orders.append(tuple(number))
    assert len(set(orders)) == epochs, "a new shuffle every epoch"


@pytest.mark.parametrize("flip", ["random", "none"])
def test_training_batches_other_flips(flip):
    images, labels = _numbered_images(64), np.arange(64) % 10
    x = np.concatenate([b[0].numpy() for b in airbench.training_batches(images, labels, 32, 2, 0, 0, flip)])
    mirrored = _read(x)[1]
    assert (0.25 < mirrored.mean() < 0.75) if flip == "random" else not mirrored.any()


def test_training_batches_translate_by_at_most_the_given_pixels():
    images = np.zeros((32, 16, 16, 3), np.uint8)
    images[:, 8, 8] = 255  # one bright pixel in the middle
    batches = airbench.training_batches(images, np.zeros(32, int), 32, 1, 0, translate=2, flip="none")
    x = next(iter(batches))[0].numpy()
    rows, cols = np.nonzero(x[..., 0] > 0.5)[1:]
    assert len(rows) == 32 and set(rows) <= set(range(6, 11)) and set(cols) <= set(range(6, 11))
    assert len(set(zip(rows, cols))) > 5, "random shifts"


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"flip": "sometimes"}, "flip must be"), ({"batch_size": 99}, "no full batch")]
)
def test_training_batches_refuse_bad_settings(kwargs, match):
    settings = {"batch_size": 8, "epochs": 1, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=match):
        airbench.training_batches(_numbered_images(10), np.zeros(10, int), **settings)


def test_tta_logits_weight_the_views_as_airbench_does():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                              keras.layers.Dense(10)])  # fmt: skip
    images = np.random.default_rng(6).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    x = images / np.float32(255)

    def logits(v):
        return model.predict(v.astype(np.float32), verbose=0)

    def mirror(v):
        return 0.5 * logits(v) + 0.5 * logits(v[:, :, ::-1])

    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    level2 = 0.5 * mirror(x) + 0.5 * (mirror(padded[:, 0:8, 0:8]) + mirror(padded[:, 2:10, 2:10])) / 2
    for level, expected in [(0, logits(x)), (1, mirror(x)), (2, level2)]:
        np.testing.assert_allclose(airbench.tta_logits(model, images, level), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="level"):
        airbench.tta_logits(model, images, 3)
