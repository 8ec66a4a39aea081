"""`course_lib.data.store`: where a dataset is found (the cache, an archive, a mirror's folder) or downloaded from,
what is verified and what is kept; driven through the loaders."""

from __future__ import annotations

import shutil

import pytest

from course_lib import data
from course_lib.data import fetch, store

# ---------------------------------------------------------------- downloads
# Each loader's download path against a loopback server: good file, checksum mismatch, cut connection.


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


def test_every_file_of_a_multi_file_download_is_marked_verified(data_dir, serve_as_official):
    """The marker folder exists after the first file: the others must still get their markers."""
    dataset = serve_as_official("mnist-idx", "good")
    data.load_mnist(fmt="idx", data_dir=data_dir)
    assert [fetch.is_marked(data_dir / dataset.subdir / r.filename, "checksum") for r in dataset.files] == [True] * 4


# ---------------------------------------------------------------- offline
# A copy already in the cache, an unpacked mirror folder, the mirror switch, the error text.


def test_nothing_available_names_file_places_url_and_fixes(data_dir, monkeypatch, offline):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DataNotFoundError) as err:
        data.load_cifar10(fmt="binary", data_dir=data_dir)
    text = str(err.value)
    assert "failed: downloads are off (COURSE_OFFLINE=1)" in text, "COURSE_OFFLINE, not the network, stopped it"
    assert "cifar-10-binary.tar.gz is not available" in text
    assert str(data_dir / "cifar-10-batches-bin") in text and str(data_dir / "cifar-10-binary.tar.gz") in text
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in text
    assert "COURSE_ACCEPT_MIRROR=1" in text and "data_source='tiny'" in text and "--tiny" in text
    assert list(data_dir.iterdir()) == []


def test_unreachable_network_gives_the_same_error(data_dir, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(data.DataNotFoundError, match="Name or service not known"):
        data.load_mnist(fmt="npz", data_dir=data_dir)
    assert list(data_dir.iterdir()) == []


def test_official_archive_in_cache_is_used(data_dir, tiny_files, serve_as_official, offline):
    serve_as_official("cifar10-binary")  # publishes the tiny archive's checksum
    shutil.copy(tiny_files / "cifar-10-binary.tar.gz", data_dir)
    (x, _), _ = data.load_cifar10(fmt="binary", data_dir=data_dir)
    assert x.shape[1:] == (32, 32, 3) and (data_dir / "cifar-10-batches-bin" / "data_batch_1.bin").is_file()


def test_repacked_archive_needs_the_mirror_switch(data_dir, tiny_files, offline, leftovers):
    shutil.copy(tiny_files / "cifar-10-python.tar.gz", data_dir)
    with pytest.raises(data.ChecksumMismatchError, match="COURSE_ACCEPT_MIRROR=1"):
        data.dataset_path("cifar10-python", data_dir=data_dir)
    assert (data_dir / "cifar-10-python.tar.gz").exists(), "a user's own file is never deleted"
    # Accepted by structure: the tiny copy has 500/200 examples, not 50,000/10,000, so it is refused.
    with pytest.raises(data.InvalidDataError, match="500 train / 200 test examples, expected 50000 / 10000"):
        data.dataset_path("cifar10-python", data_dir=data_dir, accept_mirror=True)
    assert not (data_dir / "cifar-10-batches-py").exists()
    assert leftovers(data_dir) == []


def test_mirror_switch_accepts_structurally_valid_copy(data_dir, tiny_files, serve_as_official, monkeypatch, offline):
    serve_as_official("mnist-npz", "mismatch")  # published checksum differs from the local copy
    shutil.copy(tiny_files / "mnist.npz", data_dir)
    with pytest.raises(data.ChecksumMismatchError):
        data.load_mnist(data_dir=data_dir)
    monkeypatch.setenv("COURSE_ACCEPT_MIRROR", "1")
    (x, _), _ = data.load_mnist(data_dir=data_dir)
    assert x.shape[1:] == (28, 28)


def test_unpacked_folder_from_a_mirror_is_used(data_dir, tiny_files, serve_as_official, offline):
    serve_as_official("cifar10-binary", "mismatch")
    data.load_cifar10("tiny", fmt="binary", data_dir=tiny_files)  # unpacks the tiny archive
    shutil.copytree(tiny_files / "tiny-v1" / "cifar-10-batches-bin", data_dir / "cifar-10-batches-bin")
    (_, y), (_, yt) = data.load_cifar10(fmt="binary", data_dir=data_dir)
    assert len(y) == 500 and len(yt) == 200


def test_truncated_mirror_folder_is_refused_with_the_file_named(data_dir, tiny_files, serve_as_official, offline):
    serve_as_official("cifar10-binary")
    data.load_cifar10("tiny", fmt="binary", data_dir=tiny_files)
    target = data_dir / "cifar-10-batches-bin"
    shutil.copytree(tiny_files / "tiny-v1" / "cifar-10-batches-bin", target)
    batch = target / "data_batch_3.bin"
    batch.write_bytes(batch.read_bytes()[:-100])
    with pytest.raises(data.InvalidDataError, match="data_batch_3.bin.*not a whole number of 3073-byte records"):
        data.load_cifar10(fmt="binary", data_dir=data_dir)


def test_corrupt_archive_with_mirror_switch_leaves_no_partial_folder(data_dir, tiny_files, offline, leftovers):
    archive = data_dir / "cifar-10-binary.tar.gz"
    archive.write_bytes((tiny_files / "cifar-10-binary.tar.gz").read_bytes()[:5000])
    with pytest.raises(data.InvalidDataError, match="truncated or corrupt"):
        data.load_cifar10(fmt="binary", data_dir=data_dir, accept_mirror=True)
    assert {p.name for p in data_dir.iterdir()} - {".verified"} == {"cifar-10-binary.tar.gz"}
    assert leftovers(data_dir) == []


def test_data_dir_comes_from_argument_then_environment_then_home(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.store.cache_dir() == tmp_path / "home" / ".course_data"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "from-env"))
    assert data.store.cache_dir() == tmp_path / "from-env"
    assert data.store.cache_dir(data_dir) == data_dir


