"""Find a dataset locally, or download it: the cache directory and its lookup order.

Lookup order for each dataset, in the cache directory:
1. an unpacked folder (`cifar-10-batches-bin/`, ...) or the plain files (`mnist.npz`, `mnist/*.gz`):
   used as they are, validated by structure when read;
2. the archive (`cifar-10-binary.tar.gz`, ...): checksum verified once, then unpacked;
3. otherwise downloaded from the canonical URL (unless COURSE_OFFLINE=1).
"""

from __future__ import annotations

import os
from pathlib import Path

from course_lib.data import fetch
from course_lib.data.catalog import Dataset, Remote
from course_lib.data.errors import ChecksumMismatchError, DataNotFoundError
from course_lib.data.formats import check_counts

ENV_DATA_DIR = "COURSE_DATA_DIR"
ENV_ACCEPT_MIRROR = "COURSE_ACCEPT_MIRROR"
ENV_OFFLINE = "COURSE_OFFLINE"
DEFAULT_DATA_DIR = Path("~/.course_data")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: `data_dir` if given, else $COURSE_DATA_DIR, else ~/.course_data."""
    chosen = data_dir or os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def ensure(
    dataset: Dataset,
    root: Path,
    accept_mirror: bool | None = None,
    download: bool | None = None,
    counts: tuple[int, int] | None = None,
) -> Path:
    """Return the path `dataset.reader` reads: a file, or a folder. Downloads what is missing.

    `accept_mirror` (default $COURSE_ACCEPT_MIRROR) accepts local files whose checksum
    differs from the published one after checking their structure; `download`
    (default: not $COURSE_OFFLINE) allows the network; `counts` overrides the
    expected (train, test) example counts.
    """
    accept_mirror = _env_flag(ENV_ACCEPT_MIRROR) if accept_mirror is None else accept_mirror
    download = not _env_flag(ENV_OFFLINE) if download is None else download
    counts = dataset.counts if counts is None else counts
    home = root / dataset.subdir

    def check(path: Path) -> None:
        check_counts(path, dataset.reader(path), counts)

    if dataset.folder:
        target = home / dataset.folder
        if not target.is_dir():
            archive = _obtain(dataset.files[0], home, accept_mirror, download, extra_places=[target])
            fetch.extract(archive, dataset.folder, check)
        return target
    for remote in dataset.files:
        _obtain(remote, home, accept_mirror, download)
    target = home / dataset.files[0].filename if len(dataset.files) == 1 else home
    if accept_mirror and not all(fetch.is_marked(home / r.filename) for r in dataset.files):
        check(target)
        for r in dataset.files:
            fetch.mark(home / r.filename, "structure")
    return target


def _obtain(
    remote: Remote, home: Path, accept_mirror: bool, download: bool, extra_places: list[Path] | None = None
) -> Path:
    """Return a verified local copy of `remote` in `home`, downloading it if allowed."""
    path = home / remote.filename
    if path.is_file():
        if fetch.verify(path, remote) or accept_mirror:
            return path
        raise ChecksumMismatchError(path, remote.checksum, fetch.file_digest(path, remote.checksum), downloaded=False)
    places = (extra_places or []) + [path]
    if not download:
        raise DataNotFoundError(remote.filename, places, remote.url, home, f"downloads are off ({ENV_OFFLINE}=1)")
    try:
        fetch.download(remote, path)
    except fetch.DownloadFailed as e:
        raise DataNotFoundError(remote.filename, places, remote.url, home, str(e)) from None
    return path
