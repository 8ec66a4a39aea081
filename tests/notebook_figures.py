"""What each notebook's tiny run must show in its key figures (metrics JSON), on any CPU.

Not a test module: the root conftest.py runs `check(stem, metrics)` as the last item of each
notebook, right after nbval has executed it, so the checks read that one execution.

Another CPU runs other kernels (AVX-512 or not, oneDNN on or off, another summation order) and
trains the tiny models to other figures, so no check compares with a figure one machine measured.
Each learning figure must clear a floor computed from the tiny data itself, the same on every CPU:

- `Chance(n)`: what a model that learnt nothing reaches by luck: the accuracy that guessing among
  10 classes exceeds with probability below 0.1% on n images (binomial). For the tiny runs too short
  to learn much (the published network, the image-folder CNN, a CNN without BN).
- `NearestClassMean(dataset, offset)`: a nearest-class-mean classifier fitted with NumPy on the same
  tiny training images, scored on the same test images, plus `offset`. For models that should learn
  the tiny data about as well as that baseline or better.

`tests/figure_spread.json` holds the figures of the tiny runs under oneDNN on/off, one and two
intra-op threads, and a second seed for the short notebooks (`tests/figure_spread.py` made it;
`figure_spread.md` is its table). `tests/test_figure_checks.py` checks that every one of those runs
passes every check here, each floor with at least `MARGIN` to spare, and that a figure at the level
of a model that learnt nothing fails.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable

import numpy as np

from course_lib import data

MARGIN = 0.05  # every measured run clears each floor by this much (10 of the 200 tiny test images)
CLASSES = 10
TEST, VALIDATION = 200, 100  # images in the tiny test set; in the validation splits of 04, 07, 08 and 10


@functools.cache
def nearest_class_mean(dataset: str) -> float:
    """Test accuracy of a nearest-class-mean classifier on the tiny `dataset` ('mnist' or 'cifar10')."""
    load = data.load_mnist if dataset == "mnist" else data.load_cifar10
    (x, y), (xt, yt) = load("tiny")
    x, xt = x.reshape(len(x), -1).astype(float), xt.reshape(len(xt), -1).astype(float)
    means = np.stack([x[y == k].mean(axis=0) for k in range(CLASSES)])
    predicted = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
    return float(np.mean(predicted == yt))


@functools.cache
def chance_level(n: int, tail: float = 1e-3) -> float:
    """The accuracy that guessing among 10 classes exceeds with probability below `tail` on `n` images."""
    p, above = 1 / CLASSES, 0.0
    for k in range(n, -1, -1):
        term = math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if above + term >= tail:
            return k / n  # P(correct > k) < tail: a score above k/n is not luck
        above += term
    return 0.0


@dataclasses.dataclass(frozen=True)
class Chance:
    """Floor: better than a model that learnt nothing, on `n` images."""

    n: int

    def level(self) -> float:
        return chance_level(self.n)

    def __str__(self) -> str:
        return f"chance on {self.n} images ({self.level():.3f})"


@dataclasses.dataclass(frozen=True)
class NearestClassMean:
    """Floor: a nearest-class-mean classifier's tiny test accuracy on `dataset`, plus `offset`."""

    dataset: str
    offset: float = 0.0

    def level(self) -> float:
        return nearest_class_mean(self.dataset) + self.offset

    def __str__(self) -> str:
        return f"nearest class mean on tiny {self.dataset} {self.offset:+.2f} ({self.level():.3f})"


