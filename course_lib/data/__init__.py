"""Load MNIST and CIFAR-10 in their published formats, from the cache, a mirror, the network or the tiny set.

`source="real"` finds the real files (see `course_lib.data.store` for the lookup order);
`source="tiny"` uses small generated files in the same formats, for offline runs and tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from course_lib import atomic
from course_lib.data import catalog, store, tiny
from course_lib.data.errors import ChecksumMismatchError, DataError, DataNotFoundError, InvalidDataError
from course_lib.data.formats import Split, check_counts, write_class_folders
from course_lib.data.layouts import CIFAR_CLASSES

SOURCES = ("real", "tiny")
PathLike = str | os.PathLike | None

__all__ = [
    "CIFAR_CLASSES", "SOURCES", "ChecksumMismatchError", "DataError", "DataNotFoundError", "InvalidDataError",
    "cifar10_binary_dir", "cifar10_image_folders", "dataset_path", "load_cifar10", "load_mnist", "status",
]  # fmt: skip


def dataset_path(name: str, source: str = "real", data_dir: PathLike = None, accept_mirror: bool | None = None) -> Path:
    """Return the local file or folder holding dataset `name` (see `catalog.DATASETS`), fetching it if needed."""
    dataset = catalog.DATASETS[name]
    root = store.cache_dir(data_dir)
    if source == "real":
        return store.ensure(dataset, root, accept_mirror=accept_mirror)
    if source == "tiny":
        return store.ensure(
            dataset, tiny.ensure_tiny(root), accept_mirror=True, download=False, counts=dataset.tiny_counts
        )
    raise ValueError(f"data source must be one of {SOURCES}, got {source!r}")


def _load(name: str, source: str, data_dir: PathLike, accept_mirror: bool | None) -> tuple[Split, Split]:
    dataset = catalog.DATASETS[name]
    path = dataset_path(name, source, data_dir, accept_mirror)
    splits = dataset.reader(path)
    check_counts(path, splits, dataset.counts if source == "real" else dataset.tiny_counts)
    return splits


def load_mnist(
    source: str = "real", fmt: str = "npz", data_dir: PathLike = None, accept_mirror: bool | None = None
) -> tuple[Split, Split]:
    """MNIST as `((x_train, y_train), (x_test, y_test))`, uint8, images (N, 28, 28).

    `fmt` is 'npz' (Keras' mnist.npz) or 'idx' (the four classic IDX .gz files).
    """
    if fmt not in ("npz", "idx"):
        raise ValueError(f"MNIST format must be 'npz' or 'idx', got {fmt!r}")
    return _load(f"mnist-{fmt}", source, data_dir, accept_mirror)


def load_cifar10(
    source: str = "real", fmt: str = "python", data_dir: PathLike = None, accept_mirror: bool | None = None
) -> tuple[Split, Split]:
    """CIFAR-10 as `((x_train, y_train), (x_test, y_test))`, uint8, images NHWC (N, 32, 32, 3).

    `fmt` is 'python' (pickled batches) or 'binary' (3073-byte records).
    """
    if fmt not in ("python", "binary"):
        raise ValueError(f"CIFAR-10 format must be 'python' or 'binary', got {fmt!r}")
    return _load(f"cifar10-{fmt}", source, data_dir, accept_mirror)


def cifar10_binary_dir(source: str = "real", data_dir: PathLike = None, accept_mirror: bool | None = None) -> Path:
    """The `cifar-10-batches-bin/` folder, for record-by-record input pipelines."""
    return dataset_path("cifar10-binary", source, data_dir, accept_mirror)


def cifar10_image_folders(source: str = "real", data_dir: PathLike = None, accept_mirror: bool | None = None) -> Path:
    """A folder with `train/<class>/*` and `test/<class>/*` CIFAR-10 image files.

    Uses `<data dir>/cifar10-images/` if it exists (a mirror's JPEG tree, say); otherwise writes
    it as PNG files from the CIFAR-10 python batches (once; ~1 minute for the real data).
    """
    root = store.cache_dir(data_dir)
    if source == "tiny":
        return tiny.ensure_tiny(root) / "cifar10-images"
    target = root / "cifar10-images"
    if not target.is_dir():
        (x_train, y_train), (x_test, y_test) = load_cifar10(source, "python", data_dir, accept_mirror)
        with atomic.new_folder(target) as tmp:
            write_class_folders(x_train, y_train, CIFAR_CLASSES, tmp / "train")
            write_class_folders(x_test, y_test, CIFAR_CLASSES, tmp / "test")
    return target


def status(data_dir: PathLike = None) -> dict[str, str]:
    """Which real datasets are present in the data directory, without downloading anything."""
    root = store.cache_dir(data_dir)
    result = {}
    for name, d in catalog.DATASETS.items():
        home = root / d.subdir
        if d.folder and (home / d.folder).is_dir():
            result[name] = f"unpacked: {home / d.folder}"
        elif all((home / r.filename).is_file() for r in d.files):
            result[name] = f"present: {home / d.files[0].filename}" + (" (+ others)" if len(d.files) > 1 else "")
        else:
            result[name] = f"missing: {d.files[0].url}" + (" ..." if len(d.files) > 1 else "")
    return result
