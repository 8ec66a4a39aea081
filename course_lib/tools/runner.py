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
from collections.abc import Iterator
from pathlib import Path

import nbformat
from tqdm import tqdm

from course_lib import data
from course_lib.metrics import load_metrics, save_metrics
from course_lib.tools.course_map import NOTEBOOKS, Notebook
from course_lib.tools.jobs import NotebookJob, run_jobs
from course_lib.tools.notebooks import execute, run_parameters

REFERENCE_STATUS = Path("results") / "metrics" / "status.json"


def preflight(notebooks: tuple[Notebook, ...], data_dir: str, accept_mirror: bool) -> None:
    """Make sure every real dataset the notebooks need is available (downloading it if possible)."""
    for name in dict.fromkeys(d for nb in notebooks for d in nb.datasets):
        data.dataset_path(name, "real", data_dir or None, accept_mirror or None)


def reference_seconds(notebooks_dir: Path) -> dict[str, float]:
    """Each notebook's run time in the reference run committed beside `notebooks_dir` (empty if none)."""
    status = notebooks_dir.parent / REFERENCE_STATUS
    if not status.is_file():
        return {}
    found = {stem: re.match(r"ok, (\d+) s", text) for stem, text in load_metrics(status).items()}
    return {stem: float(m[1]) for stem, m in found.items() if m}


def plan(notebooks: tuple[Notebook, ...], notebooks_dir: Path, tiny: bool) -> str:
    """What the run will do: each notebook with its minutes in the reference run (real data)."""
    seconds = reference_seconds(notebooks_dir)
    count = f"{len(notebooks)} notebook{'s' * (len(notebooks) != 1)}"
    lines = [f"Plan: {count} from {notebooks_dir}, on the {'tiny' if tiny else 'real'} data."]
    for nb in notebooks:
        known = f"{seconds[nb.stem] / 60:5.1f} min" if nb.stem in seconds else "    ? min"
        lines.append(f"  {known}  {nb.name}")
    if not tiny and any(nb.stem in seconds for nb in notebooks):
        total = sum(seconds.get(nb.stem, 0) for nb in notebooks) / 60
        lines.append(f"  about {total:.0f} min in all on the reference machine (results/results.md says which)")
    elif tiny:
        lines.append("  (minutes above are for the real data; the tiny data takes a few minutes in all)")
    return "\n".join(lines)


def run(
    notebooks_dir: Path, out: Path, tiny: bool, data_dir: str = "", accept_mirror: bool = False, only: str = "",
    workers: int = 1, scheduler: str | None = None,
) -> int:  # fmt: skip
    """Execute the notebooks in course order; return the number that failed.

    With `workers` > 1 or a `scheduler` address they run as Dask jobs, several at once (see
    `jobs`); the table stays in course order. The results table covers every notebook with
    metrics in `out`: a run with `only` keeps the figures (and run status) of notebooks executed
    earlier into the same folder.
    """
    notebooks = tuple(nb for nb in NOTEBOOKS if only in nb.name)
    source = "tiny" if tiny else "real"
    print(plan(notebooks, notebooks_dir, tiny), flush=True)
    if not tiny:
        preflight(notebooks, data_dir, accept_mirror)
    status_file = out / "metrics" / "status.json"
    statuses = load_metrics(status_file) if status_file.exists() else {}
    settings = (notebooks_dir, out, source, data_dir, accept_mirror)
    if workers > 1 or scheduler:
        finished = _run_on_dask(notebooks, settings, workers, scheduler)
    else:
        finished = _run_in_order(notebooks, settings)
    failed = 0
    for stem, status in finished:
        statuses[stem] = status
        failed += status.startswith("FAILED")
        save_metrics(status_file, statuses)
    rows = [
        (nb, statuses[nb.stem], _figures(out, nb.stem, statuses[nb.stem])) for nb in NOTEBOOKS if nb.stem in statuses
    ]
    table = results_table(rows, source)
    (out / "results.md").write_text(table)
    print(table)
    return failed


