"""Shared fixtures: an empty data directory (the data layer's own fixtures: data/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """An empty data directory; the environment cannot redirect the loaders elsewhere."""
    for name in ("COURSE_DATA_DIR", "COURSE_ACCEPT_MIRROR", "COURSE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
