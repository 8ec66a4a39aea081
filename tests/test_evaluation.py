"""`course_lib.evaluation`: accuracy, confident mistakes, probabilities averaged over views, the confusion matrix."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from course_lib import evaluation


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


def test_views_are_averaged_in_probability_space():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    x = np.random.default_rng(1).random((4, 2)).astype(np.float32)
    views = [tf.data.Dataset.from_tensor_slices((v, np.zeros(4))).batch(3) for v in (x, 2 * x)]
    softmax = [tf.nn.softmax(model.predict(v, verbose=0)).numpy() for v in (x, 2 * x)]
    np.testing.assert_allclose(evaluation.predict_probabilities(model, views), (softmax[0] + softmax[1]) / 2, atol=1e-6)


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    matrix = evaluation.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
