"""The course map: notebooks in order, their small test parameters and the figures they report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Figure:
    """A key figure: its key in the notebook's metrics JSON, a label, and what the source tutorial published."""

    key: str
    label: str
    published: str = "—"


@dataclass(frozen=True)
class Notebook:
    """One notebook: file name, title, datasets it needs, parameters for the tiny run, key figures."""

    name: str
    title: str
    datasets: tuple[str, ...] = ()
    tiny_parameters: dict = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / self.name

    @property
    def stem(self) -> str:
        return Path(self.name).stem


NOTEBOOKS = (
    Notebook(
        "00_environment_check.ipynb",
        "Environment check: versions, hardware, where the data is",
        figures=(Figure("tensorflow", "TensorFlow version"), Figure("onednn", "oneDNN kernels")),
    ),
    Notebook(
        "01_mnist_softmax_regression.ipynb",
        "Softmax regression on MNIST: the baseline",
        datasets=("mnist-idx",),
        tiny_parameters={"epochs": 15, "keras_epochs": 15},
        figures=(
            Figure("test_accuracy", "test accuracy (GradientTape)", "≈ 92% (TF1 tutorial)"),
            Figure("train_seconds", "training time (GradientTape), s"),
            Figure("keras_test_accuracy", "test accuracy (Keras)", "≈ 92%"),
            Figure("keras_train_seconds", "training time (Keras), s"),
        ),
    ),
    Notebook(
        "02_softmax_cross_entropy.ipynb",
        "Theory: softmax and cross-entropy",
        figures=(Figure("max_gradient_error", "largest gap, analytic vs autodiff gradient"),),
    ),
)
