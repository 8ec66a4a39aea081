"""`course_lib.lrn`: the LRN reference against TensorFlow; the layer saves and reloads its parameters."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import lrn, models


@pytest.mark.parametrize("params", [lrn.TUTORIAL_PARAMS, lrn.COOKBOOK_PARAMS, lrn.ALEXNET_PARAMS])
def test_lrn_reference_matches_tensorflow(params):
    x = np.random.default_rng(0).normal(0, 5, size=(2, 3, 3, 11)).astype(np.float32)
    np.testing.assert_allclose(lrn.lrn_reference(x, **params), tf.nn.lrn(x, **params).numpy(), rtol=1e-5, atol=1e-6)


def test_lrn_model_saves_and_reloads_with_identical_predictions(tmp_path):
    import keras

    model = models.cifar10_lrn_cnn()
    x = np.random.default_rng(1).normal(size=(4, 24, 24, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))
    assert reloaded.get_layer("norm2").get_config()["alpha"] == pytest.approx(0.001 / 9)


def test_lrn_layer_with_a_non_default_parameter_set_reloads_that_set(tmp_path):
    import keras

    params = {"depth_radius": 3, "bias": 2.5, "alpha": 3e-3, "beta": 0.6}  # no parameter at its default
    model = keras.Sequential([keras.Input((3, 3, 8)), lrn.LocalResponseNormalization(**params, name="lrn")])
    x = np.random.default_rng(2).normal(0, 4, size=(2, 3, 3, 8)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    config = reloaded.get_layer("lrn").get_config()
    assert {k: config[k] for k in params} == pytest.approx(params)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), lrn.lrn_reference(x, **params), rtol=1e-5, atol=1e-6)
