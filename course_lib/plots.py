"""The course's pictures: image grids, training curves, confusion matrices, weight templates."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def show_images(
    images: np.ndarray,
    labels: Sequence[int],
    class_names: Sequence[str] | None = None,
    predictions: Sequence[int] | None = None,
    ncols: int = 10,
    title: str = "",
) -> plt.Figure:
    """A grid of images titled with their labels (and predictions, red when wrong)."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.5 * nrows), squeeze=False)
    name = (lambda i: class_names[i]) if class_names is not None else str
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, range(n)):
        ax.imshow(images[i], cmap="gray" if images[i].ndim == 2 else None)
        text, colour = name(int(labels[i])), "black"
        if predictions is not None:
            text = f"{name(int(predictions[i]))}\n(true {text})"
            colour = "red" if predictions[i] != labels[i] else "green"
        ax.set_title(text, fontsize=8, color=colour)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(history: dict[str, Sequence[float]], xlabel: str = "epoch") -> plt.Figure:
    """One panel per metric group: keys sharing a suffix (`loss`, `accuracy`, ...) are drawn together."""
    groups: dict[str, list[str]] = {}
    for key in history:
        groups.setdefault(key.split("_")[-1], []).append(key)
    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.5), squeeze=False)
    for ax, (group, keys) in zip(axes.flat, groups.items()):
        for key in keys:
            values = history[key]
            ax.plot(range(1, len(values) + 1), values, label=key)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(group)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str]) -> plt.Figure:
    """A confusion matrix (`evaluation.confusion_matrix`) as a heat map, counts written in each cell."""
    fig, ax = plt.subplots(figsize=(0.6 * len(class_names) + 2, 0.6 * len(class_names) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(
            j, i, count, ha="center", va="center", fontsize=7, color="white" if count > matrix.max() / 2 else "black"
        )
    fig.tight_layout()
    return fig


def show_weight_templates(weights: np.ndarray, image_shape: tuple[int, int], class_names: Sequence[str]) -> plt.Figure:
    """Each column of a (pixels, classes) weight matrix as an image: red pushes towards the class, blue away."""
    limit = np.abs(weights).max()
    fig, axes = plt.subplots(1, weights.shape[1], figsize=(1.5 * weights.shape[1], 1.9))
    for k, ax in enumerate(axes):
        ax.imshow(weights[:, k].reshape(image_shape), cmap="seismic", vmin=-limit, vmax=limit)
        ax.set_title(str(class_names[k]))
        ax.axis("off")
    fig.tight_layout()
    return fig
