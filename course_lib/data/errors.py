"""The errors the data layer raises: each says what is wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path


class DataError(RuntimeError):
    """Base class for every data-layer error."""


class DataNotFoundError(DataError):
    """No usable copy of a dataset file exists locally and it could not be downloaded."""

    def __init__(self, filename: str, looked_in: list[Path], url: str, cache_dir: Path, reason: str):
        self.filename, self.looked_in, self.url = filename, looked_in, url
        places = "\n".join(f"  - {p}" for p in looked_in)
        super().__init__(
            f"{filename} is not available.\n"
            f"Looked in:\n{places}\n"
            f"Download from {url} failed: {reason}\n"
            "How to fix (any one of):\n"
            f"  1. Connect to the internet and run again: the file is downloaded and cached in {cache_dir}.\n"
            f"  2. Download {url} on another machine and copy it to {cache_dir / filename}.\n"
            "  3. Point COURSE_DATA_DIR (or the data_dir parameter) at a folder that already holds the file or\n"
            "     its unpacked folder (a lab mirror, a USB stick). If that copy was re-packed and its checksum\n"
            "     differs, also set COURSE_ACCEPT_MIRROR=1 (or accept_mirror=True).\n"
            "  4. Run on the built-in tiny data instead: data_source='tiny' in a notebook,\n"
            "     or `python run.py course --tiny` for the whole course."
        )


class ChecksumMismatchError(DataError):
    """A file's checksum differs from the published one."""

    def __init__(self, path: Path, expected: str, actual: str, downloaded: bool):
        self.path, self.expected, self.actual = path, expected, actual
        if downloaded:
            advice = "The download was corrupted or the server sent another file; it was deleted. Run again to retry."
        else:
            advice = (
                "If this is a re-packed copy from a mirror you trust, set COURSE_ACCEPT_MIRROR=1\n"
                "(or accept_mirror=True): it is then checked by structure instead of bytes.\n"
                f"Otherwise delete {path} and run again to download the official file."
            )
        super().__init__(f"Checksum mismatch for {path}:\n  expected {expected}\n  got      {actual}\n{advice}")


class InvalidDataError(DataError):
    """A file or folder does not have the structure of the dataset it claims to be."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = path, problem
        super().__init__(
            f"{path} is not a valid copy: {problem}.\n"
            "Replace it with a complete copy, or delete it and run again to download the official file."
        )
