"""Download, verify and unpack dataset files without ever leaving a partial file behind."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from tqdm import tqdm

from course_lib import atomic
from course_lib.data.catalog import Remote
from course_lib.data.errors import ChecksumMismatchError, InvalidDataError

CHUNK = 1 << 20
TIMEOUT_S = 30


class DownloadFailed(Exception):
    """The network transfer failed; the message says how."""


def file_digest(path: Path, checksum: str) -> str:
    """Return `algo:hex` of `path`, with the algorithm named in `checksum`."""
    algo = checksum.split(":", 1)[0]
    with open(path, "rb") as f:
        return f"{algo}:{hashlib.file_digest(f, algo).hexdigest()}"


def _marker(path: Path) -> Path:
    return path.parent / ".verified" / (path.name + ".json")


def _stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_marked(path: Path, how: str | None = None) -> bool:
    """True if `path` was verified before (by `how`, if given) and has not changed since."""
    try:
        record = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return record.get("stamp") == _stamp(path) and how in (None, record.get("how"))


def mark(path: Path, how: str) -> None:
    """Record that `path` was verified (`how`: 'checksum' or 'structure'); skipped on read-only media."""
    marker = _marker(path)
    try:
        marker.parent.mkdir(exist_ok=True)
        atomic.write_text(marker, json.dumps({"stamp": _stamp(path), "how": how}))
    except OSError:
        pass


def download(remote: Remote, dest: Path) -> None:
    """Download `remote` to `dest` with a progress bar, verifying its checksum.

    The bytes go to a temporary file beside `dest`, renamed only once complete and
    verified; on any failure (network, interrupt, mismatch) the temporary file is removed.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _transfer(remote, out)
        actual = file_digest(tmp, remote.checksum)
        if actual != remote.checksum:
            raise ChecksumMismatchError(dest, remote.checksum, actual, downloaded=True)
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    mark(dest, "checksum")


def _transfer(remote: Remote, out) -> None:
    try:
        with urllib.request.urlopen(remote.url, timeout=TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or remote.size)
            done = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename) as bar:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    done += len(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DownloadFailed(str(getattr(e, "reason", e))) from None
    except http.client.HTTPException as e:  # IncompleteRead and friends
        raise DownloadFailed(f"{type(e).__name__}: {e}") from None
    if done != total:
        raise DownloadFailed(f"connection closed after {done:,} of {total:,} bytes")


def verify(path: Path, remote: Remote) -> bool:
    """True if `path` matches the published checksum (cached after the first check)."""
    if is_marked(path, "checksum"):
        return True
    if file_digest(path, remote.checksum) == remote.checksum:
        mark(path, "checksum")
        return True
    return False


def extract(archive: Path, folder: str, check) -> Path:
    """Unpack `archive` and move its `folder` beside it, atomically; `check(path)` validates it first.

    Unpacks into a temporary folder first, so an interrupted or failed extraction
    leaves no partial folder behind. The whole compressed stream is read, so its own
    integrity checks (gzip's CRC-32 and length) run even where the tar ends early.
    Errors name `archive`, never the temporary folder.
    """
    target = archive.parent / folder
    tmp = Path(tempfile.mkdtemp(dir=archive.parent, prefix=f".{folder}.", suffix=".tmp"))
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
                while tar.fileobj.read(CHUNK):  # to the end: gzip checks its CRC and length there
                    pass
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            raise InvalidDataError(archive, f"the archive is truncated or corrupt ({e})") from None
        unpacked = tmp / folder
        if not unpacked.is_dir():
            raise InvalidDataError(archive, f"the archive holds no folder {folder}/")
        try:
            check(unpacked)
        except InvalidDataError as e:
            inside = Path(e.path).relative_to(tmp) if Path(e.path).is_relative_to(tmp) else Path(e.path).name
            raise InvalidDataError(archive, f"its {inside} is not valid: {e.problem}") from None
        os.replace(unpacked, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
