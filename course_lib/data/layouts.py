"""How the published dataset files are laid out: file names, record sizes, class names.

The readers (`formats`) and the catalog of downloads (`catalog`) both build on these; this module imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass

NUM_CLASSES = 10
CIFAR_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR_RECORD_BYTES = 1 + 32 * 32 * 3
"""A CIFAR-10 binary record: one label byte, then 3072 pixels, channel-major."""


@dataclass(frozen=True)
class BatchFiles:
    """The files of an unpacked CIFAR-10 folder: five training batches, one test batch, the class names."""

    folder: str
    train: tuple[str, ...]
    test: str
    meta: str

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.train, self.test, self.meta)


CIFAR_BINARY_FILES = BatchFiles(
    "cifar-10-batches-bin", tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin", "batches.meta.txt"
)
CIFAR_PYTHON_FILES = BatchFiles(
    "cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"
)
MNIST_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
