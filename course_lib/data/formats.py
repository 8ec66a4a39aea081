"""Readers for the file formats MNIST and CIFAR-10 are published in.

Every reader checks structure (sizes, dtypes, shapes, label range) and raises
`InvalidDataError` naming the file and the problem, so a truncated or foreign
file never turns into silently wrong arrays.
"""

from __future__ import annotations

import gzip
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from course_lib.data import layouts
from course_lib.data.errors import InvalidDataError

Split = tuple[np.ndarray, np.ndarray]


def check_labels(path: Path, labels: np.ndarray, n_images: int) -> None:
    """Raise unless `labels` has one integer in 0..9 per image."""
    if len(labels) != n_images:
        raise InvalidDataError(path, f"{n_images} images but {len(labels)} labels")
    if len(labels) == 0:
        raise InvalidDataError(path, "it holds no examples")
    if labels.min() < 0 or labels.max() >= layouts.NUM_CLASSES:
        raise InvalidDataError(path, f"labels must lie in 0..9, found {labels.min()}..{labels.max()}")


def read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the classic MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise InvalidDataError(path, f"cannot be decompressed ({e})") from None
    if len(raw) < 4 or raw[0:2] != b"\0\0" or raw[2] != 0x08:
        raise InvalidDataError(path, "no IDX uint8 header (magic 0x0000 08 ..)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise InvalidDataError(path, f"header says {dims} ({expected} bytes) but the file holds {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_mnist_idx(folder: Path) -> tuple[Split, Split]:
    """Read the four MNIST IDX files in `folder`."""
    arrays = {key: read_idx(folder / name) for key, name in layouts.MNIST_IDX_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise InvalidDataError(
                folder / layouts.MNIST_IDX_FILES[f"x_{split}"], f"images have shape {x.shape[1:]}, not 28x28"
            )
        check_labels(folder / layouts.MNIST_IDX_FILES[f"y_{split}"], y, len(x))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def read_mnist_npz(path: Path) -> tuple[Split, Split]:
    """Read Keras' `mnist.npz` (x_train, y_train, x_test, y_test; uint8)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise InvalidDataError(path, f"not a readable mnist.npz ({e})") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise InvalidDataError(path, f"x_{split} is {x.dtype} {x.shape}, expected uint8 (N, 28, 28)")
        check_labels(path, y, len(x))
    return (arrays["x_train"], arrays["y_train"].astype(np.uint8)), (
        arrays["x_test"],
        arrays["y_test"].astype(np.uint8),
    )


def read_cifar_records(path: Path) -> Split:
    """Read one CIFAR-10 binary batch: 3073-byte records, a label byte then 3072 channel-major pixels."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % layouts.CIFAR_RECORD_BYTES:
        raise InvalidDataError(
            path, f"{raw.size} bytes is not a whole number of {layouts.CIFAR_RECORD_BYTES}-byte records"
        )
    records = raw.reshape(-1, layouts.CIFAR_RECORD_BYTES)
    labels = records[:, 0]
    check_labels(path, labels, len(records))
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def read_cifar_binary(folder: Path) -> tuple[Split, Split]:
    """Read an unpacked `cifar-10-batches-bin/` folder into NHWC uint8 arrays."""
    files = layouts.CIFAR_BINARY_FILES
    require_files(folder, files.all)
    train = [read_cifar_records(folder / name) for name in files.train]
    test = read_cifar_records(folder / files.test)
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])), test


def read_cifar_pickle(path: Path) -> Split:
    """Read one CIFAR-10 python batch (a pickled dict with b'data' and b'labels')."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as e:
        raise InvalidDataError(path, f"not a readable CIFAR-10 python batch ({e})") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise InvalidDataError(path, f"data is {data.dtype} {data.shape}, expected uint8 (N, 3072)")
    check_labels(path, labels, len(data))
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.uint8)


def read_cifar_python(folder: Path) -> tuple[Split, Split]:
    """Read an unpacked `cifar-10-batches-py/` folder into NHWC uint8 arrays."""
    files = layouts.CIFAR_PYTHON_FILES
    require_files(folder, files.all)
    train = [read_cifar_pickle(folder / name) for name in files.train]
    test = read_cifar_pickle(folder / files.test)
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train])), test


def require_files(folder: Path, names: tuple[str, ...]) -> None:
    """Raise unless every file in `names` exists in `folder`."""
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise InvalidDataError(folder, f"missing {', '.join(missing)}")


def check_counts(path: Path, splits: tuple[Split, Split], expected: tuple[int, int] | None) -> None:
    """Raise unless the train/test example counts are the expected ones."""
    counts = (len(splits[0][1]), len(splits[1][1]))
    if expected is not None and counts != expected:
        raise InvalidDataError(
            path, f"holds {counts[0]} train / {counts[1]} test examples, expected {expected[0]} / {expected[1]}"
        )


def write_class_folders(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], target: Path) -> None:
    """Write uint8 images as `target/<class>/NNNNN.png`; `target` must not exist yet."""
    target.mkdir(parents=True)
    for name in class_names:
        (target / name).mkdir()
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(target / class_names[label] / f"{i:05d}.png")