Floor = Chance | NearestClassMean
MNIST, CIFAR = "mnist", "cifar10"
FLOORS: dict[str, dict[str, Floor]] = {  # figure paths: nested keys joined by "/"
    "01_mnist_softmax_regression": {
        "test_accuracy": NearestClassMean(MNIST, -0.10), "keras_test_accuracy": NearestClassMean(MNIST, -0.10),
    },
    "03_mnist_cnn": {
        "mlp_test_accuracy": NearestClassMean(MNIST, -0.05), "test_accuracy": NearestClassMean(MNIST, -0.05),
    },
    "04_cifar10_lrn_cnn": {
        "short_test_accuracy": NearestClassMean(CIFAR), "long_last_weights_val_accuracy": NearestClassMean(CIFAR, -0.15),
        "long_averaged_val_accuracy": NearestClassMean(CIFAR), "long_test_accuracy": NearestClassMean(CIFAR),
    },
    "05_l2_regularization": {
        "plain_val_accuracy": NearestClassMean(MNIST, -0.05), "l2_val_accuracy": NearestClassMean(MNIST, -0.05),
        "test_accuracy": NearestClassMean(MNIST, -0.05),
    },
    "07_cifar10_batchnorm_cnn": {
        "published_test_accuracy": Chance(TEST), "improved_test_accuracy": NearestClassMean(CIFAR),
        "ablation_full_recipe/0": NearestClassMean(CIFAR, -0.10), "ablation_full_recipe/1": NearestClassMean(CIFAR, -0.10),
        "ablation/no augmentation/accuracy": NearestClassMean(CIFAR, -0.05),
        "ablation/Adam 1e-3, constant/accuracy": NearestClassMean(CIFAR),
        "ablation/no label smoothing/accuracy": NearestClassMean(CIFAR, -0.10),
    },
    "07b_distributed_training": {  # lowest in the spread: 0.75 (one process, oneDNN off), 0.855, 0.885
        "one_process_test_accuracy": NearestClassMean(CIFAR, -0.10),
        "two_workers_test_accuracy": NearestClassMean(CIFAR, -0.10),
        "resumed_test_accuracy": NearestClassMean(CIFAR, -0.10),
    },
    "08_batch_normalization": {
        "best_with_bn": Chance(VALIDATION),
        "batch_4_accuracy": NearestClassMean(CIFAR, -0.15),
        "batch_statistics_accuracy/8": NearestClassMean(CIFAR, -0.05),
        "batch_statistics_accuracy/64": NearestClassMean(CIFAR),
        "batch_statistics_accuracy/500": NearestClassMean(CIFAR),
    },
    "09_image_folder_loader": {"test_accuracy": Chance(TEST)},
    "10_cifar10_speed_capstone": {
        "test_accuracy": NearestClassMean(CIFAR, -0.10), "final_val_accuracy": NearestClassMean(CIFAR, -0.10),
        "tta_test_accuracy": NearestClassMean(CIFAR, -0.10),
        # trained for as many epochs as fit in the time 07's recipe took: fewer on a loaded machine
        "budget_test_accuracy": Chance(TEST), "modern_test_accuracy": Chance(TEST),
        **{f"ablation_full_recipe/{i}": NearestClassMean(CIFAR, -0.25) for i in range(2)},
        **{f"ablation/{row}/accuracy": NearestClassMean(CIFAR, -0.25) for row in (
            "no whitening (first layer trained)", "no whitening bias", "BN biases at 1x the rate", "no label smoothing",
            "no lookahead", "random flip, not alternating", "no augmentation")},
        "ablation/random init, no identity/accuracy": Chance(VALIDATION),
        "ablation/constant EMA 0.9 instead of lookahead/accuracy": Chance(VALIDATION),
    },
}  # fmt: skip
UNFLOORED = {  # figures a correct tiny run may leave at chance: only checked to be accuracies
    "08_batch_normalization": ("best_without_bn",),  # no BN, 3 tiny epochs: 0.18 with seed 43
}
ABLATION = {"published network", "no augmentation", "Adam 1e-3, constant", "no label smoothing"}  # notebook 07
CAPSTONE_ABLATION = {  # notebook 10
    "no whitening (first layer trained)", "no whitening bias", "random init, no identity", "BN biases at 1x the rate",
    "no label smoothing", "no lookahead", "constant EMA 0.9 instead of lookahead", "random flip, not alternating",
    "no augmentation",
}  # fmt: skip
GAP_RANGE = (-MARGIN, 0.10)  # notebook 05: tiny runs barely overfit, so a train-validation gap stays small


