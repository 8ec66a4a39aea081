"""The built-in tiny datasets: small, learnable, written in the real file formats.

Each class has its own shape and colour (CIFAR-like) or stroke pattern (MNIST-like),
drawn with random position, size and noise, so a model must learn something to
score above chance. Generated once, deterministically, into `<data dir>/tiny-v1/`.
"""

from __future__ import annotations

import gzip
import io
import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np

from course_lib import atomic
from course_lib.data.catalog import TINY_CIFAR_COUNTS, TINY_MNIST_COUNTS
from course_lib.data.formats import write_class_folders
from course_lib.data.layouts import (
    CIFAR_BINARY_FILES,
    CIFAR_CLASSES,
    CIFAR_PYTHON_FILES,
    CIFAR_RECORD_BYTES,
    MNIST_IDX_FILES,
)

VERSION = "tiny-v1"
CIFAR_BATCH = TINY_CIFAR_COUNTS[0] // len(CIFAR_PYTHON_FILES.train)
SEED = 20261123


def ensure_tiny(root: Path) -> Path:
    """Return `<root>/tiny-v1`, generating it (atomically) on first use."""
    target = root / VERSION
    if not target.is_dir():
        with atomic.new_folder(target) as tmp:
            write_tiny(tmp)
    return target


def write_tiny(folder: Path) -> None:
    """Write every tiny dataset file into `folder`."""
    rng = np.random.default_rng(SEED)
    mnist = [mnist_like(n, rng) for n in TINY_MNIST_COUNTS]
    cifar = [cifar_like(n, rng) for n in TINY_CIFAR_COUNTS]
    write_mnist(folder, *mnist)
    write_cifar_binary(folder, *cifar)
    write_cifar_python(folder, *cifar)
    write_image_folders(folder / "cifar10-images", *cifar)


def _strokes(rng: np.random.Generator) -> list[np.ndarray]:  # pragma: no mutate block
    """One fixed set of 2-3 line segments per class, in a 20x20 box."""
    return [rng.uniform(4, 24, size=(rng.integers(2, 4), 4)) for _ in range(10)]