def _flip_one_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize("fmt", ["binary", "python"])
def test_mirror_archive_with_one_flipped_byte_fails_its_own_gzip_check(
    fmt, data_dir, tiny_files, serve_as_official, offline, leftovers
):
    serve_as_official(f"cifar10-{fmt}", "mismatch")  # a re-packed copy: only its structure can be checked
    name = f"cifar-10-{fmt}.tar.gz"
    good = (tiny_files / name).read_bytes()
    archive = data_dir / name
    archive.write_bytes(_flip_one_byte(good, len(good) // 2))
    with pytest.raises(data.InvalidDataError) as err:
        data.load_cifar10(fmt=fmt, data_dir=data_dir, accept_mirror=True)
    assert str(err.value).startswith(f"{archive} is not a valid copy: the archive is truncated or corrupt")
    assert ".tmp" not in str(err.value), "the error names the user's file, never a temporary path"
    assert {p.name for p in data_dir.iterdir()} - {".verified"} == {name}, "nothing of it is kept"
    assert leftovers(data_dir) == []
    archive.write_bytes(good)  # a good copy: the next call succeeds
    (x, _), _ = data.load_cifar10(fmt=fmt, data_dir=data_dir, accept_mirror=True)
    assert x.shape == (500, 32, 32, 3)


def test_an_invalid_batch_inside_an_archive_is_reported_against_the_archive(data_dir, tiny_files, offline, leftovers):
    import tarfile

    data.load_cifar10("tiny", fmt="binary", data_dir=tiny_files)
    folder = tiny_files / "tiny-v1" / "cifar-10-batches-bin"
    archive = data_dir / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path.name != "test_batch.bin":
                tar.add(path, arcname=f"cifar-10-batches-bin/{path.name}")
    with pytest.raises(data.InvalidDataError) as err:
        data.load_cifar10(fmt="binary", data_dir=data_dir, accept_mirror=True)
    assert str(err.value).startswith(f"{archive} is not a valid copy: its cifar-10-batches-bin is not valid: missing")
    assert ".tmp" not in str(err.value)
    assert leftovers(data_dir) == []


def test_an_unpacked_folder_with_too_few_examples_is_refused(data_dir, tiny_files, offline):
    """An unpacked folder is used as it is: the loader itself checks the counts of the real set."""
    data.load_cifar10("tiny", fmt="binary", data_dir=tiny_files)
    folder = data_dir / "cifar-10-batches-bin"
    shutil.copytree(tiny_files / "tiny-v1" / "cifar-10-batches-bin", folder)
    with pytest.raises(data.InvalidDataError) as caught:
        data.load_cifar10(fmt="binary", data_dir=data_dir)
    assert caught.value.path == folder
    assert caught.value.problem == "holds 500 train / 200 test examples, expected 50000 / 10000"


def test_a_local_file_that_differs_is_refused_with_both_checksums_and_the_mirror_advice(
    data_dir, tiny_files, serve_as_official, offline
):
    remote = serve_as_official("mnist-npz", "mismatch").files[0]
    local = data_dir / remote.filename
    shutil.copy(tiny_files / remote.filename, local)
    with pytest.raises(data.ChecksumMismatchError) as caught:
        data.load_mnist(fmt="npz", data_dir=data_dir)
    assert (caught.value.path, caught.value.expected) == (local, remote.checksum)
    assert caught.value.actual == fetch.file_digest(local, remote.checksum)
    assert "COURSE_ACCEPT_MIRROR=1" in str(caught.value) and local.exists()


def test_a_copy_accepted_by_structure_is_remembered_as_such(data_dir, tiny_files, serve_as_official, offline):
    remote = serve_as_official("mnist-npz", "mismatch").files[0]
    local = data_dir / remote.filename
    shutil.copy(tiny_files / remote.filename, local)
    data.load_mnist(fmt="npz", data_dir=data_dir, accept_mirror=True)
    assert fetch.is_marked(local, "structure") and not fetch.is_marked(local, "checksum")


def test_download_false_is_honoured_without_the_offline_switch(data_dir, offline):
    with pytest.raises(data.DataNotFoundError, match="downloads are off"):
        data.store.ensure(data.catalog.DATASETS["mnist-npz"], data_dir, download=False)


@pytest.mark.parametrize(
    "value, on", [("1", True), ("true", True), ("Yes", True), (" ON ", True), ("", False), ("0", False), ("off", False)]
)
def test_switches_in_the_environment_read_like_words(monkeypatch, value, on):
    monkeypatch.setenv("COURSE_OFFLINE", value)
    assert store._env_flag("COURSE_OFFLINE") is on