def figure(metrics: dict, path: str):
    """The figure at `path` ("ablation/no augmentation/accuracy"; list items by index)."""
    value = metrics
    for part in path.split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def clears_floors(stem: str, m: dict) -> None:
    """Every floored figure of `stem` is at or above its floor; the unfloored ones are accuracies."""
    for path, floor in FLOORS.get(stem, {}).items():
        value = figure(m, path)
        assert value >= floor.level(), f"{path} = {value}, below its floor: {floor}"
    for path in UNFLOORED.get(stem, ()):
        assert 0 <= figure(m, path) <= 1, f"{path} = {figure(m, path)} is not an accuracy"


def environment_check(m: dict) -> None:
    import tensorflow as tf

    expected = "off" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "on"  # course default: on
    assert m["tensorflow"] == tf.__version__ and m["onednn"] == expected, (m, expected)


def mnist_softmax_regression(m: dict) -> None:
    assert m["data_source"] == "tiny"
    clears_floors("01_mnist_softmax_regression", m)


def softmax_cross_entropy(m: dict) -> None:
    assert m["max_gradient_error"] < 1e-12


def mnist_cnn(m: dict) -> None:
    assert m["data_source"] == "tiny"
    clears_floors("03_mnist_cnn", m)
    assert 1 <= m["cnn_epochs_run"] <= 6, "early stopping ends within the tiny run's 6 epochs"
    assert m["optimizer_chosen"] == max(m["optimizer_validation_accuracy"], key=m["optimizer_validation_accuracy"].get)


def cifar10_lrn_cnn(m: dict) -> None:
    clears_floors("04_cifar10_lrn_cnn", m)
    assert m["long_steps"] == 150 and m["short_steps"] == 100, "the tiny runs train a fixed number of steps"
    rates, views = m["peak_lr_validation_accuracy"], m["view_validation_accuracy"]
    best = {str(float(r)): v for r, v in rates.items()}  # ties: any of the best is a right choice
    assert best[str(m["long_peak_lr"])] == max(rates.values()), "the peak rate is the best on validation"
    assert views[m["long_views"]] == max(views.values()), "the test views are the best on validation"
    weights = {"last": m["long_last_weights_val_accuracy"], "averaged": m["long_averaged_val_accuracy"]}
    assert weights[m["long_weights"]] == max(weights.values()), "the weights kept are the better on validation"


def l2_regularization(m: dict) -> None:
    clears_floors("05_l2_regularization", m)
    assert m["l1_zero_share"] > 2 * m["l2_zero_share"], "L1 leaves far more weights near zero than L2"
    l2_better = m["l2_val_accuracy"] > m["plain_val_accuracy"]  # a tie keeps the plain model, the first
    assert m["l2_chosen"] == l2_better, "the model kept is the better on validation"
    for key in ("plain_gap", "l2_gap"):
        assert GAP_RANGE[0] <= m[key] <= GAP_RANGE[1], f"{key} = {m[key]}: a tiny run's train-validation gap is small"


def local_response_normalization_timings(m: dict) -> None:
    low, high = m["lrn_share_range"]
    assert low <= m["lrn_share_of_step"] <= high, "the median share lies within the range of the repeats"
    assert m["ms_per_step_with_lrn"] > 0 and m["ms_per_step_without_lrn"] > 0


def cifar10_batchnorm_cnn(m: dict) -> None:
    assert (m["published_parameters"], m["published_non_trainable"]) == (159_018, 512)
    clears_floors("07_cifar10_batchnorm_cnn", m)
    rates = m["peak_lr_validation_accuracy"]
    assert m["improved_peak_lr"] == float(max(rates, key=rates.get)), "the peak rate is the best on validation"
    assert m["ablation_epochs"] == 3 and set(m["ablation"]) == ABLATION and len(m["ablation_full_recipe"]) == 2


