"""pytest for the whole course: plain `pytest` here runs exactly what `python run.py test` runs.

- Policy: tests never touch the user's data or the network (`COURSE_OFFLINE=1`, a private
  `COURSE_DATA_DIR` under `build/`), whoever starts pytest.
- Notebooks: each course notebook in `notebooks/` is executed once, cell by cell, by nbval in lax
  mode, from a copy parameterized for the tiny data (`build/nbval/NAME.ipynb`): cells marked
  `# NBVAL_CHECK_OUTPUT` must reproduce their committed output. The last item of each notebook,
  `key figures`, checks the metrics that very run wrote (`tests/notebook_figures.py`). After each
  exercise's check cell, probe cells show that plausible wrong solutions fail it (`tests/wrong_solutions.py`).
- Markers: `notebooks` (the runs above), `browser` (JupyterLab in Chromium).
  `pytest -m "not notebooks and not browser"` runs the fast unit tests alone.
- Two pytest-xdist workers, one file per unit of work (`-n 2 --dist loadfile --no-loadscope-reorder`), so
  a notebook's cells stay in order in one kernel.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import notebook_figures  # tests/ is on pytest's pythonpath (pyproject.toml)
import pytest
import wrong_solutions
from _pytest.compat import legacy_path
from nbval.plugin import IPyNbFile

from course_lib.metrics import load_metrics
from course_lib.tools.course_map import BY_FILENAME
from course_lib.tools.notebooks import prepare_tiny_copy

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
NBVAL_COPIES = ROOT / "build" / "nbval"

pytest_plugins = ["course_lib.tools.nbval_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ["COURSE_DATA_DIR"] = str(ROOT / "build" / "test-data")
    os.environ.pop("COURSE_ACCEPT_MIRROR", None)
    config.addinivalue_line("markers", "notebooks: executes a course notebook on the tiny data under nbval")
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium")
    if not hasattr(config, "workerinput"):  # once, in the main process: xdist workers only read the copies
        for name in _reached_notebooks(config):
            copy = prepare_tiny_copy(BY_FILENAME[name], NOTEBOOKS, NBVAL_COPIES)
            nb = nbformat.read(copy, as_version=4)
            wrong_solutions.probe_cells(nb, BY_FILENAME[name].stem)
            nbformat.write(nb, copy)


def _reached_notebooks(config: pytest.Config) -> list[str]:
    """The course notebooks this session's paths (arguments or testpaths) lead to; none for `pytest tests/...`."""
    paths = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    return [
        name for name in BY_FILENAME if any(p == NOTEBOOKS / name or p in (NOTEBOOKS / name).parents for p in paths)
    ]


class CourseNotebook(IPyNbFile):
    """A course notebook (`notebooks/NAME.ipynb` in test ids), run by nbval in lax mode from its tiny copy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compare_outputs = False

    @property
    def fspath(self):
        """What nbval reads and where its kernel starts: the copy in `build/nbval/`."""
        return legacy_path(NBVAL_COPIES / self.path.name)

    def collect(self):
        yield from super().collect()
        yield KeyFigures.from_parent(self, name="key figures")


class KeyFigures(pytest.Item):
    """The figures the notebook's run just wrote: every key figure of the course map, and its checks."""

    def runtest(self) -> None:
        nb = BY_FILENAME[self.parent.path.name]
        path = NBVAL_COPIES / "metrics" / f"{nb.stem}.json"
        if not path.is_file():
            pytest.fail(f"{nb.name} wrote no metrics: see its failing cell above")
        metrics = load_metrics(path)
        missing = [fig.key for fig in nb.figures if fig.key not in metrics]
        assert not missing, f"{nb.name} reported no {missing}"
        notebook_figures.check(nb.stem, metrics)

    def reportinfo(self):
        return self.path, None, f"{self.parent.path.name}: key figures"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    opt = parent.config.option
    if file_path.parent != NOTEBOOKS or file_path.name not in BY_FILENAME or opt.nbval or opt.nbval_lax:
        return None
    return CourseNotebook.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the notebook items; hand out the longest work first (browser, then notebooks) to balance the workers."""
    for item in items:
        if isinstance(item.parent, CourseNotebook):
            item.add_marker(pytest.mark.notebooks)
    items.sort(
        key=lambda item: (
            0 if item.get_closest_marker("browser") else 1 if isinstance(item.parent, CourseNotebook) else 2
        )
    )
