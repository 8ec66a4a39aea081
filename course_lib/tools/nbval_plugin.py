"""pytest plugin for running nbval on the course notebooks (`pytest -p course_lib.tools.nbval_plugin`).

TensorFlow's C++ log lines are stored as stderr in Jupyter and papermill runs but never reach
nbval's kernel under pytest, so stderr is never compared.
"""


def pytest_collectstart(collector) -> None:
    """Never compare stderr in a notebook collected by nbval."""
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("stderr",)
