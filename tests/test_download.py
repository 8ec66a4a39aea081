"""Each loader's download path against a loopback server: good file, checksum mismatch, cut connection."""

from __future__ import annotations

import pytest

from course_lib import data
from course_lib.data import fetch

LOADERS = {
    "mnist-npz": lambda d: data.load_mnist(fmt="npz", data_dir=d),
    "mnist-idx": lambda d: data.load_mnist(fmt="idx", data_dir=d),
    "cifar10-binary": lambda d: data.load_cifar10(fmt="binary", data_dir=d),
    "cifar10-python": lambda d: data.load_cifar10(fmt="python", data_dir=d),
}


@pytest.mark.parametrize("name", LOADERS)
def test_download_verifies_and_caches(name, data_dir, serve_as_official, server, leftovers):
    dataset = serve_as_official(name, "good")
    (x_train, y_train), (_, y_test) = LOADERS[name](data_dir)
    assert (len(y_train), len(y_test)) == dataset.counts
    assert x_train.dtype == "uint8" and int(y_train.max()) <= 9
    assert leftovers(data_dir) == []
    _, requests = server
    first = len(requests)
    assert first == len(dataset.files)
    LOADERS[name](data_dir)
    assert len(requests) == first, "a cached, verified file must not be downloaded again"


@pytest.mark.parametrize("name", LOADERS)
def test_checksum_mismatch_keeps_nothing(name, data_dir, serve_as_official, leftovers):
    dataset = serve_as_official(name, "mismatch")
    with pytest.raises(data.ChecksumMismatchError, match="expected sha256:0000") as err:
        LOADERS[name](data_dir)
    assert "deleted" in str(err.value)
    assert not (data_dir / dataset.subdir / dataset.files[0].filename).exists()
    assert leftovers(data_dir) == []


@pytest.mark.parametrize("name", LOADERS)
def test_cut_connection_keeps_nothing_and_next_call_recovers(name, data_dir, serve_as_official, leftovers):
    dataset = serve_as_official(name, "cut")
    with pytest.raises(data.DataNotFoundError, match="connection closed after") as err:
        LOADERS[name](data_dir)
    assert dataset.files[0].url in str(err.value)
    assert [p for p in data_dir.rglob("*") if p.is_file()] == []
    assert leftovers(data_dir) == []
    serve_as_official(name, "good")
    (_, y_train), _ = LOADERS[name](data_dir)
    assert len(y_train) == dataset.counts[0]


def test_interrupt_mid_download_keeps_nothing(data_dir, serve_as_official, monkeypatch, leftovers):
    serve_as_official("cifar10-binary", "good")

    def interrupted(remote, out):
        out.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(fetch, "_transfer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.load_cifar10(fmt="binary", data_dir=data_dir)
    assert list(data_dir.rglob("*")) == []


def test_verified_cache_is_not_rehashed(data_dir, serve_as_official, monkeypatch):
    serve_as_official("mnist-npz", "good")
    data.load_mnist(fmt="npz", data_dir=data_dir)
    calls = []
    monkeypatch.setattr(fetch, "file_digest", lambda *a: calls.append(a) or "never")
    data.load_mnist(fmt="npz", data_dir=data_dir)
    assert calls == []


def test_a_cached_file_that_changed_is_verified_again_and_refused(data_dir, serve_as_official):
    serve_as_official("mnist-npz", "good")
    data.load_mnist(fmt="npz", data_dir=data_dir)
    cached = data_dir / "mnist.npz"
    raw = bytearray(cached.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size; a new modification time
    cached.write_bytes(bytes(raw))
    with pytest.raises(data.ChecksumMismatchError, match="Checksum mismatch for"):
        data.load_mnist(fmt="npz", data_dir=data_dir)


def test_archive_is_extracted_once(data_dir, serve_as_official, monkeypatch):
    serve_as_official("cifar10-python", "good")
    data.load_cifar10(fmt="python", data_dir=data_dir)
    monkeypatch.setattr(fetch, "extract", lambda *a: pytest.fail("re-extracted a cached archive"))
    data.load_cifar10(fmt="python", data_dir=data_dir)
