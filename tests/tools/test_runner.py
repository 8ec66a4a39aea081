"""`course run`: the plan, one bar, a failing notebook kept as FAILED, `--only`, the results table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_lib.tools import cli, jobs, runner
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


def test_the_plan_gives_each_notebooks_reference_minutes_and_the_total(fake_course):
    status = fake_course.parent / "results" / "metrics" / "status.json"
    status.write_text(json.dumps({"00_good": "ok, 90 s", "01_bad": "FAILED: X", "02_gone": "ok, 12 s"}))
    assert runner.reference_seconds(fake_course) == {"00_good": 90.0, "02_gone": 12.0}
    assert runner.plan((GOOD, BAD), fake_course, tiny=False).splitlines() == [
        f"Plan: 2 notebooks from {fake_course}, on the real data.",
        "    1.5 min  00_good.ipynb",
        "      ? min  01_bad.ipynb",
        "  about 2 min in all on the reference machine (results/results.md says which)",
    ]
    assert runner.plan((GOOD,), fake_course, tiny=True).splitlines()[0::2] == [
        f"Plan: 1 notebook from {fake_course}, on the tiny data.",
        "  (minutes above are for the real data; the tiny data takes a few minutes in all)",
    ]
    status.unlink()
    assert runner.reference_seconds(fake_course) == {}


def test_figures_are_formatted_by_size_and_kind():
    formatted = {
        ("acc", 0.92204): "0.9220", ("loss", 12.345): "12.3", ("gap", 0.00012): "1.2e-04", ("gap", 0.0): "0.0000",
        ("train_seconds", 0.25): "0.2", ("acc", 1.0): "1.0", ("loss", 1.5): "1.5", ("gap", 0.001): "0.0010",
        ("epochs", 7): "7", ("tf", "2.21.0"): "2.21.0", ("neg", -0.5): "-0.5000", ("neg", -2.5): "-2.5",
        ("tiny_neg", -0.0002): "-2.0e-04",
    }  # fmt: skip
    assert {key: runner._fmt(*key) for key in formatted} == formatted
    table = runner.results_table([], "tiny")
    assert table.startswith(f"# Course run on tiny data, {runner.dt.date.today().isoformat()}\n\nMachine: ")
    assert table.endswith(
        "\n\n| notebook | status | figure | measured | published |\n| --- | --- | --- | --- | --- |\n"
    )


def test_a_run_on_dask_brings_back_notebooks_and_figures_and_keeps_course_order(fake_course, tmp_path, monkeypatch):
    handed = []

    def fake_run_jobs(todo, workers, scheduler, desc):
        handed.append((workers, scheduler, desc, todo))
        yield jobs.JobResult("01_bad", "FAILED: PapermillExecutionError", 2.0, '{"bad": 1}')
        yield jobs.JobResult("00_good", "ok", 61.4, '{"good": 1}', {"answer": 42})

    monkeypatch.setattr(runner, "run_jobs", fake_run_jobs)
    out, printed = tmp_path / "out", []
    stale = out / "metrics" / "01_bad.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"answer": 7}))
    course = runner.CourseRun(notebooks_dir=fake_course, out=out, tiny=True)
    outcome = runner.run_course(course, (GOOD, BAD), workers=2, report=printed.append)
    workers, scheduler, desc, todo = handed[0]
    assert (workers, scheduler, desc) == (2, None, "course") and [j.key for j in todo] == ["00_good", "01_bad"]
    assert (
        todo[0].notebook == (fake_course / GOOD.name).read_text()
        and todo[0].parameters["metrics_path"] == "metrics.json"
    )
    assert printed == ["01_bad.ipynb: FAILED: PapermillExecutionError", "00_good.ipynb: ok, 61 s"]
    assert outcome.failed == 1 and outcome.table.index("| 00_good |") < outcome.table.index("| 01_bad |")
    assert json.loads((out / "metrics" / "status.json").read_text()) == {
        "01_bad": "FAILED: PapermillExecutionError", "00_good": "ok, 61 s"
    }  # fmt: skip
    assert json.loads((out / "notebooks" / "01_bad.ipynb").read_text()) == {"bad": 1}
    assert json.loads((out / "metrics" / "00_good.json").read_text()) == {"answer": 42}
    assert json.loads(stale.read_text()) == {"answer": 7}, "a failed job leaves the older figures"
    assert "| 01_bad | FAILED: PapermillExecutionError | the answer | — | — |" in outcome.table

    def no_figures(todo, workers, scheduler, desc):
        handed.append((workers, scheduler, desc, todo))
        yield jobs.JobResult("00_good", "ok", 1.0, "{}", {})

    monkeypatch.setattr(runner, "run_jobs", no_figures)
    runner.run_course(course, (GOOD,), scheduler="tcp://10.0.0.1:8786", report=printed.append)
    assert not (out / "metrics" / "00_good.json").exists(), "a run that wrote no figures leaves none behind"
    assert handed[1][:2] == (1, "tcp://10.0.0.1:8786")
    runner.run_course(course, (GOOD,), scheduler="tcp://10.0.0.1:8786", report=printed.append)  # and none was there


def test_real_data_is_checked_once_per_dataset_before_any_notebook(fake_course, tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(runner.data, "dataset_path", lambda *args: asked.append(args))
    first = Notebook("00_good.ipynb", "good", datasets=("mnist-npz", "cifar10-binary"))
    second = Notebook("01_bad.ipynb", "bad", datasets=("mnist-npz",))
    runner.preflight((first, second), "", False)
    assert asked == [("mnist-npz", "real", None, None), ("cifar10-binary", "real", None, None)]
    runner.preflight((second,), "/data", True)
    assert asked[-1] == ("mnist-npz", "real", "/data", True)


class EveryStep(runner.tqdm):
    """The runner's bar, drawn at every step (tqdm skips the draws less than 0.1 s apart)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, mininterval=0, **kwargs)


