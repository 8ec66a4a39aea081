"""Write files and folders so that a reader never sees them half-written: a temporary name, then a rename."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def write_text(path: Path, text: str, newline: str | None = None) -> None:
    """Write `text` (UTF-8) to `path` through a temporary file beside it; nothing is left on failure.

    `newline` as for `open` (`""`: line endings written exactly as they are in `text`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, rows: Iterable[dict], columns: list[str]) -> None:
    """Write `rows` as CSV under a header of `columns`, through `write_text` (never half-written).

    Lines end in CRLF (RFC 4180), so a field holding a CR or LF is quoted and reads back whole.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue(), newline="")


@contextmanager
def new_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`, renamed to `target` when the block succeeds.

    On failure the temporary folder is removed. If another process created `target` first,
    its folder is kept and ours discarded.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield tmp
        tmp.chmod(0o755)
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
