"""`course run`: the plan, one bar, a failing notebook kept as FAILED, `--only`, the results table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_lib.tools import cli, runner
from course_lib.tools.course_map import KeyFigure, Notebook
from tools.fake_notebooks import BAD, GOOD, write_notebook


def test_a_failing_notebook_is_kept_as_failed_and_the_run_goes_on(fake_course, tmp_path, capsys):
    older = tmp_path / "out" / "metrics" / "01_bad.json"
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"answer": 7}))
    code = cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 1
    assert "10.0 min  00_good.ipynb" in out and "? min  01_bad.ipynb" in out, "the plan comes first"
    status = json.loads((tmp_path / "out" / "metrics" / "status.json").read_text())
    assert status["00_good"].startswith("ok, ") and status["01_bad"] == "FAILED: PapermillExecutionError"
    assert (tmp_path / "out" / "notebooks" / BAD.name).is_file(), "the partial run is kept"
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| 00_good | ok, " in table and "| the answer | 42 | 42 |" in table
    assert "| 01_bad | FAILED: PapermillExecutionError | the answer | — | — |" in table, "no stale figure shown"
    assert json.loads(older.read_text()) == {"answer": 7}, "a failed run leaves the older figures as they were"
    assert json.loads((tmp_path / "out" / "metrics" / "00_good.json").read_text()) == {"answer": 42}
    assert not list(older.parent.glob("*.partial"))


def test_an_interrupted_run_keeps_the_older_figures(fake_course, tmp_path, monkeypatch):
    older = tmp_path / "out" / "metrics" / "00_good.json"
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"answer": 41}))

    def interrupted(source, output, parameters, on_cell):
        Path(parameters["metrics_path"]).write_text("{")  # half-written when Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(tmp_path / "out"), "--only", "00_"])
    assert json.loads(older.read_text()) == {"answer": 41}
    assert not list(older.parent.glob("*.partial")), "the half-written file is gone"


def test_a_notebook_that_succeeds_without_figures_is_ok_and_leaves_no_older_figures(fake_course, tmp_path):
    write_notebook(fake_course / GOOD.name, "print('no figures this time')")
    older = tmp_path / "out" / "metrics" / "00_good.json"
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"answer": 41}))
    args = ["run", "--tiny", "--notebooks", str(fake_course), "--out", str(tmp_path / "out"), "--only", "00_"]
    assert cli.main(args) == 0
    assert json.loads((older.parent / "status.json").read_text())["00_good"].startswith("ok, ")
    assert not older.exists(), "figures of an older run are not shown for this one"


def test_the_plan_counts_one_notebook_and_gives_no_total_when_no_time_is_known(fake_course):
    text = runner.plan((BAD,), fake_course, tiny=False)
    assert text.startswith("Plan: 1 notebook from") and "in all" not in text
    assert "about 10 min in all" in runner.plan((GOOD, BAD), fake_course, tiny=False)


def test_only_runs_the_matching_notebooks_and_keeps_earlier_figures(fake_course, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(out), "--only", "00_"]) == 0
    assert not (out / "notebooks" / BAD.name).exists()
    assert cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(out), "--only", "01"]) == 1
    assert "| 00_good | ok, " in (out / "results.md").read_text(), "figures of the earlier run are kept"


def test_only_is_a_prefix_of_the_course_names():
    """`10_` is the capstone alone, not every name with `cifar10_` in it; `07` is 07 and 07b."""
    assert [e.name[:3] for e in runner.selected("10_")] == ["10_"]
    assert [e.name[:3] for e in runner.selected("07")] == ["07_", "07b"]
    assert len(runner.selected()) == len(runner.NOTEBOOKS)


def test_only_naming_no_notebook_is_refused_before_anything_runs(fake_course, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(out), "--only", "good"]) == 2
    error = capsys.readouterr().err
    assert "no course notebook's name starts with 'good'" in error and "00_good.ipynb, 01_bad.ipynb" in error
    assert not out.exists(), "nothing written"


def test_offline_without_data_stops_before_any_notebook_naming_the_tiny_option(data_dir, tmp_path, monkeypatch, capsys):
    def no_network(*args, **kwargs):
        raise AssertionError("offline: the network must not be used")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    code = cli.main(["run", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "downloads are off (COURSE_OFFLINE=1)" in err and "python run.py course --tiny" in err
    assert not (tmp_path / "out" / "notebooks").exists(), "no notebook may start before the data is there"


def test_a_missing_notebooks_folder_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", "--tiny", "--notebooks", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert f"no course notebooks in {tmp_path}" in capsys.readouterr().err


def test_results_table_puts_measured_beside_published():
    nb = Notebook(
        "07_demo.ipynb",
        "a demo",
        figures=(
            KeyFigure("acc", "test accuracy", "73% (paper)"),
            KeyFigure("secs", "training time, s"),
            KeyFigure("gone", "x"),
        ),
    )
    table = runner.results_table([(nb, "ok, 30 s", {"acc": 0.9220, "secs": 28.3})], "real")
    assert "| 07_demo | ok, 30 s | test accuracy | 0.9220 | 73% (paper) |" in table
    assert "| training time, s | 28.3 | — |" in table
    assert "| x | — | — |" in table


def test_a_notebook_another_run_finished_meanwhile_keeps_its_status(fake_course, tmp_path, monkeypatch):
    status = tmp_path / "out" / "metrics" / "status.json"

    def meanwhile(source, output, parameters, on_cell):
        status.parent.mkdir(parents=True, exist_ok=True)  # a second `course run --only other` ends first
        status.write_text(json.dumps({"07b_other": "ok, 474 s"}))

    monkeypatch.setattr(runner, "execute", meanwhile)
    assert (
        cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(tmp_path / "out"), "--only", "00_"])
        == 0
    )
    assert json.loads(status.read_text()) == {
        "07b_other": "ok, 474 s",
        "00_good": json.loads(status.read_text())["00_good"],
    }
    assert json.loads(status.read_text())["00_good"].startswith("ok, ")