def _figures(out: Path, stem: str, status: str) -> dict:
    """The notebook's key figures in `out`, if its last run there succeeded (a failed run keeps the older file)."""
    path = out / "metrics" / f"{stem}.json"
    return load_metrics(path) if status.startswith("ok") and path.exists() else {}


def _run_in_order(notebooks: tuple[Notebook, ...], settings: tuple) -> Iterator[tuple[str, str]]:
    """One notebook after another in this process, a progress bar over all their cells."""
    notebooks_dir = settings[0]
    cells = {nb.stem: _code_cells(notebooks_dir / nb.name) for nb in notebooks}
    done = 0
    with tqdm(total=sum(cells.values()), unit="cell", desc="course", file=sys.stdout) as bar:
        for nb in notebooks:
            bar.set_postfix_str(nb.stem)
            status = _run_one(nb, *settings, lambda **_: bar.update())
            done += cells[nb.stem]
            bar.update(done - bar.n)  # a failed notebook's unrun cells count as passed over
            tqdm.write(f"{nb.name}: {status}", file=sys.stdout)
            yield nb.stem, status


def _run_on_dask(
    notebooks: tuple[Notebook, ...], settings: tuple, workers: int, scheduler: str | None
) -> Iterator[tuple[str, str]]:
    """The notebooks as Dask jobs; executed notebooks and metrics come back to OUT as each finishes."""
    notebooks_dir, out, source, data_dir, accept_mirror = settings
    jobs = [
        NotebookJob(
            nb.stem,
            (notebooks_dir / nb.name).read_text(),
            run_parameters(nb, notebooks_dir / nb.name, source, Path("metrics.json"), data_dir, accept_mirror),
        )
        for nb in notebooks
    ]
    for result in run_jobs(jobs, workers, scheduler, desc="course"):
        result.save_notebook(out / "notebooks")
        if result.ok and result.metrics:
            save_metrics(out / "metrics" / f"{result.key}.json", result.metrics)
        elif result.ok:  # as in `_run_one`: a run that wrote no figures leaves none behind
            (out / "metrics" / f"{result.key}.json").unlink(missing_ok=True)
        status = f"ok, {result.seconds:.0f} s" if result.ok else result.status
        tqdm.write(f"{result.key}.ipynb: {status}", file=sys.stdout)
        yield result.key, status


def _code_cells(path: Path) -> int:
    """Code cells papermill will run: the notebook's own and the injected-parameters cell."""
    return 1 + sum(c.cell_type == "code" for c in nbformat.read(path, as_version=4).cells)


def _run_one(nb: Notebook, notebooks_dir: Path, out: Path, source: str, data_dir: str, accept_mirror: bool, on_cell):
    """Execute one notebook; return its status line ('ok, N s' or 'FAILED: ...')."""
    metrics_path = out / "metrics" / f"{nb.stem}.json"
    partial = metrics_path.with_name(f"{nb.stem}.json.partial")  # replaces the old figures only on success
    parameters = run_parameters(nb, notebooks_dir / nb.name, source, partial.resolve(), data_dir, accept_mirror)
    start = time.perf_counter()
    try:
        execute(notebooks_dir / nb.name, out / "notebooks" / nb.name, parameters, on_cell=on_cell)
        if partial.exists():
            partial.replace(metrics_path)
        else:  # a run that wrote no figures: none are shown for it (an older file would be stale)
            metrics_path.unlink(missing_ok=True)
    except Exception as e:  # noqa: BLE001 (papermill raises PapermillExecutionError; keep going)
        tqdm.write(f"!! {nb.name} failed; partial output kept in {out / 'notebooks' / nb.name}\n{e}", file=sys.stderr)
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
    for nb, status, metrics in rows:
        for fig in nb.figures:
            value = metrics.get(fig.key, "—")
            lines.append(f"| {nb.stem} | {status} | {fig.label} | {_fmt(fig.key, value)} | {fig.published} |")
    return "\n".join(lines) + "\n"


def _fmt(key: str, value) -> str:
    if isinstance(value, float) and key.endswith("seconds"):
        return f"{value:.1f}"
    if isinstance(value, float):
        if value and abs(value) < 1e-3:
            return f"{value:.1e}"
        return f"{value:.4f}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)