def test_one_bar_counts_every_cell_and_a_failed_notebooks_unrun_cells_as_passed_over(
    fake_course, tmp_path, monkeypatch, capsys
):
    bad = nbformat.read(fake_course / BAD.name, as_version=4)
    bad.cells.insert(0, nbformat.v4.new_markdown_cell("words"))
    nbformat.write(bad, fake_course / BAD.name)

    def execute(source, output, parameters, on_cell):
        ran = 3 if source.name == GOOD.name else 1  # the injected cell, the parameters, the body; BAD fails at once
        for _ in range(ran):
            on_cell(cell=None)
        if source.name == BAD.name:
            raise RuntimeError("broken on purpose")

    monkeypatch.setattr(runner, "execute", execute)
    monkeypatch.setattr(runner, "tqdm", EveryStep)
    course = runner.CourseRun(notebooks_dir=fake_course, out=tmp_path / "out", tiny=True)
    assert runner._code_cells(fake_course / BAD.name) == 3, "two code cells and the injected one; markdown not"
    finished = list(runner._run_in_order(course, (GOOD, BAD)))
    assert [stem for stem, _ in finished] == ["00_good", "01_bad"] and finished[1][1] == "FAILED: RuntimeError"
    captured = capsys.readouterr()
    final = captured.out.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("course: 100%") and "| 6/6 [" in final and "cell/s, 01_bad]" in final, final
    drawn = captured.out.replace("\r", "\n")
    assert all(f"| {n}/6 [" in drawn for n in (1, 2, 3)), "the first notebook's three cells, one by one"
    assert f"!! {BAD.name} failed; partial output kept in {tmp_path / 'out' / 'notebooks' / BAD.name}\n" in captured.err
    assert "broken on purpose" in captured.err


def test_a_real_run_checks_its_data_and_hands_each_notebook_the_data_settings(fake_course, tmp_path, monkeypatch):
    calls = {}
    monkeypatch.setattr(runner, "preflight", lambda *args: calls.setdefault("preflight", args))
    monkeypatch.setattr(runner, "run_parameters", lambda *args: calls.setdefault("parameters", args) and {})
    monkeypatch.setattr(runner, "execute", lambda *args, **kwargs: None)
    course = runner.CourseRun(notebooks_dir=fake_course, out=tmp_path / "out", data_dir="/d", accept_mirror=True)
    outcome = runner.run_course(course, (GOOD, BAD), report=lambda line: None)
    assert calls["preflight"] == ((GOOD, BAD), "/d", True)
    entry, path, source, metrics, data_dir, mirror = calls["parameters"]
    assert (entry, path, source, data_dir, mirror) == (GOOD, fake_course / GOOD.name, "real", "/d", True)
    assert metrics.name == "00_good.json.partial" and metrics.is_absolute()
    assert outcome.failed == 0 and outcome.table.startswith("# Course run on real data")
    assert "| 00_good | ok, 0 s |" in outcome.table, "the seconds it took"
