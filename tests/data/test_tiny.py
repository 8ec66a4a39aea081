"""`course_lib.data.tiny`: the tiny data is deterministic, learnable, and laid out as the published files are."""

from __future__ import annotations

import gzip
import pickle
import tarfile

import numpy as np
import pytest

from course_lib.data import tiny


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
