"""Training and evaluation helpers: timed fits, test-time augmentation, mistakes worth a look."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf


def timed_fit(
    model: keras.Model,
    dataset: tf.data.Dataset,
    epochs: int,
    validation: tf.data.Dataset | None = None,
    verbose: int = 2,
) -> tuple[dict[str, list[float]], float]:
    """`model.fit` for `epochs`, one progress line per epoch; returns the history and the wall time in seconds.

    The time includes the per-epoch evaluation on `validation`, if given.
    """
    start = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, validation_data=validation, shuffle=False, verbose=verbose)
    return history.history, time.perf_counter() - start


def predict_probabilities(model: keras.Model, dataset: tf.data.Dataset, flip: bool = False) -> np.ndarray:
    """Softmax of the model's logits over `dataset`; with `flip`, averaged with those of the mirror images."""
    probabilities = tf.nn.softmax(model.predict(dataset, verbose=0)).numpy()
    if flip:
        mirrored = dataset.map(lambda x, y: (tf.reverse(x, axis=[2]), y))
        probabilities = (probabilities + tf.nn.softmax(model.predict(mirrored, verbose=0)).numpy()) / 2
    return probabilities


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable class is the label."""
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels).ravel()))


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` wrong predictions made with the highest probability, most confident first."""
    labels = np.asarray(labels).ravel()
    predicted = np.argmax(probabilities, axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]
