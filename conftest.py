"""pytest settings shared by the unit tests and nbval's notebook items."""


def pytest_collectstart(collector):
    """TensorFlow's C++ log lines reach stderr in Jupyter but not under pytest: never compare stderr."""
    if str(getattr(collector, "path", "")).endswith(".ipynb"):
        collector.skip_compare += ("stderr",)
