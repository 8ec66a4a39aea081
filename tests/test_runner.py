"""The course run's command line: offline with no data it stops at once and names the --tiny option."""

from __future__ import annotations

import time

from course_lib import runner
from course_lib.course import NOTEBOOKS


def test_offline_without_data_stops_at_once_naming_the_tiny_option(data_dir, tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_dir))
    start = time.perf_counter()
    code = runner.main(["--out", str(tmp_path / "out")])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2
    assert "is not available" in err and "python run.py course --tiny" in err
    assert not (tmp_path / "out" / "notebooks").exists(), "no notebook may start before the data is there"
    assert elapsed < 60  # generous: it must not run any notebook


def test_results_table_puts_measured_beside_published():
    nb = NOTEBOOKS[1]
    table = runner.results_table([(nb, "ok, 30 s", {"test_accuracy": 0.9220, "train_seconds": 28.3})], "real")
    assert (
        "| 01_mnist_softmax_regression | ok, 30 s | test accuracy (GradientTape) | 0.9220 | ≈ 92% (TF1 tutorial) |"
        in table
    )
    assert "| training time (GradientTape), s | 28.3 |" in table
    assert "| test accuracy (Keras) | — |" in table
