"""The course map: notebooks in order, their small test parameters and the figures they report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class KeyFigure:
    """A key figure: its key in the notebook's metrics JSON, a label, and what the source tutorial published."""

    key: str
    label: str
    published: str = "—"


@dataclass(frozen=True)
class Notebook:
    """One notebook: file name, title, datasets it needs, parameters for the tiny run, key figures.

    `browser_parameters` shorten the tiny run further for the browser test, which only shows that the
    notebook runs in JupyterLab without an error; nbval runs the tiny parameters and checks the figures.
    """

    name: str
    title: str
    datasets: tuple[str, ...] = ()
    tiny_parameters: dict = field(default_factory=dict)
    figures: tuple[KeyFigure, ...] = ()
    browser_parameters: dict = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return Path(self.name).stem


NOTEBOOKS = (
    Notebook(
        "00_environment_check.ipynb",
        "Environment check: versions, hardware, where the data is",
        figures=(KeyFigure("tensorflow", "TensorFlow version"), KeyFigure("onednn", "oneDNN kernels")),
    ),
    Notebook(
        "01_mnist_softmax_regression.ipynb",
        "Softmax regression on MNIST: the baseline",
        datasets=("mnist-idx",),
        tiny_parameters={"epochs": 40, "keras_epochs": 40, "validation_size": 200},
        figures=(
            KeyFigure("test_accuracy", "test accuracy (GradientTape)", "— (the source prints no final figure)"),
            KeyFigure("train_seconds", "training time (GradientTape), s"),
            KeyFigure("keras_test_accuracy", "test accuracy (Keras)"),
            KeyFigure("keras_train_seconds", "training time (Keras), s"),
        ),
    ),
    Notebook(
        "02_softmax_cross_entropy.ipynb",
        "Theory: softmax and cross-entropy",
        figures=(KeyFigure("max_gradient_error", "largest gap, analytic vs autodiff gradient"),),
    ),
    Notebook(
        "03_mnist_cnn.ipynb",
        "From softmax regression to a convnet on MNIST: hidden layers, convolution, pooling, validation",
        datasets=("mnist-npz",),
        tiny_parameters={"validation_size": 200, "optimizer_seeds": 2, "mlp_epochs": 6, "cnn_epochs": 6},
        figures=(
            KeyFigure("mlp_test_accuracy", "hidden-layer network: test accuracy"),
            KeyFigure("test_accuracy", "convnet: test accuracy"),
            KeyFigure("cnn_train_minutes", "convnet: training minutes"),
            KeyFigure("cnn_epochs_run", "convnet: epochs (early stopping)"),
        ),
    ),
    Notebook(
        "04_cifar10_lrn_cnn.ipynb",
        "The classic CIFAR-10 CNN with LRN: queue pipeline, tf.data, two training recipes",
        datasets=("cifar10-binary",),
        tiny_parameters={
            "validation_size": 100,
            "batch_size": 32,
            "short_steps": 100,
            "peak_lrs": "0.01,0.05",
            "sweep_steps": 50,
            "long_steps": 150,
            "eval_every": 50,
        },
        browser_parameters={"short_steps": 30, "sweep_steps": 20, "long_steps": 40, "eval_every": 20},
        figures=(
            KeyFigure(
                "short_test_accuracy",
                "run 1 (the chapter's recipe): test accuracy",
                "73% (book chapter, official files)",
            ),
            KeyFigure("short_train_minutes", "run 1: training minutes"),
            KeyFigure("long_peak_lr", "run 2 (annealed SGD): peak rate chosen on validation"),
            KeyFigure("long_last_weights_val_accuracy", "run 2, last weights: validation accuracy"),
            KeyFigure("long_averaged_val_accuracy", "run 2, averaged weights: validation accuracy"),
            KeyFigure("long_weights", "run 2: weights kept (chosen on validation)"),
            KeyFigure("long_views", "test-time views chosen on validation"),
            KeyFigure(
                "long_test_accuracy",
                "annealed SGD, weights and views chosen on validation: test accuracy",
                "≈ 86% after 100k steps with decay (book chapter)",
            ),
            KeyFigure("long_steps", "annealed SGD: steps", "100,000 (book chapter)"),
            KeyFigure("long_train_minutes", "annealed SGD: training minutes"),
        ),
    ),
    Notebook(
        "05_l2_regularization.ipynb",
        "Theory: L2 regularization and weight decay",
        datasets=("mnist-npz",),
        tiny_parameters={"train_examples": 500, "validation_size": 200, "epochs": 30},
        figures=(
            KeyFigure("plain_gap", "train−validation gap, no regularization"),
            KeyFigure("l2_gap", "train−validation gap, with L2"),
            KeyFigure("l2_chosen", "L2 chosen on validation"),
            KeyFigure("test_accuracy", "its test accuracy"),
            KeyFigure("l1_zero_share", "share of weights ≈ 0 with L1"),
            KeyFigure("l2_zero_share", "share of weights ≈ 0 with L2"),
        ),
    ),
    Notebook(
        "06_local_response_normalization.ipynb",
        "Theory: local response normalization",
        tiny_parameters={"timing_steps": 3, "repeats": 1},
        figures=(KeyFigure("lrn_share_of_step", "LRN’s share of a training step"),),
    ),
    Notebook(
        "07_cifar10_batchnorm_cnn.ipynb",
        "A Keras CNN with batch normalization: the published model, then a modern recipe",
        datasets=("cifar10-python",),
        tiny_parameters={
            "validation_size": 100,
            "published_epochs": 30,
            "improved_epochs": 10,
            "improved_batch_size": 64,
            "peak_lrs": "0.1,0.4",
            "ablation_epochs": 3,
            "ablation_seeds": 2,
        },
        browser_parameters={"published_epochs": 2, "improved_epochs": 2, "ablation_epochs": 1, "peak_lrs": "0.4"},
        figures=(
            KeyFigure("published_non_trainable", "published model: non-trainable parameters", "512"),
            KeyFigure(
                "published_test_accuracy",
                "published model (the tutorial's recipe): test accuracy",
                "73.67% (official files)",
            ),
            KeyFigure("published_train_minutes", "published model: training minutes", "≈ 18 (110 s/epoch, TF 2.4 CPU)"),
            KeyFigure("improved_peak_lr", "modern recipe: peak rate chosen on validation"),
            KeyFigure("improved_flip_tta", "modern recipe: flip at test time, chosen on validation"),
            KeyFigure("improved_test_accuracy", "modern recipe: test accuracy"),
            KeyFigure("improved_epochs", "modern recipe: epochs"),
            KeyFigure("improved_train_minutes", "modern recipe: training minutes"),
        ),
    ),
    Notebook(
        "07b_distributed_training.ipynb",
        "Training across devices and machines with tf.distribute: all-reduce, workers on loopback, faults",
        datasets=("cifar10-python",),
        tiny_parameters={"train_examples": 500, "epochs": 5, "global_batch": 50, "widths": "16,32,32", "peak_lr": 0.2},
        browser_parameters={"epochs": 2},
        figures=(
            KeyFigure("equal_update", "2 replicas x b give the update of 1 replica x 2b"),
            KeyFigure("one_process_test_accuracy", "modern network, 1 process: test accuracy"),
            KeyFigure("two_workers_test_accuracy", "modern network, 2 workers: test accuracy"),
            KeyFigure("resumed_after_kill", "a killed worker: the job resumed from its last checkpoint"),
            KeyFigure("resumed_test_accuracy", "killed and resumed: test accuracy"),
            KeyFigure("one_process_images_per_second", "1 process: training images/s"),
            KeyFigure("two_workers_images_per_second", "2 workers on the same CPU: training images/s"),
            KeyFigure("one_process_cpu_seconds_per_image", "1 process: CPU seconds per training image"),
            KeyFigure("two_workers_cpu_seconds_per_image", "2 workers: CPU seconds per training image (both)"),
        ),
    ),
    Notebook(
        "08_batch_normalization.ipynb",
        "Theory: batch normalization",
        datasets=("cifar10-python",),
        tiny_parameters={"train_examples": 400, "validation_size": 100, "epochs": 3, "learning_rates": [0.05, 0.8]},
        browser_parameters={"epochs": 1},
        figures=(
            KeyFigure("max_train_mode_error", "NumPy vs Keras, training mode: largest gap"),
            KeyFigure("max_inference_mode_error", "NumPy vs Keras, inference mode: largest gap"),
            KeyFigure("best_without_bn", "small CNN, best rate: validation accuracy without BN"),
            KeyFigure("best_with_bn", "small CNN, best rate: validation accuracy with BN"),
            KeyFigure("batch_4_accuracy", "BN with batches of 4: validation accuracy"),
            KeyFigure("batch_64_accuracy", "BN with batches of 64: validation accuracy"),
            KeyFigure(
                "batch_statistics_1_accuracy", "… same network, normalized with batches of 1: validation accuracy"
            ),
        ),
    ),
    Notebook(
        "09_image_folder_loader.ipynb",
        "A dataset from a folder of class folders (pathlib, tf.data)",
        datasets=("cifar10-python",),
        tiny_parameters={"epochs": 8, "speed_images": 200},
        figures=(
            KeyFigure("images", "training images found"),
            KeyFigure("skipped", "files skipped"),
            KeyFigure("test_accuracy", "test accuracy, small CNN", "— (the source does not run)"),
            KeyFigure("train_seconds", "training time, s"),
        ),
    ),
    Notebook(
        "10_cifar10_speed_capstone.ipynb",
        "Capstone: airbench's recipe on a CPU",
        datasets=("cifar10-python",),
        tiny_parameters={
            "validation_size": 100,
            "epochs": 10,
            "batch_size": 64,
            "widths": "16,32,32",
            "ablation_epochs": 3,
            "ablation_widths": "16,32,32",
            "ablation_seeds": 2,
            "modern_epochs": 3,
            "budget_widths": "8,16,16;16,32,32",
        },
        browser_parameters={"epochs": 2, "ablation_epochs": 1, "modern_epochs": 1, "budget_widths": "8,16,16"},
        figures=(
            KeyFigure("epochs", "epochs (fixed)", "9.9"),
            KeyFigure("test_accuracy", "test accuracy, one view"),
            KeyFigure(
                "tta_test_accuracy", "test accuracy, test-time views chosen on validation", "94.01% (official files)"
            ),
            KeyFigure("train_minutes", "training minutes", "3.83 s (A100)"),
            KeyFigure("modern_test_accuracy", "07's modern recipe trained on the same machine, test, one view"),
            KeyFigure("modern_train_minutes", "07's modern recipe, training minutes"),
            KeyFigure("budget_test_accuracy", "capstone within 07's minutes, test, one view"),
            KeyFigure("budget_train_minutes", "capstone within 07's minutes, training minutes"),
        ),
    ),
)

BY_FILENAME = {nb.name: nb for nb in NOTEBOOKS}
