"""Key figures a notebook measured, saved as JSON for the tests and the results table."""

from __future__ import annotations

import json
import os
from pathlib import Path

from course_lib import atomic


def save_metrics(path: str | os.PathLike, metrics: dict) -> None:
    """Write `metrics` to `path` as JSON, atomically."""
    atomic.write_text(Path(path), json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def load_metrics(path: str | os.PathLike) -> dict:
    """Read a metrics file written by `save_metrics`."""
    return json.loads(Path(path).read_text())
