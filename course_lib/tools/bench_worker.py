"""The measuring process of `course bench`, one per setting and round (see `bench`).

Started with TensorFlow imported first, so that `TF_ENABLE_ONEDNN_OPTS` is what the setting says.
Reads its task from $COURSE_BENCH and prints one JSON line: every model's training and inference
images/s, the matmul ceiling and, in the first process of a round, FLOPs per image and the input
pipelines' images/s.
Models train on one fixed synthetic batch, so the figures measure the model, not the input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib import cifar_records, image_folders, models
from course_lib.data import formats


def capstone_network() -> keras.Model:
    """The capstone's airbench network, its whitening layer fitted to random images."""
    images = np.random.default_rng(0).random((64, 32, 32, 3), dtype=np.float32)
    return models.airbench_net(models.whitening_kernel(images))


@dataclasses.dataclass(frozen=True)
class Spec:
    """A course model, the input it takes, and the batch size its notebook trains with."""

    build: Callable[[], keras.Model]
    input_shape: tuple[int, ...]
    batch: int
    steps_per_execution: int = 1


MODELS = {
    "softmax regression (01)": Spec(models.softmax_regression, (784,), 100, steps_per_execution=50),
    "on-ramp CNN (03)": Spec(models.mnist_cnn, (28, 28, 1), 128),
    "LRN CNN (04)": Spec(models.cifar10_lrn_cnn, (24, 24, 3), 128),
    "published BN CNN (07)": Spec(models.published_bn_cnn, (32, 32, 3), 32),
    "modern BN CNN (07)": Spec(models.conv_bn_net, (32, 32, 3), 256),
    "folder CNN (09)": Spec(models.folder_cnn, (32, 32, 3), 64),
    "capstone network": Spec(capstone_network, (32, 32, 3), 1024),
}
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def flops_per_image(model: keras.Model, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """(forward, training) FLOPs for one image, counted by TensorFlow's profiler from the graphs.

    Training counts the forward pass in training mode, the loss and the gradients (not the update).
    """
    image = tf.TensorSpec((1, *input_shape), tf.float32)
    forward = tf.function(lambda x: model(x, training=False)).get_concrete_function(image)

    def gradients(x, y):
        with tf.GradientTape() as tape:
            loss = LOSS(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_variables)

    training = tf.function(gradients).get_concrete_function(image, tf.TensorSpec((1,), tf.int32))
    return _profiled_flops(forward.graph), _profiled_flops(training.graph)


def _profiled_flops(graph: tf.Graph) -> int:
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)


def _timed(action: Callable[[int], None], count: int) -> float:
    start = time.perf_counter()
    action(count)
    return time.perf_counter() - start


def _rate(action: Callable[[int], None], unit: int, seconds: float) -> float:
    """Units per second of `action(count)` after a warm-up, run long enough to last about `seconds`."""
    action(unit)
    probe = _timed(action, unit) / unit
    count = max(unit, unit * round(seconds / probe / unit))
    return count / _timed(action, count)


def train_images_per_second(model: keras.Model, spec: Spec, batch: int, seconds: float) -> float:
    """Training images/s of `model` (built from `spec`): `fit` on one fixed batch, plain SGD with momentum."""
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9), LOSS, steps_per_execution=spec.steps_per_execution)
    x = tf.random.uniform((batch, *spec.input_shape))
    y = tf.random.uniform((batch,), 0, 10, tf.int32)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    steps = _rate(lambda n: model.fit(data, steps_per_epoch=n, verbose=0), spec.steps_per_execution, seconds)
    return steps * batch


def infer_images_per_second(model: keras.Model, spec: Spec, batch: int, seconds: float) -> float:
    """Inference images/s: the model called in a `tf.function`, training=False."""
    x = tf.random.uniform((batch, *spec.input_shape))
    predict = tf.function(lambda images: model(images, training=False))

    def predict_batches(n: int) -> None:
        for _ in range(n):
            predict(x).numpy()

    return _rate(predict_batches, 1, seconds) * batch


def matmul_gflops(n: int, dtype: tf.DType, seconds: float) -> float:
    """GFLOP/s of an n x n matrix product: the machine's practical ceiling for dense layers and convolutions."""
    a = tf.random.normal((n, n), dtype=dtype)
    b = tf.random.normal((n, n), dtype=dtype)
    product = tf.function(lambda a, b: tf.matmul(a, b))

    def multiply(count: int) -> None:
        for _ in range(count):
            product(a, b).numpy()

    return _rate(multiply, 1, seconds) * 2 * n**3 / 1e9


def pipeline_images_per_second(count: int, seconds: float) -> dict[str, float]:
    """images/s of the three input pipelines on synthetic files: records and PNG class folders."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, count, dtype=np.uint8)
    pixels = rng.integers(0, 256, (count, 32 * 32 * 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        records = Path(tmp) / "data_batch_1.bin"
        records.write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
        queue = count / _timed(lambda n: cifar_records.queue_pipeline_records([str(records)], n), count)
        batches = iter(cifar_records.train_dataset([str(records)], 128, shuffle_seed=0))
        tf_data = 128 * _rate(lambda n: [next(batches) for _ in range(n)], 1, seconds)
        images = pixels.reshape(count, 3, 32, 32).transpose(0, 2, 3, 1)
        formats.write_class_folders(images, labels, [f"class{k}" for k in range(10)], Path(tmp) / "folders")
        paths = sorted((Path(tmp) / "folders").glob("*/*.png"))
        folder = image_folders.make_dataset(paths, [int(p.parent.name[5:]) for p in paths], 32, 64, cache=False)
        loaded = count / _timed(lambda n: [None for _ in folder], count)
    return {"queue pipeline (TF1)": queue, "tf.data records": tf_data, "folder loader": loaded}


def measure(task: dict) -> dict:
    """Every figure of one setting, as `bench.summarize` expects them."""
    quick, seconds = task["quick"], task["seconds"]
    keras.mixed_precision.set_global_policy(task["policy"])
    dtype = tf.bfloat16 if task["policy"] == "mixed_bfloat16" else tf.float32
    figures: dict = {"matmul_gflops": matmul_gflops(128 if quick else 2048, dtype, seconds), "models": {}}
    for name, spec in MODELS.items():
        batch = min(spec.batch, 8) if quick else spec.batch
        keras.backend.clear_session()
        model = spec.build()
        train = train_images_per_second(model, spec, batch, seconds)
        infer = infer_images_per_second(model, spec, 8 if quick else 500, seconds)
        figures["models"][name] = {"batch": spec.batch, "train": train, "infer": infer}
        if task["first"]:  # FLOPs are the same in every setting: counted once
            forward, training = flops_per_image(model, spec.input_shape)
            figures["models"][name] |= {"forward_flops": forward, "train_flops": training}
    if task["first"]:
        figures["pipelines"] = pipeline_images_per_second(64 if quick else 5000, seconds)
    return figures


def main() -> None:
    """Entry point of the measuring process: print the figures as one JSON line."""
    tf.get_logger().setLevel("ERROR")
    print(json.dumps(measure(json.loads(os.environ["COURSE_BENCH"]))))
