"""`course_lib.data.formats`: the readers decode the published formats and refuse malformed files, naming the file
and the problem."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from course_lib import data
from course_lib.data import InvalidDataError, formats, layouts, tiny

# ---------------------------------------------------------------- round trips with the tiny set's writers


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


# ---------------------------------------------------------------- bytes built by hand
# From the published format descriptions, not by the project's writer.
# CIFAR-10 binary: one label byte, then 1024 red, 1024 green, 1024 blue bytes, each plane row by row.
# CIFAR-10 python: a pickled dict, b"data" (N, 3072) uint8 in the same plane order, b"labels" a list.
# IDX: 0x00 0x00, type 0x08 (uint8), the number of dimensions, each dimension as a big-endian int32, the data.
# Every plane and every pixel differs, so a swapped channel, a transposed image or an off-by-one shows.


def _planes(seed: int) -> np.ndarray:
    """(3, 32, 32) uint8 planes: red, green and blue each from its own range, all pixels distinct within a plane."""
    base = np.arange(1024).reshape(32, 32)
    return np.stack([(base * 7 + seed) % 80, 85 + (base * 11 + seed) % 80, 170 + (base * 13 + seed) % 80]).astype(
        np.uint8
    )


def test_binary_record_decodes_red_green_blue_planes_row_by_row(tmp_path):
    planes = [_planes(1), _planes(2)]
    path = tmp_path / "batch.bin"
    path.write_bytes(b"".join(bytes([label]) + p.tobytes() for label, p in zip((3, 9), planes)))
    images, labels = formats.read_cifar_records(path)
    assert labels.tolist() == [3, 9] and images.shape == (2, 32, 32, 3)
    red, green, blue = planes[1]
    assert images[1, 0, 1].tolist() == [red[0, 1], green[0, 1], blue[0, 1]]  # row 0, column 1
    assert images[1, 5, 0].tolist() == [red[5, 0], green[5, 0], blue[5, 0]]  # row 5, column 0
    np.testing.assert_array_equal(images[0], planes[0].transpose(1, 2, 0))


def test_python_batch_decodes_the_same_plane_order(tmp_path):
    planes = _planes(4)
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": planes.reshape(1, 3072), b"labels": [6]}, protocol=2))
    images, labels = formats.read_cifar_pickle(path)
    assert labels.tolist() == [6]
    np.testing.assert_array_equal(images[0], planes.transpose(1, 2, 0))
    assert images[0, 31, 30, 2] == planes[2, 31, 30]


def test_idx_header_and_pixels_by_hand(tmp_path):
    pixels = (np.arange(3 * 28 * 28) % 251).astype(np.uint8).reshape(3, 28, 28)
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + struct.pack(">III", 3, 28, 28) + pixels.tobytes()))
    decoded = formats.read_idx(path)
    np.testing.assert_array_equal(decoded, pixels)
    assert decoded[2, 0, 27] == pixels[2, 0, 27] and decoded[1, 27, 0] == pixels[1, 27, 0]
    labels = tmp_path / "labels.gz"
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 4) + bytes([7, 0, 9, 2])))
    assert formats.read_idx(labels).tolist() == [7, 0, 9, 2]


@pytest.mark.parametrize("header", [b"\x00\x00\x0d\x01", b"\x01\x00\x08\x01"], ids=["float type", "bad magic"])
def test_idx_with_another_type_or_magic_is_refused(tmp_path, header):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(header + struct.pack(">I", 2) + bytes([1, 2])))
    with pytest.raises(data.InvalidDataError, match="no IDX uint8 header"):
        formats.read_idx(path)


def test_binary_and_python_formats_of_the_tiny_cifar_load_identical_arrays(tmp_path):
    binary = data.load_cifar10("tiny", fmt="binary", data_dir=tmp_path)
    python = data.load_cifar10("tiny", fmt="python", data_dir=tmp_path)
    for (xb, yb), (xp, yp) in zip(binary, python):
        np.testing.assert_array_equal(xb, xp)
        np.testing.assert_array_equal(yb, yp)


def test_idx_and_npz_formats_of_the_tiny_mnist_load_identical_arrays(tmp_path):
    for (xi, yi), (xn, yn) in zip(data.load_mnist("tiny", fmt="idx", data_dir=tmp_path),
                                  data.load_mnist("tiny", fmt="npz", data_dir=tmp_path)):  # fmt: skip
        np.testing.assert_array_equal(xi, xn)
        np.testing.assert_array_equal(yi, yn)


# ---------------------------------------------------------------- found by mutation testing
# Details that mutation testing showed no test pinned down (CONTRIBUTING, "Mutation testing").


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


def test_a_folder_missing_files_names_them_all(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"")
    with pytest.raises(data.InvalidDataError) as caught:
        formats.require_files(tmp_path, ("a.bin", "b.bin", "c.bin"))
    assert (caught.value.path, caught.value.problem) == (tmp_path, "missing b.bin, c.bin")


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
