"""Run the whole course headless with papermill and write a results table.

    python -m course_lib.runner                     # real data (cache, mirror or download)
    python -m course_lib.runner --tiny              # built-in tiny data, offline, minutes
    python -m course_lib.runner --data-dir D --accept-mirror

Executed notebooks go to OUT/notebooks/, metrics to OUT/metrics/, the table to OUT/results.md.
A notebook that fails is kept (executed up to the failing cell) and the run goes on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

from course_lib import data
from course_lib.course import NOTEBOOKS, Notebook
from course_lib.harness import execute, run_parameters
from course_lib.metrics import load_metrics, save_metrics


def preflight(notebooks: tuple[Notebook, ...], data_dir: str, accept_mirror: bool) -> None:
    """Make sure every real dataset the notebooks need is available (downloading it if possible)."""
    for name in dict.fromkeys(d for nb in notebooks for d in nb.datasets):
        data.dataset_path(name, "real", data_dir or None, accept_mirror or None)


def run(out: Path, tiny: bool, data_dir: str = "", accept_mirror: bool = False, only: str = "") -> int:
    """Execute the notebooks in course order; return the number that failed.

    The results table covers every notebook with metrics in `out`: a run with `--only`
    keeps the figures (and run status) of notebooks executed earlier into the same folder.
    """
    notebooks = tuple(nb for nb in NOTEBOOKS if only in nb.name)
    source = "tiny" if tiny else "real"
    if not tiny:
        preflight(notebooks, data_dir, accept_mirror)
    status_file = out / "metrics" / "status.json"
    statuses = load_metrics(status_file) if status_file.exists() else {}
    failed = 0
    for nb in notebooks:
        metrics_path = out / "metrics" / f"{nb.stem}.json"
        metrics_path.unlink(missing_ok=True)
        parameters = run_parameters(nb, source, metrics_path.resolve(), data_dir, accept_mirror)
        print(f"== {nb.name} {parameters}", flush=True)
        start = time.perf_counter()
        try:
            execute(nb, out / "notebooks" / nb.name, parameters)
            statuses[nb.stem] = f"ok, {time.perf_counter() - start:.0f} s"
        except Exception as e:  # noqa: BLE001 (papermill raises PapermillExecutionError; keep going)
            failed += 1
            statuses[nb.stem] = f"FAILED: {type(e).__name__}"
            print(f"!! {nb.name} failed; partial output kept in {out / 'notebooks' / nb.name}\n{e}", file=sys.stderr)
        save_metrics(status_file, statuses)
    rows = [
        (nb, statuses[nb.stem], load_metrics(p) if (p := out / "metrics" / f"{nb.stem}.json").exists() else {})
        for nb in NOTEBOOKS
        if nb.stem in statuses
    ]
    table = results_table(rows, source)
    (out / "results.md").write_text(table)
    print(table)
    return failed


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="use the built-in tiny datasets (offline, fast)")
    parser.add_argument(
        "--data-dir", default="", help="folder holding the datasets (default: $COURSE_DATA_DIR or ~/.course_data)"
    )
    parser.add_argument(
        "--accept-mirror", action="store_true", help="accept re-packed local copies, checked by structure"
    )
    parser.add_argument("--out", default="results", help="output folder (default: results)")
    parser.add_argument("--only", default="", help="run only notebooks whose file name contains this")
    args = parser.parse_args(argv)
    try:
        failed = run(Path(args.out), args.tiny, args.data_dir, args.accept_mirror, args.only)
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
