"""`course_lib.metrics`: key figures round-trip through JSON, and a failed save leaves the old file whole."""

from __future__ import annotations

import pytest

from course_lib import metrics


def test_figures_read_back_as_written_with_sorted_keys_in_a_new_folder(tmp_path):
    path = tmp_path / "results" / "metrics" / "07.json"  # folders that do not exist yet
    figures = {"test_accuracy": 0.8569, "ablation": {"b": [0.7, 0.71], "a": None}, "epochs": 30}
    metrics.save_metrics(str(path), figures)
    assert metrics.load_metrics(path) == figures
    text = path.read_text()
    assert text.index('"ablation"') < text.index('"epochs"') < text.index('"test_accuracy"'), "sorted keys"
    assert text.endswith("}\n") and '\n  "epochs": 30' in text, "indented, one figure per line, for readable diffs"


def test_a_figure_json_cannot_hold_is_refused_and_the_old_file_stays(tmp_path):
    path = tmp_path / "m.json"
    metrics.save_metrics(path, {"accuracy": 0.5})
    with pytest.raises(TypeError):
        metrics.save_metrics(path, {"accuracy": object()})
    assert metrics.load_metrics(path) == {"accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"], "no temporary file left beside it"
