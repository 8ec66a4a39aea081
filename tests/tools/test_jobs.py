"""Notebook jobs on Dask: `course sweep`, `course run --workers`, an external scheduler, a worker that dies."""

from __future__ import annotations

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
