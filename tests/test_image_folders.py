"""The class-folder loader on messy real-world folders: one test per case."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from course_lib.image_folders import decode_image, make_dataset, scan_image_folder, stratified_split


def _image(size=(12, 9), colour=(200, 30, 60)) -> Image.Image:
    return Image.new("RGB", size, colour)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "photos"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    _image().save(root / "cat" / "a.jpg")
    _image(colour=(10, 200, 10)).save(root / "dog" / "a.png")
    return root


def test_formats_jpeg_png_bmp_gif_are_read(tree):
    for fmt in ("bmp", "gif"):
        _image().save(tree / "cat" / f"b.{fmt}")
    scan = scan_image_folder(tree)
    assert sorted(p.suffix for p in scan.paths) == [".bmp", ".gif", ".jpg", ".png"]
    assert scan.skipped == []


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "I;16"])
def test_every_colour_mode_becomes_rgb(tree, mode):
    image = _image().convert(mode) if mode != "I;16" else Image.fromarray(np.full((9, 12), 40000, np.uint16))
    path = tree / "cat" / ("odd.jpg" if mode == "CMYK" else "odd.png")
    image.save(path)
    scan = scan_image_folder(tree)
    assert path in scan.paths
    images = np.concatenate([x.numpy() for x, _ in make_dataset(scan.paths, scan.labels, 8, 4)])
    assert images.shape == (3, 8, 8, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_cmyk_jpeg_colours_are_converted_not_garbled(tmp_path):
    root = tmp_path / "r"
    (root / "red").mkdir(parents=True)
    _image(colour=(220, 20, 20)).convert("CMYK").save(root / "red" / "x.jpg")
    scan = scan_image_folder(root)
    (image,), _ = next(iter(make_dataset(scan.paths, scan.labels, 4, 1)))
    r, g, b = image.numpy().mean(axis=(0, 1))
    assert r > 0.7 and g < 0.25 and b < 0.25


def test_non_images_and_corrupt_files_are_reported_and_skipped(tree):
    (tree / "cat" / "notes.txt").write_text("not an image")
    noisy = tree / "dog" / "noisy.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(noisy)
    (tree / "dog" / "cut.png").write_bytes(noisy.read_bytes()[:6000])
    (tree / "dog" / "fake.jpg").write_bytes(b"\xff\xd8\xff garbage")
    scan = scan_image_folder(tree)
    skipped = {p.name: reason for p, reason in scan.skipped}
    assert set(skipped) == {"notes.txt", "cut.png", "fake.jpg"}
    assert skipped["notes.txt"] == "not an image file"
    assert "cut.png" in scan.report() and "skipped 3 file(s)" in scan.report()
    batches = list(make_dataset(scan.paths, scan.labels, 8, 2))  # a whole epoch: no crash
    assert sum(len(y) for _, y in batches) == 3


def test_other_image_formats_are_reported(tree):
    _image().save(tree / "cat" / "x.tiff")
    scan = scan_image_folder(tree)
    assert [(p.name, r.split(" (")[0]) for p, r in scan.skipped] == [("x.tiff", "unsupported format TIFF")]


def test_hidden_files_and_folders_are_ignored(tree):
    (tree / ".ipynb_checkpoints").mkdir()
    _image().save(tree / ".ipynb_checkpoints" / "a.jpg")
    (tree / "cat" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tree / "cat" / ".cache").mkdir()
    _image().save(tree / "cat" / ".cache" / "thumb.jpg")
    scan = scan_image_folder(tree)
    assert scan.class_names == ["cat", "dog"]
    assert [p.name for p in scan.paths] == ["a.jpg", "a.png"] and scan.skipped == []


def test_empty_class_folders_are_reported(tree):
    (tree / "bird").mkdir()
    (tree / "fish").mkdir()
    (tree / "fish" / "readme.txt").write_text("todo")
    scan = scan_image_folder(tree)
    assert scan.class_names == ["bird", "cat", "dog", "fish"]
    assert scan.empty_classes == ["bird", "fish"]
    assert "empty class folders (no usable image): bird, fish" in scan.report()


def test_images_of_different_sizes_are_resized(tree):
    _image(size=(300, 40)).save(tree / "cat" / "wide.png")
    _image(size=(5, 7)).save(tree / "cat" / "small.png")
    scan = scan_image_folder(tree)
    shapes = {tuple(x.shape) for x, _ in make_dataset(scan.paths, scan.labels, 16, 1)}
    assert shapes == {(1, 16, 16, 3)}


def test_class_order_is_deterministic_and_sorted(tmp_path):
    root = tmp_path / "r"
    for name in ("zebra", "Ant", "mouse", "10", "9"):
        (root / name).mkdir(parents=True)
        _image().save(root / name / "x.png")
    scan = scan_image_folder(root)
    assert scan.class_names == sorted(["zebra", "Ant", "mouse", "10", "9"])
    assert scan.labels == list(range(5))


def test_split_is_stratified_seeded_and_disjoint():
    labels = np.repeat([0, 1, 2], [100, 40, 10])
    train, val = stratified_split(labels, 0.2, seed=3)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(labels)
    assert np.bincount(labels[val]).tolist() == [20, 8, 2]
    again = stratified_split(labels, 0.2, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert not np.array_equal(val, stratified_split(labels, 0.2, seed=4)[1])


def test_bad_input_gets_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        scan_image_folder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    _image().save(tmp_path / "flat" / "a.png")
    with pytest.raises(ValueError, match="no class folders"):
        scan_image_folder(tmp_path / "flat")
    (tmp_path / "flat" / "cat").mkdir()
    with pytest.raises(ValueError, match="no usable image"):
        scan_image_folder(tmp_path / "flat")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stratified_split([0, 1], 1.0, seed=0)


def test_class_order_is_keras_own_for_mixed_case_digits_and_accents(tmp_path):
    keras = pytest.importorskip("keras")
    names = ["zebra", "Ant", "mouse", "10", "9", "Zebra", "éclair", "_misc", "ant"]
    for name in names:
        (tmp_path / name).mkdir()
        _image().save(tmp_path / name / "x.png")
    ours = scan_image_folder(tmp_path).class_names
    theirs = keras.utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), verbose=False).class_names
    assert ours == theirs


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "GIF"])
def test_every_supported_format_cut_short_is_refused(tmp_path, fmt):
    root = tmp_path / "r"
    (root / "a").mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    whole = root / "a" / f"whole.{fmt.lower()}"
    Image.fromarray(noise).save(whole, format=fmt)
    (root / "a" / f"cut.{fmt.lower()}").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    scan = scan_image_folder(root)
    assert [p.name for p in scan.paths] == [whole.name]
    assert [p.name for p, _ in scan.skipped] == [f"cut.{fmt.lower()}"]


def test_the_report_names_ten_skipped_files_then_counts_the_rest(tree):
    for k in range(12):
        (tree / "cat" / f"note{k:02d}.txt").write_text("not an image")
    lines = scan_image_folder(tree).report().split("\n")
    assert lines[0] == f"2 images in 2 classes under {tree}"
    assert lines[1] == "skipped 12 file(s):" and lines[2] == "  cat/note00.txt: not an image file"
    assert len(lines) == 13 and lines[-1] == "  ... and 2 more"
    for k in (10, 11):
        (tree / "cat" / f"note{k:02d}.txt").unlink()
    assert not scan_image_folder(tree).report().endswith("more"), "exactly ten skipped: all named, nothing more"


def test_another_format_is_named_with_the_ones_to_use(tree):
    _image().save(tree / "cat" / "scan.tiff")
    skipped = dict(scan_image_folder(tree).skipped)
    assert skipped[tree / "cat" / "scan.tiff"] == "unsupported format TIFF (use JPEG, PNG, BMP, GIF)"


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.5, -0.1])
def test_a_validation_fraction_outside_0_1_is_refused(fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        stratified_split([0, 1, 0, 1], fraction, seed=0)


def test_an_animated_gif_gives_its_first_frame_scaled_to_0_1(tmp_path):
    frames = [_image((4, 4), (255, 0, 0)), _image((4, 4), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    image = decode_image(str(tmp_path / "a.gif"), 4).numpy()
    assert image.shape == (4, 4, 3), "one frame, not a stack of them"
    np.testing.assert_allclose(image[0, 0], [1.0, 0.0, 0.0], atol=1e-6)  # 255 -> exactly 1


def test_make_dataset_reshuffles_with_its_seed_caches_and_keeps_int32_labels(tmp_path):
    paths = []
    for k in range(30):
        paths.append(tmp_path / f"{k:02d}.png")
        _image((3, 3), (k, 0, 0)).save(paths[-1])

    def reds(ds):
        return [round(float(x[0, 0, 0]) * 255) for batch, _ in ds for x in batch]

    ds = make_dataset(paths, list(range(30)), 3, batch_size=30, shuffle_seed=5)
    assert ds.element_spec[1].dtype.name == "int32" and ds.element_spec[0].shape.as_list() == [None, 3, 3, 3]
    first = reds(ds)
    assert sorted(first) == list(range(30)) and first != list(range(30)), "every image once, shuffled"
    assert reds(make_dataset(paths, list(range(30)), 3, batch_size=30, shuffle_seed=5)) == first, "by its seed"
    plain = make_dataset(paths, list(range(30)), 3, batch_size=7, parallel=False, cache=False, prefetch=False)
    assert reds(plain) == list(range(30)), "without the speed features: the same images, in order"
    for path in paths:
        path.unlink()  # cached: later epochs read no file
    second = reds(ds)
    assert sorted(second) == list(range(30)) and second != first, "reshuffled each epoch, from the cache"
    _image((3, 3)).save(paths[0])
    assert reds(make_dataset(paths[:1], [0], 3, batch_size=1)) == [200], "in order without a seed"
