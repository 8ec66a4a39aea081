"""The key figures of each notebook's tiny run (executed once, by nbval: see the root conftest.py)."""

from __future__ import annotations

import pytest

from course_lib.tools import runner
from course_lib.tools.course_map import NOTEBOOKS

pytestmark = pytest.mark.notebooks


def test_mnist_softmax_learns_on_tiny_data(notebook_metrics):
    m = notebook_metrics("01_mnist_softmax_regression")
    assert m["data_source"] == "tiny"
    assert m["test_accuracy"] > 0.6 and m["keras_test_accuracy"] > 0.6  # chance is 0.1


def test_softmax_theory_gradient_check(notebook_metrics):
    assert notebook_metrics("02_softmax_cross_entropy")["max_gradient_error"] < 1e-12


def test_image_folder_loader_learns_on_tiny_tree(notebook_metrics):
    m = notebook_metrics("08_image_folder_loader")
    assert m["images"] == 500 and m["skipped"] == 0
    assert m["test_accuracy"] > 0.4  # chance is 0.1
    assert set(m["images_per_second"]) == {
        "sequential decode", "parallel decode", "parallel + prefetch", "parallel + cache + prefetch (2nd pass)"
    }  # fmt: skip


def test_lrn_cnn_learns_on_tiny_data_with_both_recipes(notebook_metrics):
    m = notebook_metrics("03_cifar10_lrn_cnn")
    assert m["short_test_accuracy"] > 0.3 and m["long_test_accuracy"] > 0.3  # chance is 0.1


def test_l2_theory_experiment_runs_and_learns(notebook_metrics):
    m = notebook_metrics("04_l2_regularization")
    assert m["plain_test_accuracy"] > 0.5 and m["l2_test_accuracy"] > 0.5
    assert m["l1_zero_share"] > m["l2_zero_share"]


def test_lrn_theory_measures_a_share_of_the_step(notebook_metrics):
    share = notebook_metrics("05_local_response_normalization")["lrn_share_of_step"]
    assert isinstance(share, float) and share < 1


def test_batchnorm_cnn_learns_with_both_recipes_and_fills_the_ablation(notebook_metrics):
    m = notebook_metrics("06_cifar10_batchnorm_cnn")
    assert (m["published_parameters"], m["published_non_trainable"]) == (159_018, 512)
    assert m["published_test_accuracy"] > 0.3 and m["improved_flip_tta_accuracy"] > 0.3  # chance is 0.1
    assert set(m["ablation"]) == {
        "full recipe", "published network", "no augmentation", "Adam 1e-3, constant", "no label smoothing"
    }  # fmt: skip
    assert all(0 <= row["accuracy"] <= 1 and row["epochs"] > 0 for row in m["ablation"].values())


def test_batchnorm_theory_reference_agrees_and_experiments_learn(notebook_metrics):
    m = notebook_metrics("07_batch_normalization")
    assert m["max_train_mode_error"] < 1e-5 and m["max_inference_mode_error"] < 1e-5
    assert len(m["rate_experiment"]["none"]) == len(m["learning_rates"])
    assert m["best_with_bn"] > 0.3 and m["batch_64_accuracy"] > 0.2  # chance is 0.1
    assert set(m["batch_statistics_accuracy"]) == {"1", "2", "8", "64", "500"}
    assert all(0 <= acc <= 1 for acc in m["batch_statistics_accuracy"].values())


def test_environment_check_reports_tensorflow(notebook_metrics):
    import tensorflow as tf

    assert notebook_metrics("00_environment_check")["tensorflow"] == tf.__version__


def test_results_table_lists_every_key_figure(notebook_metrics):
    rows = [(nb, "ok", notebook_metrics(nb.stem)) for nb in NOTEBOOKS]
    table = runner.results_table(rows, "tiny")
    for nb in NOTEBOOKS:
        for fig in nb.figures:
            assert f"| {nb.stem} | ok" in table and fig.label in table
    assert "| — |" not in table.split("published |")[1].replace("| — |\n", "|\n"), "a measured figure is missing"
