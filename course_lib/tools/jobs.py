"""Notebook jobs on Dask: the executor behind `course run --workers`, `course sweep` and `course grade --workers`.

A job is a notebook (its JSON text) and the parameters to run it with. `run_jobs` hands the jobs
to Dask's distributed scheduler — by default a `LocalCluster` of single-threaded worker processes,
or an existing cluster given by address — and yields each result as it comes back. Nothing needs
a shared file system: the notebook travels to the worker, the executed notebook and its metrics
travel back. A worker finds the datasets through its own `COURSE_DATA_DIR` unless the job's
parameters name a `data_dir`. A job whose worker dies is run again on another worker (once); a job
that fails is reported, never retried in a loop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from course_lib import atomic
from course_lib.tools.notebooks import execute

if TYPE_CHECKING:
    import distributed

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class NotebookJob:
    """A notebook to execute with `parameters`; `key` names it (and its executed copy)."""

    key: str
    notebook: str
    parameters: dict
    threads: int = 0


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What came back: status ('ok' or 'FAILED: ...'), seconds, the executed notebook's JSON, its metrics."""

    key: str
    status: str
    seconds: float
    executed: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def save_notebook(self, folder: Path) -> None:
        """Write the executed notebook (if the run got far enough to have one) as `folder/KEY.ipynb`."""
        if self.executed:
            atomic.write_text(folder / f"{self.key}.ipynb", self.executed)


def execute_job(job: NotebookJob) -> JobResult:
    """Run one job here (on a worker): the notebook in a temporary folder, its metrics read back."""
    if job.threads:  # the kernel inherits them: N jobs on C cores use C / N threads each
        os.environ.update({name: str(job.threads) for name in THREAD_VARIABLES})
    with tempfile.TemporaryDirectory(prefix="course-job-") as tmp:
        source, output, metrics = Path(tmp) / "notebook.ipynb", Path(tmp) / "executed.ipynb", Path(tmp) / "m.json"
        source.write_text(job.notebook)
        parameters = {**job.parameters, "metrics_path": str(metrics)}
        start, status = time.perf_counter(), "ok"
        try:
            execute(source, output, parameters)
        except Exception as e:  # noqa: BLE001 (a failing notebook is a result, not a crash)
            status = f"FAILED: {type(e).__name__}"
        seconds = time.perf_counter() - start
        executed = output.read_text() if output.exists() else ""
        found = json.loads(metrics.read_text()) if metrics.exists() else {}
    return JobResult(job.key, status, seconds, executed, found)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator:
    """A Dask client: of the cluster at `scheduler`, or of a new LocalCluster of `workers` processes."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    if workers < 1:
        raise ValueError(f"need at least one worker, got {workers}")
    retry_lost_once = dask.config.set({"distributed.scheduler.allowed-failures": 1})  # a lost job is rerun once
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
    with retry_lost_once, cluster, Client(cluster) as client:
        yield client


def completed(client: distributed.Client, calls: dict, desc: str, unit: str) -> Iterator[tuple]:
    """Submit `calls` ({tag: (function, *arguments)}) to `client`; yield (tag, result) as each finishes.

    One progress bar over all calls, counting the failed ones (an exception, or a result whose `ok` is
    False). A call whose worker died twice (Dask runs a lost task once more) yields its exception as the
    result, so one bad call never stops the others.
    """
    from distributed import as_completed

    run_id = uuid.uuid4().hex[:8]
    futures = {
        client.submit(function, *arguments, key=f"{tag}-{run_id}", pure=False): tag
        for tag, (function, *arguments) in calls.items()
    }
    failed = 0
    with tqdm(total=len(futures), desc=desc, unit=unit) as bar:
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as e:  # noqa: BLE001 (its worker died twice: the caller reports it)
                outcome = e
            failed += isinstance(outcome, Exception) or getattr(outcome, "ok", True) is False
            bar.set_postfix(failed=failed)
            yield futures[future], outcome
            bar.update()


def run_jobs(
    jobs: Iterable[NotebookJob], workers: int = 1, scheduler: str | None = None, desc: str = "jobs"
) -> Iterator[JobResult]:
    """Execute `jobs` on Dask, yielding each result as it finishes, under one progress bar.

    On a LocalCluster each job's TensorFlow gets its share of this machine's cores.
    """
    jobs = list(jobs)
    threads = 0 if scheduler else max(1, (os.cpu_count() or 1) // workers)
    calls = {job.key: (execute_job, dataclasses.replace(job, threads=threads)) for job in jobs}
    with dask_client(workers, scheduler) as client:
        for key, outcome in completed(client, calls, desc, "job"):
            if isinstance(outcome, Exception):
                outcome = JobResult(key, f"FAILED: {type(outcome).__name__}: {outcome}", 0.0)
            yield outcome
