"""Run the whole course headless with papermill and write a results table.

Executed notebooks go to OUT/notebooks/, metrics to OUT/metrics/, the table to OUT/results.md.
A notebook that fails is kept (executed up to the failing cell), its older figures in OUT/metrics
stay as they were (they are only replaced by a run that succeeds), and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from course_lib import atomic, data
from course_lib.metrics import load_metrics, save_metrics
from course_lib.tools.course_map import NOTEBOOKS, Notebook
from course_lib.tools.jobs import NotebookJob, run_jobs
from course_lib.tools.notebooks import execute, run_parameters

REFERENCE_STATUS = Path("results") / "metrics" / "status.json"


@dataclass(frozen=True, kw_only=True)
class CourseRun:
    """What a course run reads and writes: the notebooks' folder, the output folder and the data."""

    notebooks_dir: Path
    out: Path
    tiny: bool = False
    data_dir: str = ""
    accept_mirror: bool = False

    @property
    def source(self) -> str:
        return "tiny" if self.tiny else "real"


@dataclass(frozen=True)
class Outcome:
    """How a course run ended: how many notebooks failed, and the results table (markdown)."""

    failed: int
    table: str


class NoSuchNotebook(LookupError):
    """`--only` names no course notebook."""


def selected(only: str = "") -> tuple[Notebook, ...]:
    """The course notebooks whose file name starts with `only`, in course order (`07` is 07 and 07b).

    A prefix, not any part of the name: `10_` must not also pick `04_cifar10_...` and `07_cifar10_...`.
    """
    entries = tuple(entry for entry in NOTEBOOKS if entry.name.startswith(only))
    if not entries:
        names = ", ".join(entry.name for entry in NOTEBOOKS)
        raise NoSuchNotebook(f"no course notebook's name starts with {only!r}; give the start of one of: {names}")
    return entries


def preflight(entries: tuple[Notebook, ...], data_dir: str, accept_mirror: bool) -> None:
    """Make sure every real dataset the notebooks need is available (downloading it if possible)."""
    for name in dict.fromkeys(d for entry in entries for d in entry.datasets):
        data.dataset_path(name, "real", data_dir or None, accept_mirror or None)


def reference_seconds(notebooks_dir: Path) -> dict[str, float]:
    """Each notebook's run time in the reference run committed beside `notebooks_dir` (empty if none)."""
    status = notebooks_dir.parent / REFERENCE_STATUS
    if not status.is_file():
        return {}
    found = {stem: re.match(r"ok, (\d+) s", text) for stem, text in load_metrics(status).items()}
    return {stem: float(m[1]) for stem, m in found.items() if m}


def plan(entries: tuple[Notebook, ...], notebooks_dir: Path, tiny: bool) -> str:
    """What the run will do: each notebook with its minutes in the reference run (real data)."""
    seconds = reference_seconds(notebooks_dir)
    count = f"{len(entries)} notebook{'s' * (len(entries) != 1)}"
    lines = [f"Plan: {count} from {notebooks_dir}, on the {'tiny' if tiny else 'real'} data."]
    for entry in entries:
        known = f"{seconds[entry.stem] / 60:5.1f} min" if entry.stem in seconds else "    ? min"
        lines.append(f"  {known}  {entry.name}")
    if not tiny and any(entry.stem in seconds for entry in entries):
        total = sum(seconds.get(entry.stem, 0) for entry in entries) / 60
        lines.append(f"  about {total:.0f} min in all on the reference machine (results/results.md says which)")
    elif tiny:
        lines.append("  (minutes above are for the real data; the tiny data takes a few minutes in all)")
    return "\n".join(lines)


def run_course(
    course: CourseRun,
    entries: tuple[Notebook, ...],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    report: Callable[[str], None] = tqdm.write,
) -> Outcome:
    """Execute `entries` in course order; write OUT/results.md and return the outcome.

    With `workers` > 1 or a `scheduler` address they run as Dask jobs, several at once (see
    `jobs`); the table stays in course order. `report` gets a status line as each notebook ends.
    The results table covers every notebook with metrics in OUT: a run of a few notebooks keeps
    the figures (and run status) of notebooks executed earlier into the same folder.
    """
    if not course.tiny:
        preflight(entries, course.data_dir, course.accept_mirror)
    status_file = course.out / "metrics" / "status.json"
    if workers > 1 or scheduler:
        finished = _run_on_dask(course, entries, workers, scheduler)
    else:
        finished = _run_in_order(course, entries)
    failed = 0
    for stem, status in finished:
        report(f"{stem}.ipynb: {status}")
        # read again: another run into the same folder may have finished a notebook since this one began
        statuses = (load_metrics(status_file) if status_file.exists() else {}) | {stem: status}
        failed += status.startswith("FAILED")
        save_metrics(status_file, statuses)
    statuses = load_metrics(status_file) if status_file.exists() else {}
    rows = [
        (e, statuses[e.stem], _figures(course.out, e.stem, statuses[e.stem])) for e in NOTEBOOKS if e.stem in statuses
    ]
    table = results_table(rows, course.source)
    atomic.write_text(course.out / "results.md", table)
    return Outcome(failed, table)


