"""Key figures a notebook measured, saved as JSON for the tests and the results table."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def save_metrics(path: str | os.PathLike, metrics: dict) -> None:
    """Write `metrics` to `path` as JSON, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(metrics, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_metrics(path: str | os.PathLike) -> dict:
    """Read a metrics file written by `save_metrics`."""
    return json.loads(Path(path).read_text())
