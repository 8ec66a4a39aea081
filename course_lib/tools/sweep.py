"""A papermill parameter sweep on Dask: every combination of the values given, one notebook run each.

    course sweep notebooks/01_mnist_softmax_regression.ipynb -p learning_rate 0.1 0.5 -p seed 1 2 --out sweep/ --tiny

Each value is typed as the notebook's `parameters` cell declares it; an unknown name or a value of
the wrong type is refused before anything runs. OUT/sweep.csv has one row per run (its parameters,
every key figure of its metrics, status, seconds), OUT/runs/ the executed notebooks, OUT/sweep.png
the chosen metric against the swept parameters. Running the same sweep again skips the runs that
finished and reruns the failed ones.
"""

from __future__ import annotations

import ast
import csv
import itertools
import re
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from course_lib import atomic
from course_lib.tools.course_map import BY_FILENAME, Notebook
from course_lib.tools.jobs import NotebookJob, run_jobs
from course_lib.tools.notebooks import notebook_parameters, run_parameters

CONVERTERS = {"int": int, "float": float, "str": str, "bool": lambda v: {"true": True, "false": False}[v.lower()]}


def typed_grid(path: Path, options: list[list[str]]) -> dict[str, list]:
    """The swept parameters `[[NAME, V1, V2, ...], ...]`, each value converted to its declared type.

    ValueError, naming the notebook's parameters, for an unknown name, a repeated one, no values, or
    a value of the wrong type.
    """
    declared = notebook_parameters(path)
    grid: dict[str, list] = {}
    for name, *values in options:
        if name not in declared:
            listing = ", ".join(f"{n} ({d['inferred_type_name']})" for n, d in declared.items())
            raise ValueError(f"{path.name} has no parameter {name!r}; it declares: {listing}")
        if name in grid or not values:
            raise ValueError(f"give each parameter once, with at least one value: -p {name} V1 V2 ...")
        kind = declared[name]["inferred_type_name"]
        grid[name] = [_convert(name, kind, value) for value in values]
    return grid


def _convert(name: str, kind: str, value: str):
    try:
        return CONVERTERS[kind](value) if kind in CONVERTERS else ast.literal_eval(value)
    except (ValueError, KeyError, SyntaxError):
        raise ValueError(f"parameter {name} is declared {kind}: {value!r} is not a {kind}") from None


def combinations(grid: dict[str, list]) -> list[dict]:
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def run_key(parameters: dict) -> str:
    """A file-name-safe name for one run: `learning_rate=0.1_seed=1`."""
    return re.sub(r"[^\w.=+-]", "-", "_".join(f"{k}={v}" for k, v in parameters.items()))


def sweep(
    path: Path, options: list[list[str]], out: Path, *, tiny: bool = False, metric: str = "", data_dir: str = "",
    workers: int = 1, scheduler: str | None = None, report: Callable[[str], None] = tqdm.write,
) -> list[dict]:  # fmt: skip
    """Run the sweep; return the rows of OUT/sweep.csv (written again after every finished run).

    `report` gets a line saying how many runs are new and how many finished earlier.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no notebook {path}")
    grid = typed_grid(path, options)
    entry = BY_FILENAME.get(path.name, Notebook(path.name, path.stem))  # a course notebook brings its tiny settings
    base = run_parameters(entry, path, "tiny" if tiny else "real", Path("metrics.json"), data_dir)
    previous = {row["run"]: row for row in _read_rows(out / "sweep.csv")}
    runs = {run_key(p): p for p in combinations(grid)}
    rows = {key: row for key, row in previous.items() if key in runs and row["status"] == "ok"}
    todo = [NotebookJob(key, path.read_text(), base | p) for key, p in runs.items() if key not in rows]
    report(f"{len(runs)} runs: {len(rows)} already finished, {len(todo)} to run")
    for result in run_jobs(todo, workers, scheduler, desc="sweep"):
        result.save_notebook(out / "runs")
        figures = {k: v for k, v in result.metrics.items() if isinstance(v, int | float | str | bool)}
        rows[result.key] = {"run": result.key, **runs[result.key], **figures} | {
            "status": result.status, "seconds": round(result.seconds, 1)
        }  # fmt: skip
        _write_rows(out / "sweep.csv", [rows[k] for k in runs if k in rows])
    ordered = [rows[k] for k in runs if k in rows]
    if metric:
        plot(ordered, list(grid), metric, out / "sweep.png")
    return ordered


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_rows(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row if k not in ("status", "seconds")))
    atomic.write_csv(path, rows, [*columns, "status", "seconds"])


def plot(rows: list[dict], swept: list[str], metric: str, path: Path) -> None:
    """`metric` against the first swept parameter, one line per combination of the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name, others = swept[0], swept[1:]
    measured = [r for r in rows if r.get(metric) not in (None, "")]
    x = float if all(_is_number(r[x_name]) for r in measured) else str  # a str parameter's "1" and "x": text
    fig, ax = plt.subplots(figsize=(6, 4))

    def combination(row: dict) -> tuple[str, ...]:
        return tuple(str(row[o]) for o in others)

    for group, members in itertools.groupby(sorted(measured, key=combination), key=combination):
        points = sorted((x(r[x_name]), float(r[metric])) for r in members)
        label = ", ".join(f"{o}={v}" for o, v in zip(others, group)) or metric
        ax.plot(*zip(*points), marker="o", label=label)
    ax.set(xlabel=x_name, ylabel=metric, title=f"{metric} against {x_name}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
