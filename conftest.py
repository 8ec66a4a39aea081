"""pytest for the whole course: plain `pytest` here runs exactly what `python run.py test` runs.

- Policy: tests never touch the user's data or the network (`COURSE_OFFLINE=1`, a private
  `COURSE_DATA_DIR` under `build/`), whoever starts pytest.
- Notebooks: each course notebook in `notebooks/` is collected as a copy parameterized for the tiny
  data (`build/nbval/NAME.ipynb`) and executed once, cell by cell, by nbval in lax mode: cells marked
  `# NBVAL_CHECK_OUTPUT` must reproduce their committed output. The copies write their key figures
  to `build/nbval/metrics/`, where `tests/test_notebook_figures.py` checks them; notebook items run
  first so those checks read this session's run.
- Markers: `notebooks` (the runs above and their figure checks), `browser` (JupyterLab in Chromium).
  `pytest -m "not notebooks and not browser"` runs the fast unit tests alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

from course_lib.metrics import load_metrics
from course_lib.tools.course_map import NAMES
from course_lib.tools.notebooks import prepare_tiny_copy

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
NBVAL_COPIES = ROOT / "build" / "nbval"

pytest_plugins = ["course_lib.tools.nbval_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ["COURSE_DATA_DIR"] = str(ROOT / "build" / "test-data")
    os.environ.pop("COURSE_ACCEPT_MIRROR", None)
    config.addinivalue_line("markers", "notebooks: executes the course notebooks on the tiny data, or checks that run")
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium")


class CourseNotebook(IPyNbFile):
    """A course notebook's tiny-data copy, checked by nbval in lax mode."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False

    def collect(self):
        for item in super().collect():
            item.add_marker(pytest.mark.notebooks)
            yield item


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    opt = parent.config.option
    if file_path.parent != NOTEBOOKS or file_path.name not in NAMES or opt.nbval or opt.nbval_lax:
        return None
    copy = prepare_tiny_copy(NAMES[file_path.name], NOTEBOOKS, NBVAL_COPIES)
    return CourseNotebook.from_parent(parent, path=copy)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Notebook cells first (in course order), so the figure checks read this session's metrics."""
    items.sort(key=lambda item: not isinstance(item, IPyNbCell))


@pytest.fixture
def notebook_metrics():
    """The key figures the tiny run of a notebook wrote in this session: `notebook_metrics(stem)`."""

    def read(stem: str) -> dict:
        path = NBVAL_COPIES / "metrics" / f"{stem}.json"
        if not path.is_file():
            pytest.fail(
                f"{stem} wrote no metrics in this session: run `pytest notebooks tests/test_notebook_figures.py`"
            )
        return load_metrics(path)

    return read
