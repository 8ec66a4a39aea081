"""What the tools' tests share: a fake two-notebook course (its notebooks: `tools.fake_notebooks`)."""

from __future__ import annotations

import json

import pytest

from course_lib.tools import runner
from tools.fake_notebooks import BAD, GOOD, write_notebook


@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """A two-notebook course in `tmp_path/notebooks`: one writes its figure, one raises."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(
        folder / GOOD.name, "from course_lib.metrics import save_metrics\nsave_metrics(metrics_path, {'answer': 42})"
    )
    write_notebook(folder / BAD.name, "raise RuntimeError('broken on purpose')")
    (tmp_path / "results" / "metrics").mkdir(parents=True)
    (tmp_path / "results" / "metrics" / "status.json").write_text(json.dumps({"00_good": "ok, 600 s"}))
    monkeypatch.setattr(runner, "NOTEBOOKS", (GOOD, BAD))
    return folder