def distributed_training(m: dict) -> None:
    assert m["equal_update"] is True and m["sum_reduction_equal_update"] is False, "the equal-update check"
    steps_per_epoch = m["train_examples"] // m["global_batch"]
    assert m["resumed_after_kill"] is True, "the killed job resumed from its last checkpoint and finished"
    assert m["resumed_from_epoch"] == m["kill_at_step"] // steps_per_epoch > 0
    clears_floors("07b_distributed_training", m)


def distributed_training_timings(m: dict) -> None:
    assert m["one_process_images_per_second"] > 0 and m["two_workers_images_per_second"] > 0
    assert m["one_process_cpu_seconds_per_image"] > 0 and m["two_workers_cpu_seconds_per_image"] > 0
    assert m["two_workers_job_seconds"] > 0


def batch_normalization(m: dict) -> None:
    assert m["max_train_mode_error"] < 1e-5 and m["max_inference_mode_error"] < 1e-5
    assert set(m["rate_experiment"]) == {"none", "before", "after"}
    assert all(len(v) == len(m["learning_rates"]) for v in m["rate_experiment"].values())
    clears_floors("08_batch_normalization", m)
    assert set(m["batch_statistics_accuracy"]) == {"1", "2", "8", "64", "500"}
    assert m["batch_statistics_accuracy"]["1"] < Chance(VALIDATION).level(), "batches of one image normalise to 0"


def image_folder_loader(m: dict) -> None:
    assert m["images"] == 500 and m["skipped"] == 0
    clears_floors("09_image_folder_loader", m)


def image_folder_loader_timings(m: dict) -> None:
    assert set(m["images_per_second"]) == {
        "sequential decode", "parallel decode", "parallel + prefetch", "parallel + cache + prefetch (2nd pass)"
    }  # fmt: skip


def speed_capstone(m: dict) -> None:
    clears_floors("10_cifar10_speed_capstone", m)
    views = m["tta_validation_accuracy"]
    fewest_best = next(v for v in ("one view", "mirror", "mirror + translations") if views[v] == max(views.values()))
    assert m["tta"] == fewest_best, "the test-time views are the best on validation (ties: the fewest views)"
    assert m["epochs"] == 10 and m["ablation_epochs"] == 3 and set(m["ablation"]) == CAPSTONE_ABLATION
    assert len(m["ablation_full_recipe"]) == 2
    assert 1 <= m["budget_epochs"] <= m["epochs"], "within 07's minutes: at least one epoch, at most the full run's"


CHECKS: dict[str, Callable[[dict], None]] = {
    "00_environment_check": environment_check,
    "01_mnist_softmax_regression": mnist_softmax_regression,
    "02_softmax_cross_entropy": softmax_cross_entropy,
    "03_mnist_cnn": mnist_cnn,
    "04_cifar10_lrn_cnn": cifar10_lrn_cnn,
    "05_l2_regularization": l2_regularization,
    "07_cifar10_batchnorm_cnn": cifar10_batchnorm_cnn,
    "07b_distributed_training": distributed_training,
    "08_batch_normalization": batch_normalization,
    "09_image_folder_loader": image_folder_loader,
    "10_cifar10_speed_capstone": speed_capstone,
}
TIMINGS: dict[str, Callable[[dict], None]] = {  # figures that measure the machine's load: their shape only
    "06_local_response_normalization": local_response_normalization_timings,
    "07b_distributed_training": distributed_training_timings,
    "09_image_folder_loader": image_folder_loader_timings,
}


def check(stem: str, m: dict) -> None:
    """Every check of notebook `stem` on its metrics `m` (the conftest's `key figures` item)."""
    for checks in (CHECKS, TIMINGS):
        if stem in checks:
            checks[stem](m)
