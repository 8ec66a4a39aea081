"""Scoring a trained model: predictions with test-time augmentation, accuracy, confusion matrix, worst mistakes."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf


def predict_probabilities(
    model: keras.Model, views: tf.data.Dataset | Sequence[tf.data.Dataset], flip: bool = False
) -> np.ndarray:
    """Softmax of the model's logits, averaged over views of the same examples (test-time augmentation).

    `views` is one dataset, or several that yield the same examples in the same order (crops,
    say); with `flip`, the mirror image of every view is added. One view without flip is a
    plain prediction.
    """
    views = [views] if isinstance(views, tf.data.Dataset) else list(views)
    if flip:
        views += [v.map(_mirror) for v in views]
    return np.mean([tf.nn.softmax(model.predict(v, verbose=0)).numpy() for v in views], axis=0)


def _mirror(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return tf.reverse(images, axis=[2]), labels


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable class is the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels).ravel()))


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts `[true, predicted]`."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` wrong predictions made with the highest probability, most confident first."""
    labels = np.asarray(labels).ravel()
    predicted = np.argmax(probabilities, axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]
