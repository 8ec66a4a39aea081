"""Notebook jobs on Dask: `course sweep`, `course run --workers`, an external scheduler, a worker that dies."""

from __future__ import annotations

import contextlib
import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_lib.tools import cli, jobs, sweep
from tools.fake_notebooks import BAD, GOOD

PARAMETERS = """rate: float = 0.5
steps: int = 2
name: str = "x"
marker: str = ""  # a file: if set and missing, the kernel creates it and kills its Dask worker
metrics_path: str = \"\""""
BODY = """import json, os, pathlib, signal
if marker and not pathlib.Path(marker).exists():
    pathlib.Path(marker).write_text("killed once")
    os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent is the worker that runs this job
if rate > 1:
    raise ValueError("rate too large, on purpose")
pathlib.Path(metrics_path).write_text(json.dumps({"score": rate * steps, "name": name}))"""


@pytest.fixture
def toy(tmp_path):
    """A notebook with typed parameters that writes `score = rate * steps`, fails for rate > 1."""
    path = tmp_path / "toy.ipynb"
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    cells = [new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}), new_code_cell(BODY)]
    nbformat.write(new_notebook(cells=cells, metadata=kernel), path)
    return path


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_values_are_typed_as_the_parameters_cell_declares(toy):
    grid = sweep.typed_grid(toy, [["rate", "0.1", "2"], ["steps", "3"], ["name", "a b"]])
    assert grid == {"rate": [0.1, 2.0], "steps": [3], "name": ["a b"]}
    assert sweep.run_key({"rate": 0.1, "name": "a b"}) == "rate=0.1_name=a-b"


def test_a_misspelt_or_mistyped_parameter_is_refused_before_anything_runs(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["sweep", str(toy), "-p", "rates", "0.1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "toy.ipynb has no parameter 'rates'; it declares: rate (float), steps (int), name (str)" in err
    assert cli.main(["sweep", str(toy), "-p", "steps", "2", "ten", "--out", str(out)]) == 2
    assert "parameter steps is declared int: 'ten' is not a int" in capsys.readouterr().err
    assert cli.main(["sweep", str(toy), "-p", "rate", "--out", str(out)]) == 2
    assert "with at least one value" in capsys.readouterr().err
    assert not out.exists(), "nothing ran, nothing was written"


@pytest.mark.notebooks
def test_a_sweep_on_two_local_workers_and_a_rerun_that_skips_finished_runs(toy, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(toy), "-p", "rate", "0.5", "2", "-p", "steps", "2", "3", "--out", str(out)]
    assert cli.main([*args, "--workers", "2", "--metric", "score"]) == 1, "the rate-2 runs fail"
    rows = read_rows(out / "sweep.csv")
    assert [(r["run"], r["rate"], r["steps"], r["score"], r["status"]) for r in rows] == [
        ("rate=0.5_steps=2", "0.5", "2", "1.0", "ok"),
        ("rate=0.5_steps=3", "0.5", "3", "1.5", "ok"),
        ("rate=2.0_steps=2", "2.0", "2", "", "FAILED: PapermillExecutionError"),
        ("rate=2.0_steps=3", "2.0", "3", "", "FAILED: PapermillExecutionError"),
    ]
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"{r['run']}.ipynb" for r in rows]
    assert (out / "sweep.png").stat().st_size > 0
    capsys.readouterr()
    assert cli.main([*args, "--workers", "2"]) == 1
    assert "4 runs: 2 already finished, 2 to run" in capsys.readouterr().out
    again = read_rows(out / "sweep.csv")
    assert [r["seconds"] for r in again[:2]] == [r["seconds"] for r in rows[:2]], "finished runs were not rerun"


@pytest.mark.notebooks
def test_a_job_whose_worker_dies_runs_again_on_another_and_the_sweep_completes(toy, tmp_path):
    marker = tmp_path / "killed"
    rows = sweep.sweep(toy, [["steps", "1", "2", "3"], ["marker", str(marker)]], tmp_path / "out", workers=2)
    assert marker.read_text() == "killed once", "a worker was killed"
    assert [(r["steps"], r["status"]) for r in rows] == [(1, "ok"), (2, "ok"), (3, "ok")]


@pytest.mark.notebooks
def test_a_sweep_on_an_existing_cluster_started_from_the_command_line(toy, tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", ":0", "--scheduler-file", str(scheduler_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    try:
        for _ in range(100):
            if scheduler_file.exists():
                break
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--host", "127.0.0.1", "--no-dashboard"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        rows = sweep.sweep(toy, [["steps", "4", "5"]], tmp_path / "out", scheduler=address)
        assert [(r["steps"], r["score"], r["status"]) for r in rows] == [(4, 2.0, "ok"), (5, 2.5, "ok")]
    finally:
        for process in reversed(started):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@pytest.mark.notebooks
def test_course_run_with_two_workers_keeps_course_order_and_the_failed_notebook(fake_course, tmp_path):
    out = tmp_path / "out"
    code = cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(out), "--workers", "2"])
    assert code == 1
    status = json.loads((out / "metrics" / "status.json").read_text())
    assert status["00_good"].startswith("ok, ") and status["01_bad"] == "FAILED: PapermillExecutionError"
    table = (out / "results.md").read_text()
    assert table.index("| 00_good |") < table.index("| 01_bad |"), "the table stays in course order"
    assert "| the answer | 42 | 42 |" in table and (out / "notebooks" / BAD.name).is_file()
    assert GOOD.stem in status