def mnist_like(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # pragma: no mutate block
    """`n` 28x28 uint8 'digits': class-specific strokes, shifted, thickened and noisy."""
    strokes = _strokes(np.random.default_rng(SEED))
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.empty((n, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        shift = rng.uniform(-2, 2, size=2)
        width = rng.uniform(1.0, 2.0)
        canvas = np.zeros((28, 28), np.float32)
        for x0, y0, x1, y1 in strokes[label]:
            canvas = np.maximum(
                canvas, _segment(xx, yy, x0 + shift[0], y0 + shift[1], x1 + shift[0], y1 + shift[1], width)
            )
        canvas += rng.normal(0, 0.08, canvas.shape)
        images[i] = np.clip(canvas * 255, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def _segment(xx, yy, x0, y0, x1, y1, width) -> np.ndarray:  # pragma: no mutate block
    d = np.array([x1 - x0, y1 - y0])
    t = np.clip(((xx - x0) * d[0] + (yy - y0) * d[1]) / max(d @ d, 1e-6), 0, 1)
    dist = np.hypot(xx - (x0 + t * d[0]), yy - (y0 + t * d[1]))
    return np.clip(width + 0.5 - dist, 0, 1)


_HUES = np.array(
    [[230, 60, 50], [50, 200, 70], [60, 90, 230], [230, 200, 40], [200, 60, 200],
     [40, 200, 210], [240, 140, 40], [140, 80, 40], [240, 240, 240], [90, 90, 90]], np.float32
)  # fmt: skip


def _shape_mask(label: int, xx, yy, cx, cy, r) -> np.ndarray:  # pragma: no mutate block
    dx, dy = xx - cx, yy - cy
    masks = [
        dx**2 + dy**2 < r**2,  # disk
        (abs(dx) < r) & (abs(dy) < r),  # square
        (dy > -r) & (abs(dx) < (dy + r) / 2),  # triangle
        (abs(dy) < r) & (abs(dx) < r) & ((yy // 3) % 2 == 0),  # horizontal stripes
        (abs(dy) < r) & (abs(dx) < r) & ((xx // 3) % 2 == 0),  # vertical stripes
        ((abs(dx) < r / 3) | (abs(dy) < r / 3)) & (abs(dx) < r) & (abs(dy) < r),  # cross
        abs(np.hypot(dx, dy) - r * 0.8) < r / 4,  # ring
        (abs(dx - dy) < r / 3) & (abs(dx) < r),  # diagonal bar
        (abs(dy) < r) & (abs(dx) < r) & (((xx // 4) + (yy // 4)) % 2 == 0),  # checker
        (dx**2 + (dy - r / 2) ** 2 < (r / 2.5) ** 2) | (dx**2 + (dy + r / 2) ** 2 < (r / 2.5) ** 2),  # two dots
    ]
    return masks[label]


def cifar_like(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # pragma: no mutate block
    """`n` 32x32x3 uint8 images: a class-specific shape in a class-specific colour on a random background."""
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.empty((n, 32, 32, 3), np.uint8)
    for i, label in enumerate(labels):
        cx, cy = rng.uniform(11, 21, size=2)
        r = rng.uniform(7, 11)
        background = rng.uniform(0, 255, size=3) * 0.5
        img = np.broadcast_to(background, (32, 32, 3)).copy()
        colour = np.clip(_HUES[label] + rng.normal(0, 20, 3), 0, 255)
        img[_shape_mask(label, xx, yy, cx, cy, r)] = colour
        img += rng.normal(0, 20, img.shape)
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def _gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x0000 08 ndim, big-endian dims)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder: Path, train, test) -> None:
    """Write `mnist.npz` and the four gzipped IDX files under `mnist/`."""
    (xtr, ytr), (xte, yte) = train, test
    np.savez_compressed(folder / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    (folder / "mnist").mkdir()
    arrays = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    for key, name in MNIST_IDX_FILES.items():
        (folder / "mnist" / name).write_bytes(_gzip_bytes(idx_bytes(arrays[key])))


def _chw(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 3, 1, 2).reshape(len(x), -1)


def _batches(files, train, test):
    """(file name, images, labels) of each batch file in `files`, the test batch last."""
    (xtr, ytr), (xte, yte) = train, test
    for i, name in enumerate(files.train):
        sl = slice(i * CIFAR_BATCH, (i + 1) * CIFAR_BATCH)
        yield name, xtr[sl], ytr[sl]
    yield files.test, xte, yte


def cifar_binary_records(x: np.ndarray, y: np.ndarray) -> bytes:
    """Encode images and labels as CIFAR-10 binary records (label byte + 3072 channel-major pixels)."""
    records = np.concatenate([y[:, None].astype(np.uint8), _chw(x)], axis=1)
    assert records.shape[1] == CIFAR_RECORD_BYTES
    return records.tobytes()


def _tar(folder: Path, name: str, archive: Path) -> None:
    """Pack `folder/name` into `archive` without time stamps or owners: its bytes depend on the data alone."""

    def plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        return info

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(folder / name, arcname=name, filter=plain)
    archive.write_bytes(_gzip_bytes(buf.getvalue()))
    shutil.rmtree(folder / name)


def write_cifar_binary(folder: Path, train, test) -> None:
    """Write `cifar-10-binary.tar.gz` holding `cifar-10-batches-bin/`."""
    out = folder / CIFAR_BINARY_FILES.folder
    out.mkdir()
    for name, x, y in _batches(CIFAR_BINARY_FILES, train, test):
        (out / name).write_bytes(cifar_binary_records(x, y))
    (out / CIFAR_BINARY_FILES.meta).write_text("\n".join(CIFAR_CLASSES) + "\n")
    _tar(folder, out.name, folder / "cifar-10-binary.tar.gz")


def write_cifar_python(folder: Path, train, test) -> None:
    """Write `cifar-10-python.tar.gz` holding the pickled batches of `cifar-10-batches-py/`."""
    out = folder / CIFAR_PYTHON_FILES.folder
    out.mkdir()
    for name, x, y in _batches(CIFAR_PYTHON_FILES, train, test):
        batch = {b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": _chw(x),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(len(y))]}  # fmt: skip
        with open(out / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    meta = {b"label_names": [c.encode() for c in CIFAR_CLASSES], b"num_cases_per_batch": CIFAR_BATCH, b"num_vis": 3072}
    with open(out / CIFAR_PYTHON_FILES.meta, "wb") as f:
        pickle.dump(meta, f, protocol=2)
    _tar(folder, out.name, folder / "cifar-10-python.tar.gz")


def write_image_folders(folder: Path, train, test) -> None:
    """Write `train/<class>/NNNNN.png` and `test/<class>/NNNNN.png`."""
    for split, (x, y) in (("train", train), ("test", test)):
        write_class_folders(x, y, CIFAR_CLASSES, folder / split)
