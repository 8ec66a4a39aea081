"""The data readers against bytes built by hand from the published format descriptions, not by the project's writer.

CIFAR-10 binary: one label byte, then 1024 red, 1024 green, 1024 blue bytes, each plane row by row.
CIFAR-10 python: a pickled dict, b"data" (N, 3072) uint8 in the same plane order, b"labels" a list.
IDX: 0x00 0x00, type 0x08 (uint8), the number of dimensions, each dimension as a big-endian int32, the data.
Every plane and every pixel differs, so a swapped channel, a transposed image or an off-by-one shows.
"""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

from course_lib import data
from course_lib.data import formats


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