def test_a_local_cluster_listens_on_this_machine_only():
    with jobs.dask_client(1, None) as client:
        info = client.scheduler_info()
        bound = _listening(info["services"]["dashboard"])
    assert info["address"].startswith("tcp://127.0.0.1:"), info["address"]
    assert bound and bound <= {"0100007F", "00000000000000000000000001000000"}, f"dashboard bound to {bound}"


def _listening(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp gives them) of the sockets listening on `port`."""
    rows = [line.split() for name in ("tcp", "tcp6") for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]]
    return {row[1].split(":")[0] for row in rows if row[3] == "0A" and int(row[1].split(":")[1], 16) == port}


# ---------------------------------------------------------------- the same machinery in this process (no worker)


def test_a_job_run_here_returns_its_metrics_its_notebook_and_its_failure(toy, tmp_path, monkeypatch):
    for name in jobs.THREAD_VARIABLES:  # recorded, so the job's settings are undone after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    notebook = toy.read_text()
    ok = jobs.execute_job(jobs.NotebookJob("a", notebook, {"rate": 0.5, "steps": 3, "name": "n"}, threads=3))
    assert (ok.key, ok.status, ok.ok, ok.metrics) == ("a", "ok", True, {"score": 1.5, "name": "n"})
    assert all(jobs.os.environ[name] == "3" for name in jobs.THREAD_VARIABLES), "the kernel's share of the cores"
    assert 0 < ok.seconds < 600 and nbformat.reads(ok.executed, as_version=4).cells[1].outputs == []
    failed = jobs.execute_job(jobs.NotebookJob("b", notebook, {"rate": 2.0}))
    assert (failed.status, failed.ok, failed.metrics) == ("FAILED: PapermillExecutionError", False, {})
    assert "rate too large" in failed.executed
    broken = jobs.execute_job(jobs.NotebookJob("c", "{not a notebook", {}))
    assert broken.status.startswith("FAILED: ") and (broken.executed, broken.metrics) == ("", {}), "nothing executed"
    failed.save_notebook(tmp_path / "runs")
    jobs.JobResult("c", "FAILED: NoSuchKernel", 0.0).save_notebook(tmp_path / "runs")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["b.ipynb"], "no notebook, no file"


def test_completed_yields_every_result_and_a_lost_call_as_its_exception(capsys):
    from distributed import Client

    def boom(x):
        raise RuntimeError(f"lost {x}")

    failing = jobs.JobResult("f", "FAILED: X", 0.0)
    passing = jobs.JobResult("p", "ok", 0.0)
    calls = {"one": (abs, -1), "two": (boom, 2), "three": (lambda: failing,), "four": (lambda: passing,)}
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        got = dict(jobs.completed(client, calls, "testing", "call"))
    assert got["one"] == 1 and got["three"] == failing
    assert isinstance(got["two"], RuntimeError) and str(got["two"]) == "lost 2"
    drawn = capsys.readouterr().err.replace("\r", "\n").splitlines()  # Dask's worker logs the failure there too
    final = [line for line in drawn if line.startswith("testing:")][-1]
    assert final.startswith("testing: 100%") and "4/4" in final and final.endswith("call/s, failed=2]"), final


def test_run_jobs_shares_the_cores_and_reports_a_lost_job_as_failed(monkeypatch):
    seen, real_client = {}, jobs.dask_client

    @contextlib.contextmanager
    def fake_client(workers, scheduler):
        seen["cluster"] = (workers, scheduler)
        yield "client"

    def fake_completed(client, calls, desc, unit):
        seen["calls"], seen["bar"] = calls, (client, desc, unit)
        yield "a", jobs.JobResult("a", "ok", 1.0)
        yield "b", MemoryError("worker died twice")

    monkeypatch.setattr(jobs, "dask_client", fake_client)
    monkeypatch.setattr(jobs, "completed", fake_completed)
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    results = list(jobs.run_jobs([jobs.NotebookJob("a", "{}", {}), jobs.NotebookJob("b", "{}", {})], 3, desc="d"))
    assert [r.status for r in results] == ["ok", "FAILED: MemoryError: worker died twice"]
    assert (results[1].key, results[1].seconds, seen["bar"]) == ("b", 0.0, ("client", "d", "job"))
    assert seen["cluster"] == (3, None) and [c[1].threads for c in seen["calls"].values()] == [2, 2]
    assert all(c[0] is jobs.execute_job for c in seen["calls"].values())
    list(jobs.run_jobs([jobs.NotebookJob("a", "{}", {})]))
    assert seen["cluster"] == (1, None) and seen["bar"][1] == "jobs" and seen["calls"]["a"][1].threads == 8
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: None)  # unknown: one core
    list(jobs.run_jobs([jobs.NotebookJob("a", "{}", {})]))
    assert seen["calls"]["a"][1].threads == 1
    monkeypatch.setattr(jobs.os, "cpu_count", lambda: 8)
    list(jobs.run_jobs([jobs.NotebookJob("a", "{}", {})], 16))
    assert [c[1].threads for c in seen["calls"].values()] == [1], "at least one thread"
    list(jobs.run_jobs([jobs.NotebookJob("a", "{}", {})], 1, "tcp://10.0.0.1:8786"))
    assert seen["cluster"] == (1, "tcp://10.0.0.1:8786") and seen["calls"]["a"][1].threads == 0, (
        "an existing cluster's workers keep their own settings"
    )
    with pytest.raises(ValueError, match="at least one worker, got 0"), real_client(0, None):
        pass


def test_a_sweep_here_writes_a_row_per_run_and_reruns_only_what_did_not_finish(toy, tmp_path, monkeypatch):
    handed = []

    def fake_run_jobs(todo, workers, scheduler, desc):
        handed.append((workers, scheduler, desc, todo))
        for job in todo:
            if job.parameters["rate"] > 1:
                yield jobs.JobResult(job.key, "FAILED: PapermillExecutionError", 0.25)
            else:
                executed = json.dumps({"ran": job.key})
                yield jobs.JobResult(job.key, "ok", 1.26, executed, {"score": job.parameters["rate"] * 2, "rows": [1]})

    monkeypatch.setattr(sweep, "run_jobs", fake_run_jobs)
    asked, plotted = [], []
    declared = sweep.run_parameters
    monkeypatch.setattr(sweep, "run_parameters", lambda *args: asked.append(args) or declared(*args))
    monkeypatch.setattr(sweep, "plot", lambda rows, swept, metric, path: plotted.append((swept, metric, path)))
    out, printed = tmp_path / "out", []
    grid = [["rate", "0.5", "2", "0.25"], ["name", "a", "b"]]
    rows = sweep.sweep(toy, grid, out, metric="score", workers=3, report=printed.append)
    assert printed == ["6 runs: 0 already finished, 6 to run"]
    workers, scheduler, desc, todo = handed[0]
    assert (workers, scheduler, desc) == (3, None, "sweep") and todo[0].notebook == toy.read_text()
    assert todo[0].parameters == {"rate": 0.5, "name": "a", "metrics_path": "metrics.json"}
    assert [(r["run"], r["status"], r.get("score")) for r in rows] == [
        ("rate=0.5_name=a", "ok", 1.0), ("rate=0.5_name=b", "ok", 1.0),
        ("rate=2.0_name=a", "FAILED: PapermillExecutionError", None), ("rate=2.0_name=b", "FAILED: PapermillExecutionError", None),
        ("rate=0.25_name=a", "ok", 0.5), ("rate=0.25_name=b", "ok", 0.5),
    ]  # fmt: skip
    assert rows[0]["seconds"] == 1.3 and "rows" not in rows[0], "figures only, seconds to a tenth"
    entry, path, source, metrics, data_dir = asked[0]
    assert (entry.name, entry.stem, path, source, metrics, data_dir) == (
        "toy.ipynb",
        "toy",
        toy,
        "real",
        Path("metrics.json"),
        "",
    )
    assert plotted == [(["rate", "name"], "score", out / "sweep.png")]
    course = tmp_path / "02_softmax_cross_entropy.ipynb"
    course.write_text(toy.read_text())
    sweep.sweep(course, [["rate", "0.5"]], tmp_path / "course_out", report=printed.append)
    assert asked[-1][0] is sweep.BY_FILENAME[course.name], "a course notebook brings its own entry"
    printed.pop()
    assert (out / "sweep.csv").read_text().splitlines()[0] == "run,rate,name,score,status,seconds"
    written = read_rows(out / "sweep.csv")
    assert list(written[0]) == ["run", "rate", "name", "score", "status", "seconds"]
    assert [r["run"] for r in written] == [r["run"] for r in rows]
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(
        f"{r['run']}.ipynb" for r in rows if r["status"] == "ok"
    )
    again = sweep.sweep(
        toy, grid, out, tiny=True, data_dir="/d", scheduler="tcp://10.0.0.1:8786", report=printed.append
    )
    assert asked[-1][2:] == ("tiny", Path("metrics.json"), "/d") and handed[-1][:2] == (1, "tcp://10.0.0.1:8786")
    assert printed[1] == "6 runs: 4 already finished, 2 to run"
    assert [job.key for job in handed[-1][3]] == ["rate=2.0_name=a", "rate=2.0_name=b"]
    assert [r["run"] for r in again] == [r["run"] for r in rows] and len(plotted) == 1, "no metric, no plot"
    with pytest.raises(FileNotFoundError, match="no notebook"):
        sweep.sweep(tmp_path / "missing.ipynb", grid, out)


def test_the_sweep_plot_draws_one_line_per_combination_of_the_other_parameters(tmp_path, monkeypatch):
    import matplotlib.axes

    drawn = []
    draw = matplotlib.axes.Axes.plot
    monkeypatch.setattr(
        matplotlib.axes.Axes, "plot", lambda ax, *xy, **kw: drawn.append((xy, kw["label"])) or draw(ax, *xy, **kw)
    )
    rows = [{"rate": r, "seed": s, "opt": "a", "acc": str(a)} for r, s, a in [("0.5", "1", 0.8), ("0.1", "1", 0.7), ("0.5", "2", 0.9),
                                                                  ("0.1", "2", ""), ("x", "2", 0.6)]]  # fmt: skip
    figures = []
    close = matplotlib.pyplot.close
    monkeypatch.setattr(matplotlib.pyplot, "close", lambda fig: figures.append(fig) or close(fig))
    sweep.plot(rows[2:] + rows[:2], ["rate", "seed", "opt"], "acc", tmp_path / "deep" / "er" / "p.png")
    assert drawn == [((("0.1", "0.5"), (0.7, 0.8)), "seed=1, opt=a"), ((("0.5", "x"), (0.9, 0.6)), "seed=2, opt=a")]
    ax = figures[0].axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("rate", "acc", "acc against rate")
    assert [line.get_marker() for line in ax.get_lines()] == ["o", "o"] and ax.get_legend() is not None
    assert ax.xaxis.get_gridlines()[0].get_visible() and ax.xaxis.get_gridlines()[0].get_alpha() == 0.3
    from PIL import Image

    assert Image.open(tmp_path / "deep" / "er" / "p.png").size == (600, 400), "6 x 4 inches at 100 dpi"
    drawn.clear()
    sweep.plot([{k: v for k, v in r.items() if k != "opt"} for r in rows[:2]], ["rate"], "acc", tmp_path / "q.png")
    assert drawn == [(((0.1, 0.5), (0.7, 0.8)), "acc")]


def test_values_of_every_declared_type_and_what_is_refused(tmp_path):
    assert [sweep._convert("b", "bool", v) for v in ("True", "false", "FALSE")] == [True, False, False]
    assert sweep._convert("l", "list", "[1, 2]") == [1, 2] and sweep._convert("n", "None", "None") is None
    for kind, value in [("bool", "yes"), ("int", "1.5"), ("float", "x"), ("list", "[1,"), ("dict", "a")]:
        with pytest.raises(ValueError, match=f"parameter p is declared {kind}: '.*' is not a {kind}"):
            sweep._convert("p", kind, value)
    assert sweep.combinations({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert sweep.combinations({}) == [{}]
    assert sweep.run_key({"p": "a/b c", "q": -1.5e3, "r": "x+y=z"}) == "p=a-b-c_q=-1500.0_r=x+y=z"
