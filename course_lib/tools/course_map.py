"""The course map: notebooks in order, their small test parameters and the figures they report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Figure:
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
    figures: tuple[Figure, ...] = ()
    browser_parameters: dict = field(default_factory=dict)

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
        tiny_parameters={"epochs": 40, "keras_epochs": 40, "validation_size": 200},
        figures=(
            Figure("test_accuracy", "test accuracy (GradientTape)", "— (the source prints no final figure)"),
            Figure("train_seconds", "training time (GradientTape), s"),
            Figure("keras_test_accuracy", "test accuracy (Keras)"),
            Figure("keras_train_seconds", "training time (Keras), s"),
        ),
    ),
    Notebook(
        "02_softmax_cross_entropy.ipynb",
        "Theory: softmax and cross-entropy",
        figures=(Figure("max_gradient_error", "largest gap, analytic vs autodiff gradient"),),
    ),
    Notebook(
        "03_mnist_cnn.ipynb",
        "From softmax regression to a convnet on MNIST: hidden layers, convolution, pooling, validation",
        datasets=("mnist-npz",),
        tiny_parameters={"validation_size": 200, "optimizer_seeds": 2, "mlp_epochs": 6, "cnn_epochs": 6},
        figures=(
            Figure("mlp_test_accuracy", "hidden-layer network: test accuracy"),
            Figure("test_accuracy", "convnet: test accuracy"),
            Figure("cnn_train_minutes", "convnet: training minutes"),
            Figure("cnn_epochs_run", "convnet: epochs (early stopping)"),
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
            Figure(
                "short_test_accuracy", "Adam 1e-3, 3,000 steps: test accuracy", "73% (book chapter, official files)"
            ),
            Figure("short_train_minutes", "Adam 1e-3, 3,000 steps: training minutes"),
            Figure("long_peak_lr", "annealed SGD: peak rate chosen on validation"),
            Figure("long_averaged_val_accuracy", "annealed SGD + weight averaging: validation accuracy"),
            Figure("long_last_weights_val_accuracy", "… with the last weights instead of the average"),
            Figure("long_views", "test-time views chosen on validation"),
            Figure(
                "long_test_accuracy",
                "annealed SGD + weight averaging, chosen views: test accuracy",
                "≈ 86% after 100k steps with decay (book chapter)",
            ),
            Figure("long_steps", "annealed SGD: steps", "100,000 (book chapter)"),
            Figure("long_train_minutes", "annealed SGD: training minutes"),
        ),
    ),
    Notebook(
        "05_l2_regularization.ipynb",
        "Theory: L2 regularization and weight decay",
        datasets=("mnist-npz",),
        tiny_parameters={"train_examples": 500, "epochs": 30},
        figures=(
            Figure("plain_gap", "train−test gap, no regularization"),
            Figure("l2_gap", "train−test gap, with L2"),
            Figure("l1_zero_share", "share of weights ≈ 0 with L1"),
            Figure("l2_zero_share", "share of weights ≈ 0 with L2"),
        ),
    ),
    Notebook(
        "06_local_response_normalization.ipynb",
        "Theory: local response normalization",
        tiny_parameters={"timing_steps": 3, "repeats": 1},
        figures=(Figure("lrn_share_of_step", "LRN’s share of a training step"),),
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
        browser_parameters={"published_epochs": 2, "improved_epochs": 2, "ablation_epochs": 1},
        figures=(
            Figure("published_non_trainable", "published model: non-trainable parameters", "512"),
            Figure("published_test_accuracy", "published model, 10 epochs: test accuracy", "73.67% (official files)"),
            Figure("published_train_minutes", "published model: training minutes", "≈ 18 (110 s/epoch, TF 2.4 CPU)"),
            Figure("improved_peak_lr", "modern recipe: peak rate chosen on validation"),
            Figure("improved_flip_tta", "modern recipe: flip at test time, chosen on validation"),
            Figure("improved_test_accuracy", "modern recipe: test accuracy"),
            Figure("improved_epochs", "modern recipe: epochs"),
            Figure("improved_train_minutes", "modern recipe: training minutes"),
        ),
    ),
    Notebook(
        "07b_distributed_training.ipynb",
        "Training across devices and machines with tf.distribute: all-reduce, workers on loopback, faults",
        datasets=("cifar10-python",),
        tiny_parameters={"train_examples": 500, "epochs": 5, "global_batch": 50, "widths": "16,32,32", "peak_lr": 0.2},
        browser_parameters={"epochs": 2},
        figures=(
            Figure("equal_update", "2 replicas x b give the update of 1 replica x 2b"),
            Figure("one_process_test_accuracy", "modern network, 1 process: test accuracy"),
            Figure("two_workers_test_accuracy", "modern network, 2 workers: test accuracy"),
            Figure("resumed_after_kill", "a killed worker: the job resumed from its last checkpoint"),
            Figure("resumed_test_accuracy", "killed and resumed: test accuracy"),
            Figure("one_process_images_per_second", "1 process: training images/s"),
            Figure("two_workers_images_per_second", "2 workers on the same CPU: training images/s"),
            Figure("one_process_cpu_seconds_per_image", "1 process: CPU seconds per training image"),
            Figure("two_workers_cpu_seconds_per_image", "2 workers: CPU seconds per training image (both)"),
        ),
    ),
    Notebook(
        "08_batch_normalization.ipynb",
        "Theory: batch normalization",
        datasets=("cifar10-python",),
        tiny_parameters={"train_examples": 400, "validation_size": 100, "epochs": 3, "learning_rates": [0.05, 0.8]},
        browser_parameters={"epochs": 1},
        figures=(
            Figure("max_train_mode_error", "NumPy vs Keras, training mode: largest gap"),
            Figure("max_inference_mode_error", "NumPy vs Keras, inference mode: largest gap"),
            Figure("best_without_bn", "small CNN, best rate: validation accuracy without BN"),
            Figure("best_with_bn", "small CNN, best rate: validation accuracy with BN"),
            Figure("batch_4_accuracy", "BN with batches of 4: validation accuracy"),
            Figure("batch_64_accuracy", "BN with batches of 64: validation accuracy"),
            Figure("batch_statistics_1_accuracy", "… same network, normalized with batches of 1: validation accuracy"),
        ),
    ),
    Notebook(
        "09_image_folder_loader.ipynb",
        "A dataset from a folder of class folders (pathlib, tf.data)",
        datasets=("cifar10-python",),
        tiny_parameters={"epochs": 8, "speed_images": 200},
        figures=(
            Figure("images", "training images found"),
            Figure("skipped", "files skipped"),
            Figure("test_accuracy", "test accuracy, small CNN", "— (the source does not run)"),
            Figure("train_seconds", "training time, s"),
        ),
    ),
    Notebook(
        "10_cifar10_speed_capstone.ipynb",
        "Capstone: CIFAR-10 as fast as a CPU allows (airbench's recipe in Keras)",
        datasets=("cifar10-python",),
        tiny_parameters={
            "validation_size": 100,
            "epochs": 10,
            "batch_size": 64,
            "widths": "16,32,32",
            "ablation_epochs": 3,
            "ablation_seeds": 2,
        },
        browser_parameters={"epochs": 2, "ablation_epochs": 1},
        figures=(
            Figure("epochs", "epochs (fixed)", "9.9"),
            Figure("test_accuracy", "test accuracy, one view"),
            Figure(
                "tta_test_accuracy", "test accuracy, test-time views chosen on validation", "94.01% (official files)"
            ),
            Figure("train_minutes", "training minutes", "3.83 s (A100)"),
        ),
    ),
)

NAMES = {nb.name: nb for nb in NOTEBOOKS}