def _figures(out: Path, stem: str, status: str) -> dict:
    """The notebook's key figures in `out`, if its last run there succeeded (a failed run keeps the older file)."""
    path = out / "metrics" / f"{stem}.json"
    return load_metrics(path) if status.startswith("ok") and path.exists() else {}


def _run_in_order(course: CourseRun, entries: tuple[Notebook, ...]) -> Iterator[tuple[str, str]]:
    """One notebook after another in this process, a progress bar over all their cells."""
    cells = {entry.stem: _code_cells(course.notebooks_dir / entry.name) for entry in entries}
    done = 0
    with tqdm(total=sum(cells.values()), unit="cell", desc="course", file=sys.stdout) as bar:
        for entry in entries:
            bar.set_postfix_str(entry.stem)
            status = _run_one(course, entry, lambda **_: bar.update())
            done += cells[entry.stem]
            bar.update(done - bar.n)  # a failed notebook's unrun cells count as passed over
            yield entry.stem, status


def _run_on_dask(
    course: CourseRun, entries: tuple[Notebook, ...], workers: int, scheduler: str | None
) -> Iterator[tuple[str, str]]:
    """The notebooks as Dask jobs; executed notebooks and metrics come back to OUT as each finishes."""
    jobs = [
        NotebookJob(
            entry.stem, (course.notebooks_dir / entry.name).read_text(), _parameters(course, entry, "metrics.json")
        )
        for entry in entries
    ]
    for result in run_jobs(jobs, workers, scheduler, desc="course"):
        result.save_notebook(course.out / "notebooks")
        if result.ok and result.metrics:
            save_metrics(course.out / "metrics" / f"{result.key}.json", result.metrics)
        elif result.ok:  # as in `_run_one`: a run that wrote no figures leaves none behind
            (course.out / "metrics" / f"{result.key}.json").unlink(missing_ok=True)
        yield result.key, f"ok, {result.seconds:.0f} s" if result.ok else result.status


def _parameters(course: CourseRun, entry: Notebook, metrics_path: str) -> dict:
    path = course.notebooks_dir / entry.name
    return run_parameters(entry, path, course.source, Path(metrics_path), course.data_dir, course.accept_mirror)


def _code_cells(path: Path) -> int:
    """Code cells papermill will run: the notebook's own and the injected-parameters cell."""
    return 1 + sum(c.cell_type == "code" for c in nbformat.read(path, as_version=4).cells)


def _run_one(course: CourseRun, entry: Notebook, on_cell: Callable) -> str:
    """Execute one notebook; return its status line ('ok, N s' or 'FAILED: ...')."""
    metrics_path = course.out / "metrics" / f"{entry.stem}.json"
    partial = metrics_path.with_name(f"{entry.stem}.json.partial")  # replaces the old figures only on success
    parameters = _parameters(course, entry, str(partial.resolve()))
    output = course.out / "notebooks" / entry.name
    start = time.perf_counter()
    try:
        execute(course.notebooks_dir / entry.name, output, parameters, on_cell=on_cell)
        if partial.exists():
            partial.replace(metrics_path)
        else:  # a run that wrote no figures: none are shown for it (an older file would be stale)
            metrics_path.unlink(missing_ok=True)
    except Exception as e:  # noqa: BLE001 (papermill raises PapermillExecutionError; keep going)
        tqdm.write(f"!! {entry.name} failed; partial output kept in {output}\n{e}", file=sys.stderr)
        return f"FAILED: {type(e).__name__}"
    finally:
        partial.unlink(missing_ok=True)
    return f"ok, {time.perf_counter() - start:.0f} s"


def results_table(rows: list[tuple[Notebook, str, dict]], source: str) -> str:
    """Markdown: each notebook's measured key figures beside the figures its source tutorial published."""
    lines = [
        f"# Course run on {source} data, {dt.date.today().isoformat()}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; Python {platform.python_version()}.",
        "",
        "| notebook | status | figure | measured | published |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry, status, metrics in rows:
        for fig in entry.figures:
            value = metrics.get(fig.key, "—")
            lines.append(f"| {entry.stem} | {status} | {fig.label} | {_fmt(fig.key, value)} | {fig.published} |")
    return "\n".join(lines) + "\n"


def _fmt(key: str, value) -> str:
    if isinstance(value, float) and key.endswith("seconds"):
        return f"{value:.1f}"
    if isinstance(value, float):
        if value and abs(value) < 1e-3:
            return f"{value:.1e}"
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)
