"""Where each dataset file is published, its published checksum, and how it is read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from course_lib.data import formats
from course_lib.data.layouts import CIFAR_BINARY_FILES, CIFAR_PYTHON_FILES, MNIST_IDX_FILES

TINY_MNIST_COUNTS = (1000, 200)
TINY_CIFAR_COUNTS = (500, 200)
"""(train, test) examples of the built-in tiny datasets."""


@dataclass(frozen=True)
class Remote:
    """One published file: its name in the cache, canonical URL, checksum (`algo:hex`) and size in bytes."""

    filename: str
    url: str
    checksum: str
    size: int


@dataclass(frozen=True)
class Dataset:
    """A dataset in one published format.

    `files` are downloaded into `subdir` of the cache. If `folder` is set, the single
    file is a tar archive that unpacks to that folder; otherwise `reader` reads the
    files where they lie (`reader` gets the file, or the folder for several files).
    `counts` and `tiny_counts` are the (train, test) examples of the real and the tiny set.
    """

    name: str
    files: tuple[Remote, ...]
    reader: Callable[[Path], tuple[formats.Split, formats.Split]]
    counts: tuple[int, int]
    tiny_counts: tuple[int, int]
    folder: str | None = None
    subdir: str = ""


_MNIST_IDX_BASE = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # the TF1 tutorial's source
_MNIST_IDX_MD5 = {
    "x_train": ("f68b3c2dcbeaaa9fbdd348bbdeb94873", 9912422),
    "y_train": ("d53e105ee54ea40749a09fcbcd1e9432", 28881),
    "x_test": ("9fb629c4189551a2d022fa330f9573f3", 1648877),
    "y_test": ("ec29112dd5afa0611ce80d1b7f02629c", 4542),
}

MNIST_NPZ = Dataset(
    name="mnist-npz",
    files=(
        Remote(
            "mnist.npz",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
            "sha256:731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
            11490434,
        ),
    ),
    reader=formats.read_mnist_npz,
    counts=(60000, 10000),
    tiny_counts=TINY_MNIST_COUNTS,
)

MNIST_IDX = Dataset(
    name="mnist-idx",
    files=tuple(
        Remote(name, _MNIST_IDX_BASE + name, f"md5:{_MNIST_IDX_MD5[key][0]}", _MNIST_IDX_MD5[key][1])
        for key, name in MNIST_IDX_FILES.items()
    ),
    reader=formats.read_mnist_idx,
    counts=(60000, 10000),
    tiny_counts=TINY_MNIST_COUNTS,
    subdir="mnist",
)

CIFAR10_BINARY = Dataset(
    name="cifar10-binary",
    files=(
        Remote(
            "cifar-10-binary.tar.gz",
            "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            "sha256:c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            170052171,
        ),
    ),
    reader=formats.read_cifar_binary,
    counts=(50000, 10000),
    tiny_counts=TINY_CIFAR_COUNTS,
    folder=CIFAR_BINARY_FILES.folder,
)

CIFAR10_PYTHON = Dataset(
    name="cifar10-python",
    files=(
        Remote(
            "cifar-10-python.tar.gz",
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "sha256:6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            170498071,
        ),
    ),
    reader=formats.read_cifar_python,
    counts=(50000, 10000),
    tiny_counts=TINY_CIFAR_COUNTS,
    folder=CIFAR_PYTHON_FILES.folder,
)

DATASETS = {d.name: d for d in (MNIST_NPZ, MNIST_IDX, CIFAR10_BINARY, CIFAR10_PYTHON)}
