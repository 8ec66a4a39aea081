"""What each notebook's tiny run must show in its key figures (metrics JSON).

Not a test module: the root conftest.py runs `CHECKS[stem](metrics)` as the last item of each
notebook, right after nbval has executed it, so the checks read that one execution.

The tiny runs train a fixed number of steps with a fixed seed, so their figures repeat exactly
on one machine, loaded or not. Each learning figure must reach the value measured on the tiny
data (`TINY`, from `course run --tiny` on 2026-11-28, 2-core AMD EPYC Zen 3, TF 2.21.0) minus
`MARGIN` (10 of the 200 tiny test images), which leaves room for another CPU's float rounding but
not for a half-broken optimizer, augmentation or pipeline. Where the model should beat it, the
figure must also beat a nearest-class-mean classifier fitted on the same tiny training images.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from course_lib import data

MARGIN = 0.05
TINY = {
    "01_mnist_softmax_regression": {"test_accuracy": 0.94, "keras_test_accuracy": 0.94},
    "03_mnist_cnn": {"mlp_test_accuracy": 0.985, "test_accuracy": 0.98},
    "04_cifar10_lrn_cnn": {
        "short_test_accuracy": 0.945, "long_last_weights_val_accuracy": 0.96, "long_averaged_val_accuracy": 0.5,
        "long_test_accuracy": 0.405,
    },
    "05_l2_regularization": {"plain_test_accuracy": 0.99, "l2_test_accuracy": 0.98},
    "07_cifar10_batchnorm_cnn": {"published_test_accuracy": 0.445, "improved_test_accuracy": 0.94},
    "08_batch_normalization": {"best_without_bn": 0.29, "best_with_bn": 0.43, "batch_4_accuracy": 0.71},
    "09_image_folder_loader": {"test_accuracy": 0.54},
    "10_cifar10_speed_capstone": {"test_accuracy": 0.87, "final_val_accuracy": 0.91},
}  # fmt: skip
ABLATION = {  # notebook 07, 3 tiny epochs each, on validation
    "published network": 0.08, "no augmentation": 0.84, "Adam 1e-3, constant": 0.85, "no label smoothing": 0.79,
}  # fmt: skip
ABLATION_FULL_RECIPE = [0.76, 0.89]  # notebook 07: the full recipe's short run, seeds 42 and 43
CAPSTONE_ABLATION = {  # notebook 10, 3 tiny epochs each, on validation
    "trained first layer, no whitening": 0.9, "random init, no identity": 0.41, "BN with a scale": 0.91,
    "no label smoothing": 0.9, "no weight decay": 0.91, "no weight averaging": 0.92, "no augmentation": 0.91,
}  # fmt: skip
CAPSTONE_FULL_RECIPE = [0.89, 0.87]  # notebook 10: the full recipe's short run, seeds 42 and 43
GAPS = {"plain_gap": 0.01, "l2_gap": 0.02}  # notebook 05
BATCH_STATISTICS = {"1": 0.09, "2": 0.52, "8": 0.82, "64": 0.91, "500": 0.9}  # notebook 08, batches of n


@functools.cache
def nearest_class_mean(dataset: str) -> float:
    """Test accuracy of a nearest-class-mean classifier on the tiny `dataset` ('mnist' or 'cifar10')."""
    load = data.load_mnist if dataset == "mnist" else data.load_cifar10
    (x, y), (xt, yt) = load("tiny")
    x, xt = x.reshape(len(x), -1).astype(float), xt.reshape(len(xt), -1).astype(float)
    means = np.stack([x[y == k].mean(axis=0) for k in range(10)])
    predicted = np.argmin(((xt[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
    return float(np.mean(predicted == yt))


def _reaches_tiny_figures(stem: str, m: dict) -> None:
    for key, measured in TINY[stem].items():
        assert m[key] >= measured - MARGIN, f"{key} = {m[key]}, the tiny run measured {measured} (margin {MARGIN})"


def environment_check(m: dict) -> None:
    import tensorflow as tf

    assert m["tensorflow"] == tf.__version__ and m["onednn"] == "on"


def mnist_softmax_regression(m: dict) -> None:
    assert m["data_source"] == "tiny"
    _reaches_tiny_figures("01_mnist_softmax_regression", m)
    assert min(m["test_accuracy"], m["keras_test_accuracy"]) > nearest_class_mean("mnist")


def softmax_cross_entropy(m: dict) -> None:
    assert m["max_gradient_error"] < 1e-12


def mnist_cnn(m: dict) -> None:
    assert m["data_source"] == "tiny"
    _reaches_tiny_figures("03_mnist_cnn", m)
    assert min(m["test_accuracy"], m["mlp_test_accuracy"]) > nearest_class_mean("mnist")
    assert 1 <= m["cnn_epochs_run"] <= 6, "early stopping ends within the tiny run's 6 epochs"
    assert m["optimizer_chosen"] == max(m["optimizer_validation_accuracy"], key=m["optimizer_validation_accuracy"].get)


def cifar10_lrn_cnn(m: dict) -> None:
    _reaches_tiny_figures("04_cifar10_lrn_cnn", m)
    assert m["long_steps"] == 150 and m["short_steps"] == 100, "the tiny runs train a fixed number of steps"
    assert min(m["short_test_accuracy"], m["long_last_weights_val_accuracy"]) > nearest_class_mean("cifar10")
    rates, views = m["peak_lr_validation_accuracy"], m["view_validation_accuracy"]
    assert m["long_peak_lr"] == float(max(rates, key=rates.get)), "the peak rate is the best on validation"
    assert m["long_views"] == max(views, key=views.get), "the test views are the best on validation"


def l2_regularization(m: dict) -> None:
    _reaches_tiny_figures("05_l2_regularization", m)
    assert m["l1_zero_share"] > 2 * m["l2_zero_share"], "L1 leaves far more weights near zero than L2"
    for key, measured in GAPS.items():  # train-test gaps: tiny runs barely overfit, so only their size is pinned
        assert abs(m[key] - measured) <= MARGIN, f"{key} = {m[key]}, the tiny run measured {measured}"


def local_response_normalization(m: dict) -> None:
    low, high = m["lrn_share_range"]
    assert low <= m["lrn_share_of_step"] <= high, "the median share lies within the range of the repeats"
    assert m["ms_per_step_with_lrn"] > 0 and m["ms_per_step_without_lrn"] > 0


def cifar10_batchnorm_cnn(m: dict) -> None:
    assert (m["published_parameters"], m["published_non_trainable"]) == (159_018, 512)
    _reaches_tiny_figures("07_cifar10_batchnorm_cnn", m)
    assert m["improved_test_accuracy"] > nearest_class_mean("cifar10")
    rates = m["peak_lr_validation_accuracy"]
    assert m["improved_peak_lr"] == float(max(rates, key=rates.get)), "the peak rate is the best on validation"
    assert m["ablation_epochs"] == 3 and set(m["ablation"]) == set(ABLATION)
    for got, measured in zip(m["ablation_full_recipe"], ABLATION_FULL_RECIPE, strict=True):
        assert got >= measured - MARGIN, f"full recipe, short run: {got}, measured {measured}"
    for name, measured in ABLATION.items():
        got = m["ablation"][name]["accuracy"]
        assert got >= measured - MARGIN, f"ablation {name}: {got}, measured {measured}"


def batch_normalization(m: dict) -> None:
    assert m["max_train_mode_error"] < 1e-5 and m["max_inference_mode_error"] < 1e-5
    assert set(m["rate_experiment"]) == {"none", "before", "after"}
    assert all(len(v) == len(m["learning_rates"]) for v in m["rate_experiment"].values())
    _reaches_tiny_figures("08_batch_normalization", m)
    assert set(m["batch_statistics_accuracy"]) == set(BATCH_STATISTICS)
    for n, measured in BATCH_STATISTICS.items():
        got = m["batch_statistics_accuracy"][n]
        assert abs(got - measured) <= MARGIN, f"batches of {n}: {got}, measured {measured}"
    assert m["batch_statistics_accuracy"]["1"] < 0.2 < m["batch_statistics_accuracy"]["500"], "batches of 1 fail"


def image_folder_loader(m: dict) -> None:
    assert m["images"] == 500 and m["skipped"] == 0
    _reaches_tiny_figures("09_image_folder_loader", m)
    assert set(m["images_per_second"]) == {
        "sequential decode", "parallel decode", "parallel + prefetch", "parallel + cache + prefetch (2nd pass)"
    }  # fmt: skip


def speed_capstone(m: dict) -> None:
    _reaches_tiny_figures("10_cifar10_speed_capstone", m)
    assert m["test_accuracy"] > nearest_class_mean("cifar10")
    views = m["tta_validation_accuracy"]
    assert m["tta"] == max(views, key=views.get), "the test-time views are the best on validation"
    assert m["tta_test_accuracy"] >= m["test_accuracy"] - MARGIN
    assert m["epochs"] == 10 and m["ablation_epochs"] == 3 and set(m["ablation"]) == set(CAPSTONE_ABLATION)
    for got, measured in zip(m["ablation_full_recipe"], CAPSTONE_FULL_RECIPE, strict=True):
        assert got >= measured - MARGIN, f"full recipe, short run: {got}, measured {measured}"
    for name, measured in CAPSTONE_ABLATION.items():
        got = m["ablation"][name]["accuracy"]
        assert got >= measured - MARGIN, f"ablation {name}: {got}, measured {measured}"


CHECKS: dict[str, Callable[[dict], None]] = {
    "00_environment_check": environment_check,
    "01_mnist_softmax_regression": mnist_softmax_regression,
    "02_softmax_cross_entropy": softmax_cross_entropy,
    "03_mnist_cnn": mnist_cnn,
    "04_cifar10_lrn_cnn": cifar10_lrn_cnn,
    "05_l2_regularization": l2_regularization,
    "06_local_response_normalization": local_response_normalization,
    "07_cifar10_batchnorm_cnn": cifar10_batchnorm_cnn,
    "08_batch_normalization": batch_normalization,
    "09_image_folder_loader": image_folder_loader,
    "10_cifar10_speed_capstone": speed_capstone,
}
