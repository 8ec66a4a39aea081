"""`course_lib.data` itself: `load_mnist`, `load_cifar10`, the folder helpers and `status`; their formats, sources and
arguments."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from course_lib import data
from course_lib.data import catalog, layouts


def test_status_says_what_is_present_without_downloading(data_dir, tiny_files, offline):
    shutil.copy(tiny_files / "mnist.npz", data_dir)
    data.load_cifar10("tiny", fmt="binary", data_dir=tiny_files)
    shutil.copytree(tiny_files / "tiny-v1" / "cifar-10-batches-bin", data_dir / "cifar-10-batches-bin")
    status = data.status(data_dir)
    assert status["mnist-npz"] == f"present: {data_dir / 'mnist.npz'}"
    assert status["cifar10-binary"] == f"unpacked: {data_dir / 'cifar-10-batches-bin'}"
    assert status["cifar10-python"] == "missing: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert status["mnist-idx"].startswith("missing: https://storage.googleapis.com/cvdf-datasets/mnist/")
    assert status["mnist-idx"].endswith(" ...")
    assert sorted(p.name for p in data_dir.iterdir()) == ["cifar-10-batches-bin", "mnist.npz"], "nothing fetched"


def test_unknown_source_is_a_clear_error(data_dir):
    with pytest.raises(ValueError, match="data source must be one of"):
        data.load_mnist("imagenet", data_dir=data_dir)


def test_cifar10_image_folders_are_written_once_from_the_python_batches(
    data_dir, tiny_files, serve_as_official, offline, leftovers, monkeypatch
):
    serve_as_official("cifar10-python")
    shutil.copy(tiny_files / "cifar-10-python.tar.gz", data_dir)
    root = data.cifar10_image_folders(data_dir=data_dir)
    assert sorted(p.name for p in root.iterdir()) == ["test", "train"]
    assert len(list((root / "train").rglob("*.png"))) == 500 and len(list((root / "test").rglob("*.png"))) == 200
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(data.CIFAR_CLASSES)
    assert leftovers(data_dir) == []
    monkeypatch.setattr(
        "course_lib.data.write_class_folders", lambda *a, **k: pytest.fail("the image tree was written again")
    )
    assert data.cifar10_image_folders(data_dir=data_dir) == root


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


def test_cifar10_loads_a_default_format_and_names_unknown_ones(tmp_path):
    (x, _), _ = data.load_cifar10("tiny", data_dir=tmp_path)
    assert x.shape[1:] == (32, 32, 3)
    with pytest.raises(ValueError) as caught:
        data.load_cifar10("tiny", fmt="png", data_dir=tmp_path)
    assert str(caught.value) == "CIFAR-10 format must be 'python' or 'binary', got 'png'"


def test_an_unknown_mnist_format_is_named(tmp_path):
    with pytest.raises(ValueError) as caught:
        data.load_mnist("tiny", fmt="csv", data_dir=tmp_path)
    assert str(caught.value) == "MNIST format must be 'npz' or 'idx', got 'csv'"


def test_an_existing_image_tree_in_the_data_dir_is_used_as_it_is(data_dir, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    (data_dir / "cifar10-images" / "train" / "cat").mkdir(parents=True)
    assert data.cifar10_image_folders("real", data_dir) == data_dir / "cifar10-images"


def test_the_tiny_source_never_downloads_even_when_a_file_is_missing(data_dir, offline):
    data.load_mnist("tiny", fmt="npz", data_dir=data_dir)
    (data_dir / "tiny-v1" / "mnist.npz").unlink()
    with pytest.raises(data.DataNotFoundError, match="downloads are off"):
        data.load_mnist("tiny", fmt="npz", data_dir=data_dir)
