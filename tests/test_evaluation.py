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


def test_accuracy_counts_the_right_rows_not_the_wrong_ones():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert evaluation.accuracy(probabilities, np.array([[0], [1], [0], [0]])) == 0.75  # labels as a column, too


def test_confident_mistakes_keep_the_order_of_the_examples_among_equal_confidences():
    confidence = np.random.default_rng(0).choice([0.7, 0.8, 0.9], size=500)  # many ties
    probabilities = np.stack([confidence, 1 - confidence], axis=1)  # all wrong: the label is 1
    got = evaluation.confident_mistakes(probabilities, np.ones(500), 500)
    assert got.tolist() == sorted(range(500), key=lambda i: -confidence[i]), "ties in the examples' order"


def test_confusion_matrix_holds_integer_counts():
    assert evaluation.confusion_matrix([1], [0], 2).dtype == np.int64


def test_predict_probabilities_prints_nothing(capfd):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    ds = tf.data.Dataset.from_tensor_slices((np.ones((4, 2), np.float32), np.zeros(4))).batch(2)
    evaluation.predict_probabilities(model, ds)
    assert capfd.readouterr().out == "", "no progress bar in a notebook's output"
