"""A dataset from a directory of class folders: scan with pathlib, split, then decode with tf.data.

    root/
      cat/  0001.jpg  0002.png ...
      dog/  ...

Class names are the sorted names of the non-hidden sub-folders; their index is the label.
The scan opens every file with Pillow and keeps JPEG, PNG, BMP and GIF images that decode
completely; anything else (not an image, truncated, another format) is reported by path and
skipped, so a bad file never crashes training mid-epoch. Hidden files and folders
(`.DS_Store`, `.ipynb_checkpoints`) are ignored; empty class folders are reported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "BMP", "GIF")


@dataclass
class FolderScan:
    """What a scan of a class-folder tree found."""

    root: Path
    class_names: list[str]
    paths: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)

    def class_counts(self) -> dict[str, int]:
        """Number of usable images per class, in label order."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return dict(zip(self.class_names, counts.tolist()))

    def report(self, limit: int = 10) -> str:
        """A short human-readable summary, naming skipped files and empty classes."""
        lines = [f"{len(self.paths)} images in {len(self.class_names)} classes under {self.root}"]
        if self.empty_classes:
            lines.append(f"empty class folders (no usable image): {', '.join(self.empty_classes)}")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s):")
            lines += [f"  {path.relative_to(self.root)}: {reason}" for path, reason in self.skipped[:limit]]
            if len(self.skipped) > limit:
                lines.append(f"  ... and {len(self.skipped) - limit} more")
        return "\n".join(lines)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def check_image(path: Path) -> str | None:
    """None if `path` is a complete JPEG/PNG/BMP/GIF image, else the reason it is not usable."""
    try:
        with Image.open(path) as image:
            if image.format not in FORMATS:
                return f"unsupported format {image.format} (use {', '.join(FORMATS)})"
            image.load()
    except UnidentifiedImageError:
        return "not an image file"
    except (OSError, SyntaxError, ValueError) as e:
        return f"corrupt or truncated image ({e})"
    return None


def scan_image_folder(root: str | os.PathLike, workers: int = 8) -> FolderScan:
    """Find the classes and usable images under `root` (see the module docstring)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder. Pass the folder that holds one sub-folder per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p.name))
    if not class_dirs:
        raise ValueError(f"{root} has no class folders. Put each class's images in a sub-folder named after it.")
    scan = FolderScan(root, [d.name for d in class_dirs])
    candidates = [
        (path, label)
        for label, folder in enumerate(class_dirs)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(_hidden(part) for part in path.relative_to(folder).parts)
    ]
    with ThreadPoolExecutor(workers) as pool:
        problems = list(pool.map(lambda c: check_image(c[0]), candidates))
    for (path, label), problem in zip(candidates, problems):
        if problem:
            scan.skipped.append((path, problem))
        else:
            scan.paths.append(path)
            scan.labels.append(label)
    scan.empty_classes = [name for name, n in scan.class_counts().items() if n == 0]
    if not scan.paths:
        raise ValueError(f"no usable image under {root}.\n{scan.report()}")
    return scan


def stratified_split(labels: Sequence[int], validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation): each class split in the same proportion, shuffled with `seed`."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {validation_fraction}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    train, validation = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_val = round(len(members) * validation_fraction)
        validation.append(members[:n_val])
        train.append(members[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(validation))


def decode_image(path, image_size: int):
    """Read one file and return a float32 (image_size, image_size, 3) tensor in [0, 1]."""
    import tensorflow as tf

    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    image = tf.image.resize(image, [image_size, image_size])
    return image / 255.0


def make_dataset(
    paths: Sequence[Path],
    labels: Sequence[int],
    image_size: int,
    batch_size: int,
    shuffle_seed: int | None = None,
    parallel: bool = True,
    cache: bool = True,
    prefetch: bool = True,
):
    """A batched `tf.data.Dataset` of (image, label) from file paths; each speed feature can be switched off.

    Reshuffled every epoch with `shuffle_seed` if given (training), in order otherwise.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels, np.int32)))
    decode = lambda p, y: (decode_image(p, image_size), y)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) if parallel else ds.map(decode)
    if cache:
        ds = ds.cache()
    if shuffle_seed is not None:
        ds = ds.shuffle(len(paths), seed=shuffle_seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds
