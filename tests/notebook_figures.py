"""What each notebook's tiny run must show in its key figures (metrics JSON).

Not a test module: the root conftest.py runs `CHECKS[stem](metrics)` as the last item of each
notebook, right after nbval has executed it, so the checks read that one execution.
"""

from __future__ import annotations

from collections.abc import Callable


def environment_check(m: dict) -> None:
    import tensorflow as tf

    assert m["tensorflow"] == tf.__version__


def mnist_softmax_regression(m: dict) -> None:
    assert m["data_source"] == "tiny"
    assert m["test_accuracy"] > 0.6 and m["keras_test_accuracy"] > 0.6  # chance is 0.1


def softmax_cross_entropy(m: dict) -> None:
    assert m["max_gradient_error"] < 1e-12


def cifar10_lrn_cnn(m: dict) -> None:
    assert m["short_test_accuracy"] > 0.3 and m["long_test_accuracy"] > 0.3  # chance is 0.1


def l2_regularization(m: dict) -> None:
    assert m["plain_test_accuracy"] > 0.5 and m["l2_test_accuracy"] > 0.5
    assert m["l1_zero_share"] > m["l2_zero_share"]


def local_response_normalization(m: dict) -> None:
    assert isinstance(m["lrn_share_of_step"], float) and m["lrn_share_of_step"] < 1


def cifar10_batchnorm_cnn(m: dict) -> None:
    assert (m["published_parameters"], m["published_non_trainable"]) == (159_018, 512)
    assert m["published_test_accuracy"] > 0.3 and m["improved_flip_tta_accuracy"] > 0.3  # chance is 0.1
    assert set(m["ablation"]) == {
        "full recipe", "published network", "no augmentation", "Adam 1e-3, constant", "no label smoothing"
    }  # fmt: skip
    assert all(0 <= row["accuracy"] <= 1 and row["epochs"] > 0 for row in m["ablation"].values())


def batch_normalization(m: dict) -> None:
    assert m["max_train_mode_error"] < 1e-5 and m["max_inference_mode_error"] < 1e-5
    assert len(m["rate_experiment"]["none"]) == len(m["learning_rates"])
    assert m["best_with_bn"] > 0.3 and m["batch_64_accuracy"] > 0.2  # chance is 0.1
    assert set(m["batch_statistics_accuracy"]) == {"1", "2", "8", "64", "500"}
    assert all(0 <= acc <= 1 for acc in m["batch_statistics_accuracy"].values())


def image_folder_loader(m: dict) -> None:
    assert m["images"] == 500 and m["skipped"] == 0
    assert m["test_accuracy"] > 0.4  # chance is 0.1
    assert set(m["images_per_second"]) == {
        "sequential decode", "parallel decode", "parallel + prefetch", "parallel + cache + prefetch (2nd pass)"
    }  # fmt: skip


CHECKS: dict[str, Callable[[dict], None]] = {
    "00_environment_check": environment_check,
    "01_mnist_softmax_regression": mnist_softmax_regression,
    "02_softmax_cross_entropy": softmax_cross_entropy,
    "03_cifar10_lrn_cnn": cifar10_lrn_cnn,
    "04_l2_regularization": l2_regularization,
    "05_local_response_normalization": local_response_normalization,
    "06_cifar10_batchnorm_cnn": cifar10_batchnorm_cnn,
    "07_batch_normalization": batch_normalization,
    "08_image_folder_loader": image_folder_loader,
}
