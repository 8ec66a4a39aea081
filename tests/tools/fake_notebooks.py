"""The fake course's two notebooks (the `fake_course` fixture in conftest.py): GOOD writes its figure, BAD raises."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.tools.course_map import KeyFigure, Notebook

GOOD = Notebook("00_good.ipynb", "writes a figure", figures=(KeyFigure("answer", "the answer", "42"),))
BAD = Notebook("01_bad.ipynb", "raises half way", figures=(KeyFigure("answer", "the answer"),))


def write_notebook(path, body: str) -> None:
    params = new_code_cell('metrics_path: str = ""  # where the key figures go', metadata={"tags": ["parameters"]})
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nbformat.write(new_notebook(cells=[params, new_code_cell(body)], metadata=kernel), path)
