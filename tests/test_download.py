"""Each loader's download path against a loopback server: good file, checksum mismatch, cut connection."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request

import pytest
import tqdm

from course_lib import data
from course_lib.data import catalog, fetch

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


def test_download_writes_a_hidden_part_file_beside_its_destination(data_dir, serve_as_official, monkeypatch):
    """Beside it, so the final rename stays on one file system; hidden and `.part`, so no reader takes it."""
    remote = serve_as_official("mnist-npz", "good").files[0]
    dest = data_dir / "new" / "deeper" / remote.filename  # folders that do not exist yet
    during = []
    transfer = fetch._transfer
    monkeypatch.setattr(fetch, "_transfer", lambda r, out: during.extend(dest.parent.iterdir()) or transfer(r, out))
    fetch.download(remote, dest)
    (part,) = during
    assert part.name.startswith(f".{remote.filename}.") and part.name.endswith(".part")
    assert sorted(p.name for p in dest.parent.iterdir()) == [".verified", remote.filename]  # the .part is gone
    assert dest.stat().st_mode & 0o777 == 0o644


def test_download_shows_a_progress_bar_with_the_file_name_and_size(data_dir, serve_as_official, tiny_files, capsys):
    dataset = serve_as_official("mnist-npz", "good")
    remote = dataset.files[0]
    size = tqdm.tqdm.format_sizeof((tiny_files / dataset.subdir / remote.filename).stat().st_size)
    assert not size.isdigit(), "the tiny file must be large enough for a scaled size (k, M)"
    fetch.download(remote, data_dir / remote.filename)
    bar = capsys.readouterr().err
    assert f"{remote.filename}: 100%" in bar and f"{size}/{size}" in bar and "B/s]" in bar


def test_a_corrupted_download_names_its_destination_and_both_checksums(data_dir, serve_as_official, tiny_files):
    dataset = serve_as_official("mnist-npz", "mismatch")
    remote, dest = dataset.files[0], data_dir / dataset.files[0].filename
    with pytest.raises(data.ChecksumMismatchError) as caught:
        fetch.download(remote, dest)
    served = tiny_files / dataset.subdir / remote.filename
    assert (caught.value.path, caught.value.expected) == (dest, remote.checksum)
    assert caught.value.actual == "sha256:" + hashlib.sha256(served.read_bytes()).hexdigest()


def test_an_interrupt_just_after_the_rename_stays_an_interrupt(data_dir, serve_as_official, monkeypatch):
    """Ctrl-C between the rename and the end of `download`: the clean-up must not mask it (the .part is gone)."""
    remote = serve_as_official("mnist-npz", "good").files[0]
    replace = os.replace

    def replace_then_interrupt(src, dst):
        replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch.download(remote, data_dir / remote.filename)


@pytest.mark.parametrize(
    "error, message",
    [
        (urllib.error.URLError("no route to host"), "no route to host"),
        (OSError("disk full"), "disk full"),
        (http.client.IncompleteRead(b"abc", 7), "IncompleteRead: IncompleteRead(3 bytes read, 7 more expected)"),
    ],
)
def test_a_failed_transfer_says_what_went_wrong(monkeypatch, tmp_path, error, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(fetch.DownloadFailed) as caught, (tmp_path / "out").open("wb") as out:
        fetch._transfer(catalog.DATASETS["mnist-npz"].files[0], out)
    assert str(caught.value) == message


def test_every_file_of_a_multi_file_download_is_marked_verified(data_dir, serve_as_official):
    """The marker folder exists after the first file: the others must still get their markers."""
    dataset = serve_as_official("mnist-idx", "good")
    data.load_mnist(fmt="idx", data_dir=data_dir)
    assert [fetch.is_marked(data_dir / dataset.subdir / r.filename, "checksum") for r in dataset.files] == [True] * 4
