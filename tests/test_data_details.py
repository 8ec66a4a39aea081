"""Details of the data layer that mutation testing showed no test pinned down (see CONTRIBUTING, "Mutation testing").

Error messages word for word (they are the user interface when data is missing), the status lines,
the folder helpers, the IDX checks on malformed files, the download's timeout, and the NumPy
references on batches whose rows differ.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import pickle
import struct
import tarfile
import urllib.request
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from course_lib import batchnorm, data, softmax
from course_lib.data import catalog, errors, fetch, formats, layouts, store


def test_data_not_found_message_word_for_word(tmp_path):
    error = errors.DataNotFoundError(
        "mnist.npz", [tmp_path / "a", tmp_path / "b"], "https://example.org/mnist.npz", tmp_path, "offline"
    )
    assert str(error) == (
        "mnist.npz is not available.\n"
        f"Looked in:\n  - {tmp_path / 'a'}\n  - {tmp_path / 'b'}\n"
        "Download from https://example.org/mnist.npz failed: offline\n"
        "How to fix (any one of):\n"
        f"  1. Connect to the internet and run again: the file is downloaded and cached in {tmp_path}.\n"
        f"  2. Download https://example.org/mnist.npz on another machine and copy it to {tmp_path / 'mnist.npz'}.\n"
        "  3. Point COURSE_DATA_DIR (or the data_dir parameter) at a folder that already holds the file or\n"
        "     its unpacked folder (a lab mirror, a USB stick). If that copy was re-packed and its checksum\n"
        "     differs, also set COURSE_ACCEPT_MIRROR=1 (or accept_mirror=True).\n"
        "  4. Run on the built-in tiny data instead: data_source='tiny' in a notebook,\n"
        "     or `python run.py course --tiny` for the whole course."
    )


def test_checksum_mismatch_messages_word_for_word(tmp_path):
    path = tmp_path / "x.tar.gz"
    downloaded = errors.ChecksumMismatchError(path, "aa", "bb", downloaded=True)
    assert str(downloaded) == (
        f"Checksum mismatch for {path}:\n  expected aa\n  got      bb\n"
        "The download was corrupted or the server sent another file; it was deleted. Run again to retry."
    )
    local = errors.ChecksumMismatchError(path, "aa", "bb", downloaded=False)
    assert str(local) == (
        f"Checksum mismatch for {path}:\n  expected aa\n  got      bb\n"
        "If this is a re-packed copy from a mirror you trust, set COURSE_ACCEPT_MIRROR=1\n"
        "(or accept_mirror=True): it is then checked by structure instead of bytes.\n"
        f"Otherwise delete {path} and run again to download the official file."
    )


def test_invalid_data_message_word_for_word(tmp_path):
    assert str(errors.InvalidDataError(tmp_path / "f", "too short")) == (
        f"{tmp_path / 'f'} is not a valid copy: too short.\n"
        "Replace it with a complete copy, or delete it and run again to download the official file."
    )


def _idx(path: Path, shape: tuple[int, ...], payload: bytes | None = None) -> Path:
    header = bytes([0, 0, 8, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape)
    body = payload if payload is not None else bytes(int(np.prod(shape)))
    path.write_bytes(gzip.compress(header + body))
    return path


def test_idx_errors_name_the_file_and_the_problem(tmp_path):
    not_gzip = tmp_path / "plain.gz"
    not_gzip.write_bytes(b"not gzip at all")
    with pytest.raises(data.InvalidDataError, match="cannot be decompressed") as caught:
        formats.read_idx(not_gzip)
    assert caught.value.path == not_gzip
    bad_magic = tmp_path / "magic.gz"
    bad_magic.write_bytes(gzip.compress(b"\1\0\x08\x01" + bytes(8)))
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_idx(bad_magic)
    assert (caught.value.path, caught.value.problem) == (bad_magic, "no IDX uint8 header (magic 0x0000 08 ..)")
    short = _idx(tmp_path / "short.gz", (2, 3), payload=bytes(5))
    with pytest.raises(
        data.InvalidDataError, match=r"header says \(2, 3\) \(18 bytes\) but the file holds 17 bytes"
    ) as caught:
        formats.read_idx(short)
    assert caught.value.path == short


def test_an_idx_header_without_dimensions_is_a_scalar(tmp_path):
    """Four bytes are a whole header (magic, no dimensions): the file then holds one value."""
    scalar = tmp_path / "scalar.gz"
    scalar.write_bytes(gzip.compress(b"\0\0\x08\x00\x07"))
    assert formats.read_idx(scalar).tolist() == 7
    scalar.write_bytes(gzip.compress(b"\0\0\x08\x00"))
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_idx(scalar)
    assert caught.value.problem == "header says () (5 bytes) but the file holds 4 bytes"


def _mnist_npz(path: Path, x: np.ndarray) -> Path:
    y = np.arange(len(x)) % 10
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    return path


@pytest.mark.parametrize(
    "x", [np.zeros((20, 27, 27), np.uint8), np.zeros((20, 28, 28), np.float32)], ids=["27x27", "float"]
)
def test_mnist_npz_images_must_be_uint8_28_by_28(tmp_path, x):
    path = _mnist_npz(tmp_path / "mnist.npz", x)
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_mnist_npz(path)
    assert (caught.value.path, caught.value.problem) == (
        path,
        f"x_train is {x.dtype} {x.shape}, expected uint8 (N, 28, 28)",
    )


def test_mnist_npz_labels_come_back_as_uint8_and_bad_ones_name_the_file(tmp_path):
    path = _mnist_npz(tmp_path / "mnist.npz", np.zeros((20, 28, 28), np.uint8))  # int64 labels 0..9
    (_, y_train), (_, y_test) = formats.read_mnist_npz(path)
    assert y_train.dtype == y_test.dtype == np.uint8 and y_train.tolist() == list(range(10)) * 2
    np.savez(
        path,
        x_train=np.zeros((2, 28, 28), np.uint8),
        y_train=[0, 10],
        x_test=np.zeros((0, 28, 28), np.uint8),
        y_test=[],
    )
    with pytest.raises(data.InvalidDataError, match="labels must lie in 0..9") as caught:
        formats.read_mnist_npz(path)
    assert caught.value.path == path


def test_an_unreadable_mnist_npz_is_named_with_the_reason(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 but not a zip archive")
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_mnist_npz(path)
    assert caught.value.path == path and caught.value.problem.startswith("not a readable mnist.npz (")


class _Python2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 `str` (BINSTRING), as in the published CIFAR-10 python batches."""

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes) -> None:
        size = len(obj)
        opcode = pickle.SHORT_BINSTRING + bytes([size]) if size < 256 else pickle.BINSTRING + struct.pack("<i", size)
        self.write(opcode + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def test_a_python_2_pickle_like_the_published_batches_is_read(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (3, 3072), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    with path.open("wb") as f:
        _Python2Pickler(f, protocol=2).dump(
            {b"batch_label": b"training batch 1 of 5", b"labels": [3, 1, 9], b"data": images}
        )
    x, y = formats.read_cifar_pickle(path)
    np.testing.assert_array_equal(x, images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    assert y.tolist() == [3, 1, 9] and y.dtype == np.uint8


@pytest.mark.parametrize(
    "batch, problem",
    [
        (b"garbage", "not a readable CIFAR-10 python batch"),
        (
            {b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]},
            "data is float32 (2, 3072), expected uint8 (N, 3072)",
        ),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, "labels must lie in 0..9, found 0..10"),
    ],
    ids=["garbage", "float data", "bad labels"],
)
def test_a_bad_python_batch_is_named_with_the_problem(tmp_path, batch, problem):
    path = tmp_path / "data_batch_1"
    path.write_bytes(batch if isinstance(batch, bytes) else pickle.dumps(batch, protocol=2))
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_cifar_pickle(path)
    assert caught.value.path == path and caught.value.problem.startswith(problem)


class _RunsCode:
    """Unpickling this writes a file: what a malicious mnist.npz could do if pickles were allowed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.write_text, (self.marker, "code ran")


def test_an_mnist_npz_holding_pickled_objects_is_refused_without_running_them(tmp_path):
    marker = tmp_path / "ran.txt"
    path = _mnist_npz(tmp_path / "mnist.npz", np.array([_RunsCode(marker)] * 20, dtype=object))
    with pytest.raises(data.InvalidDataError, match="allow_pickle=False"):
        formats.read_mnist_npz(path)
    assert not marker.exists()


def test_idx_dimensions_are_read_big_endian_one_after_another(tmp_path):
    array = formats.read_idx(_idx(tmp_path / "a.gz", (3, 258, 2), payload=bytes(range(256)) * 6 + bytes(12)))
    assert array.shape == (3, 258, 2)


def _mnist_folder(folder: Path, side: int, labels: bytes = bytes(range(10)) * 2) -> Path:
    folder.mkdir()
    for split in ("train", "test"):
        _idx(folder / layouts.MNIST_IDX_FILES[f"x_{split}"], (20, side, side))
        _idx(folder / layouts.MNIST_IDX_FILES[f"y_{split}"], (20,), payload=labels)
    return folder


def test_mnist_idx_images_that_are_not_28_by_28_are_refused_naming_the_file(tmp_path):
    folder = _mnist_folder(tmp_path / "mnist", side=27)
    with pytest.raises(data.InvalidDataError, match=r"images have shape \(27, 27\), not 28x28") as caught:
        formats.read_mnist_idx(folder)
    assert caught.value.path == folder / layouts.MNIST_IDX_FILES["x_train"]


def test_mnist_idx_bad_labels_name_the_label_file(tmp_path):
    folder = _mnist_folder(tmp_path / "mnist", side=28, labels=bytes([12]) * 20)
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_mnist_idx(folder)
    assert caught.value.path == folder / layouts.MNIST_IDX_FILES["y_train"]


def test_status_of_a_multi_file_dataset_that_is_present(data_dir, tiny_files):
    data.load_mnist("tiny", fmt="idx", data_dir=tiny_files)
    (data_dir / "mnist").mkdir()
    for name in layouts.MNIST_IDX_FILES.values():
        (data_dir / "mnist" / name).write_bytes((tiny_files / "tiny-v1" / "mnist" / name).read_bytes())
    status = data.status(data_dir)
    first = catalog.DATASETS["mnist-idx"].files[0]
    assert status["mnist-idx"] == f"present: {data_dir / 'mnist' / first.filename} (+ others)"
    assert status["mnist-npz"] == f"missing: {catalog.DATASETS['mnist-npz'].files[0].url}"


def test_status_of_a_two_file_dataset(data_dir, monkeypatch):
    """The "(+ others)" and "..." marks start at two files (every real multi-file dataset has four)."""
    two = dataclasses.replace(catalog.DATASETS["mnist-idx"], files=catalog.DATASETS["mnist-idx"].files[:2])
    monkeypatch.setattr(catalog, "DATASETS", {"two": two})
    assert data.status(data_dir) == {"two": f"missing: {two.files[0].url} ..."}
    (data_dir / two.subdir).mkdir()
    for remote in two.files:
        (data_dir / two.subdir / remote.filename).write_bytes(b"")
    assert data.status(data_dir) == {"two": f"present: {data_dir / two.subdir / two.files[0].filename} (+ others)"}


def test_folder_helpers_return_the_tiny_folders(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    binary = data.cifar10_binary_dir("tiny", data_dir)
    assert binary == data_dir / "tiny-v1" / "cifar-10-batches-bin" and (binary / "data_batch_1.bin").is_file()
    images = data.cifar10_image_folders("tiny", data_dir)
    assert images == data_dir / "tiny-v1" / "cifar10-images" and (images / "train").is_dir()


MIRROR_CALLS = {
    "mnist-npz": lambda **kw: data.load_mnist(fmt="npz", **kw),
    "mnist-idx": lambda **kw: data.load_mnist(fmt="idx", **kw),
    "cifar10-binary": lambda **kw: data.load_cifar10(fmt="binary", **kw),
    "cifar10-python": lambda **kw: data.load_cifar10(fmt="python", **kw),
    "cifar10-binary folder": lambda **kw: data.cifar10_binary_dir(**kw),
    "cifar10-python image folders": lambda **kw: data.cifar10_image_folders(**kw),
}


@pytest.mark.parametrize("call", MIRROR_CALLS)
def test_loaders_pass_on_the_data_dir_and_the_mirror_switch(call, data_dir, tiny_files, serve_as_official, offline):
    """A re-packed copy (not the official bytes) in the data directory: refused unless accept_mirror."""
    dataset = serve_as_official(call.split()[0], "mismatch")
    (data_dir / dataset.subdir).mkdir(exist_ok=True)
    for remote in dataset.files:
        copy = tiny_files / dataset.subdir / remote.filename
        (data_dir / dataset.subdir / remote.filename).write_bytes(copy.read_bytes())
    with pytest.raises(data.ChecksumMismatchError):
        MIRROR_CALLS[call](data_dir=data_dir)
    result = MIRROR_CALLS[call](data_dir=data_dir, accept_mirror=True)
    if call.endswith("folder"):
        assert result == data_dir / "cifar-10-batches-bin"
    elif call.endswith("folders"):
        assert result == data_dir / "cifar10-images" and len(list(result.glob("train/*/*"))) == dataset.counts[0]
    else:
        assert len(result[0][1]) == dataset.counts[0]


@pytest.mark.parametrize(
    "value, on", [("1", True), ("true", True), ("Yes", True), (" ON ", True), ("", False), ("0", False), ("off", False)]
)
def test_switches_in_the_environment_read_like_words(monkeypatch, value, on):
    monkeypatch.setenv("COURSE_OFFLINE", value)
    assert store._env_flag("COURSE_OFFLINE") is on


def test_cifar10_loads_a_default_format_and_names_unknown_ones(tmp_path):
    (x, _), _ = data.load_cifar10("tiny", data_dir=tmp_path)
    assert x.shape[1:] == (32, 32, 3)
    with pytest.raises(ValueError) as caught:
        data.load_cifar10("tiny", fmt="png", data_dir=tmp_path)
    assert str(caught.value) == "CIFAR-10 format must be 'python' or 'binary', got 'png'"


def test_extract_unpacks_into_a_hidden_tmp_folder_beside_the_archive(tmp_path, tiny_files):
    """Beside it, so the final rename stays on one file system; hidden, so a half-unpacked folder is never used."""
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes((tiny_files / "cifar-10-binary.tar.gz").read_bytes())
    seen = []
    target = fetch.extract(archive, "cifar-10-batches-bin", lambda unpacked: seen.append(unpacked.parent))
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(".cifar-10-batches-bin.") and tmp.name.endswith(".tmp")
    assert target == tmp_path / "cifar-10-batches-bin" and not tmp.exists()


def test_extract_names_the_archive_and_what_inside_it_is_wrong(tmp_path, tiny_files):
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes((tiny_files / "cifar-10-binary.tar.gz").read_bytes())
    with pytest.raises(data.InvalidDataError) as caught:
        fetch.extract(archive, "cifar-10-batches-py", lambda unpacked: None)
    assert (caught.value.path, caught.value.problem) == (archive, "the archive holds no folder cifar-10-batches-py/")

    def refuse(path):
        raise data.InvalidDataError(path, "bad")

    for bad, named in [("data_batch_1.bin", "cifar-10-batches-bin/data_batch_1.bin"), ("/elsewhere/x.bin", "x.bin")]:
        with pytest.raises(data.InvalidDataError) as caught:
            fetch.extract(archive, "cifar-10-batches-bin", lambda unpacked, bad=bad: refuse(unpacked / bad))
        assert (caught.value.path, caught.value.problem) == (archive, f"its {named} is not valid: bad")


def test_a_folder_missing_files_names_them_all(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"")
    with pytest.raises(data.InvalidDataError) as caught:
        formats.require_files(tmp_path, ("a.bin", "b.bin", "c.bin"))
    assert (caught.value.path, caught.value.problem) == (tmp_path, "missing b.bin, c.bin")


def test_extract_refuses_a_member_that_would_land_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(data.InvalidDataError):
        fetch.extract(archive, "folder", lambda unpacked: None)
    assert not (tmp_path / "escaped.txt").exists()


def test_binary_batches_that_are_empty_or_hold_bad_labels_are_refused_by_name(tmp_path):
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(b"")
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_cifar_records(path)
    assert caught.value.problem == "0 bytes is not a whole number of 3073-byte records"
    path.write_bytes(bytes([10]) + bytes(3072))
    with pytest.raises(data.InvalidDataError) as caught:
        formats.read_cifar_records(path)
    assert caught.value.path == path and caught.value.problem == "labels must lie in 0..9, found 10..10"


def test_an_unknown_mnist_format_is_named(tmp_path):
    with pytest.raises(ValueError) as caught:
        data.load_mnist("tiny", fmt="csv", data_dir=tmp_path)
    assert str(caught.value) == "MNIST format must be 'npz' or 'idx', got 'csv'"


def test_an_existing_image_tree_in_the_data_dir_is_used_as_it_is(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    (data_dir / "cifar10-images" / "train" / "cat").mkdir(parents=True)
    assert data.cifar10_image_folders("real", data_dir) == data_dir / "cifar10-images"


def test_downloads_always_pass_a_timeout(monkeypatch, tmp_path):
    seen = {}

    def fake_urlopen(url, timeout=None):
        seen["timeout"] = timeout
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    remote = catalog.DATASETS["mnist-npz"].files[0]
    with pytest.raises(fetch.DownloadFailed), (tmp_path / "out").open("wb") as out:
        fetch._transfer(remote, out)
    assert seen["timeout"] == fetch.TIMEOUT_S and 0 < fetch.TIMEOUT_S < 600


ROWS = np.array([[1.0, 2.0, 3.0], [10.0, -5.0, 0.0]])  # rows with different maxima and sums


def test_softmax_references_work_row_by_row():
    for f in (softmax.softmax_naive, softmax.softmax):
        p = f(ROWS)
        assert p.shape == ROWS.shape
        np.testing.assert_allclose(p.sum(axis=1), [1.0, 1.0])
        np.testing.assert_allclose(p[1], np.exp(ROWS[1]) / np.exp(ROWS[1]).sum())
    np.testing.assert_allclose(softmax.logsumexp(ROWS), np.log(np.exp(ROWS).sum(axis=1)))
    np.testing.assert_allclose(
        softmax.sparse_cross_entropy(ROWS, np.array([2, 1])), -np.log(softmax.softmax(ROWS)[[0, 1], [2, 1]])
    )
    assert softmax.sparse_cross_entropy(ROWS[:1], np.array([0])).shape == (1,)


def test_logsumexp_shifts_each_row_by_its_own_maximum():
    """Shifting by the batch's maximum instead would underflow the small row to log(0)."""
    rows = np.array([[1000.0, 1000.0], [0.0, 0.0]])
    np.testing.assert_allclose(softmax.logsumexp(rows), [1000.0 + np.log(2.0), np.log(2.0)])
    assert softmax.logsumexp(np.zeros((1, 3))).shape == (1,)


def test_references_take_any_leading_axes():
    """Logits of shape (..., classes): a batch of sequences works like a flat batch of its rows."""
    z = np.arange(24.0).reshape(2, 4, 3) % 5
    labels = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    flat = softmax.sparse_cross_entropy(z.reshape(8, 3), labels.reshape(8))
    np.testing.assert_allclose(softmax.sparse_cross_entropy(z, labels), flat.reshape(2, 4))
    np.testing.assert_allclose(softmax.logsumexp(z), softmax.logsumexp(z.reshape(8, 3)).reshape(2, 4))


def test_batch_norm_default_momentum_and_variance_update():
    x = np.array([[1.0, 10.0], [3.0, 30.0]])  # mean (2, 20), variance (1, 100)
    state = batchnorm.BatchNormState(
        gamma=np.ones(2), beta=np.zeros(2), moving_mean=np.zeros(2), moving_variance=np.full(2, 4.0)
    )
    _, after = batchnorm.batch_norm_train(x, state)  # Keras' default momentum, 0.99
    np.testing.assert_allclose(after.moving_mean, [0.02, 0.2])
    np.testing.assert_allclose(after.moving_variance, [0.99 * 4 + 0.01 * 1, 0.99 * 4 + 0.01 * 100])


@pytest.mark.parametrize("shape", [(2**24 + 1,), (1, 2**24 + 1)])
def test_idx_dimensions_use_all_four_bytes(tmp_path, shape):
    """A dimension of 2**24 + 1 needs its top byte: a header read one byte short would accept 1 byte of data."""
    with pytest.raises(data.InvalidDataError, match="header says"):
        formats.read_idx(_idx(tmp_path / "big.gz", shape, payload=bytes(1)))


def test_label_checks_name_the_file_and_the_problem(tmp_path):
    for labels, n_images, problem in [([1, 2], 3, "3 images but 2 labels"), ([], 0, "it holds no examples")]:
        with pytest.raises(data.InvalidDataError) as caught:
            formats.check_labels(tmp_path / "labels", np.array(labels, np.uint8), n_images)
        assert (caught.value.path, caught.value.problem) == (tmp_path / "labels", problem)


def test_the_tiny_source_never_downloads_even_when_a_file_is_missing(data_dir, offline):
    data.load_mnist("tiny", fmt="npz", data_dir=data_dir)
    (data_dir / "tiny-v1" / "mnist.npz").unlink()
    with pytest.raises(data.DataNotFoundError, match="downloads are off"):
        data.load_mnist("tiny", fmt="npz", data_dir=data_dir)
