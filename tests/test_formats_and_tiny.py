"""Readers refuse malformed files; the tiny data is deterministic and learnable."""

from __future__ import annotations

import gzip
import pickle
import tarfile

import numpy as np
import pytest

from course_lib.data import InvalidDataError, formats, tiny


def test_idx_round_trip_and_truncation(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(tiny.idx_bytes(images)))
    np.testing.assert_array_equal(formats.read_idx(path), images)
    path.write_bytes(gzip.compress(tiny.idx_bytes(images)[:-10]))
    with pytest.raises(InvalidDataError, match="header says"):
        formats.read_idx(path)
    path.write_bytes(b"not gzip")
    with pytest.raises(InvalidDataError, match="cannot be decompressed"):
        formats.read_idx(path)


def test_cifar_records_decode_channel_major_pixels(tmp_path):
    image = np.zeros((1, 32, 32, 3), np.uint8)
    image[0, 1, 2] = (10, 20, 30)  # row 1, column 2: red, green, blue
    path = tmp_path / "b.bin"
    path.write_bytes(tiny.cifar_binary_records(image, np.array([7], np.uint8)))
    x, y = formats.read_cifar_records(path)
    assert y.tolist() == [7] and x[0, 1, 2].tolist() == [10, 20, 30]
    raw = bytearray(path.read_bytes())
    raw[0] = 12
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidDataError, match="labels must lie in 0..9"):
        formats.read_cifar_records(path)


def test_cifar_pickle_with_wrong_shape_is_refused(tmp_path):
    import pickle

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}))
    with pytest.raises(InvalidDataError, match=r"expected uint8 \(N, 3072\)"):
        formats.read_cifar_pickle(path)


def test_tiny_data_is_deterministic():
    a = tiny.cifar_like(30, np.random.default_rng(0))
    b = tiny.cifar_like(30, np.random.default_rng(0))
    np.testing.assert_array_equal(a[0], b[0])


@pytest.mark.parametrize("make", [tiny.mnist_like, tiny.cifar_like])
def test_tiny_classes_are_learnable_by_nearest_class_mean(make):
    """A trivial classifier beats chance (10%) by far, so a trained model has something to learn."""
    x, y = make(600, np.random.default_rng(1))
    xt, yt = make(200, np.random.default_rng(2))
    flat, flat_t = x.reshape(len(x), -1).astype(float), xt.reshape(len(xt), -1).astype(float)
    means = np.stack([flat[y == k].mean(0) for k in range(10)])
    predicted = np.argmin(((flat_t[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (predicted == yt).mean() > 0.5


def test_tiny_files_are_the_same_bytes_whenever_they_are_written(tmp_path, tiny_files, monkeypatch):
    """Seeded, and archives without time stamps: the tiny set's checksums never change."""
    monkeypatch.setattr(gzip.time, "time", lambda: 2e9)  # what gzip would stamp into a header
    tiny.write_tiny(tmp_path)  # a second time: `tiny_files` was written earlier in the session
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert files and all((tmp_path / f).read_bytes() == (tiny_files / f).read_bytes() for f in files)
    assert all(gzip_file.read_bytes()[4:8] == bytes(4) for gzip_file in tmp_path.rglob("*.gz"))


def test_tiny_cifar_folders_hold_what_the_published_ones_hold(tmp_path, tiny_files):
    """The class-name file of the binary version, and the four keys of each python batch."""
    for archive in ("cifar-10-binary.tar.gz", "cifar-10-python.tar.gz"):
        with tarfile.open(tiny_files / archive) as tar:
            tar.extractall(tmp_path, filter="data")
    meta = tmp_path / "cifar-10-batches-bin" / "batches.meta.txt"
    assert meta.read_text().splitlines() == list(tiny.CIFAR_CLASSES)
    with (tmp_path / "cifar-10-batches-py" / "data_batch_1").open("rb") as f:
        batch = pickle.load(f, encoding="bytes")
    assert set(batch) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert batch[b"batch_label"] == b"data_batch_1" and batch[b"filenames"][0] == b"data_batch_1_0.png"
    with (tmp_path / "cifar-10-batches-py" / "batches.meta").open("rb") as f:
        meta = pickle.load(f, encoding="bytes")
    assert meta == {
        b"label_names": [c.encode() for c in tiny.CIFAR_CLASSES],
        b"num_cases_per_batch": tiny.CIFAR_BATCH,
        b"num_vis": 3072,
    }
    assert sorted(p.name for p in (tiny_files / "cifar10-images").iterdir()) == ["test", "train"]
