"""Measure how far the tiny runs' key figures move with the kernels, the thread count and the seed.

    python tests/figure_spread.py [--seeds 42 43] [--workers 2] [--only STEM ...]

Runs every notebook that `notebook_figures.CHECKS` checks on the tiny data under each setting of
`SETTINGS` (oneDNN on/off, one or two intra-op threads: these change the kernels and the summation
order much as another CPU does), and the short notebooks (`SEEDED`) once more with a second seed. Writes `tests/figure_spread.json` (every
run's figures, the command and the CPU) and `tests/figure_spread.md` (the table). `notebook_figures.py`
sets its floors so that every run in that file clears them by a margin; `test_figure_checks.py` checks it.
Each run's figures are deterministic for its setting, so runs may share the CPU (`--workers`).
`--only` remeasures the notebooks named and keeps every other run in `figure_spread.json`; the file
then says which notebooks were remeasured, when, with what command, on which CPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = {  # name -> environment of the kernel
    "oneDNN 1, 2 threads": {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": "2"},
    "oneDNN 1, 1 thread": {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": "1"},
    "oneDNN 0, 2 threads": {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "2"},
    "oneDNN 0, 1 thread": {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "1"},
}
SEEDED = ("01_", "03_", "05_", "08_", "09_")  # short tiny runs: also run with the second seed
TIMINGS = ("seconds", "minutes", "images_per_second", "ms_per_step", "lrn_share")


def _figures(metrics: dict) -> dict:
    """The metrics without timings (they measure the machine's load, not the kernels)."""
    kept = {}
    for key, value in metrics.items():
        if any(t in key for t in TIMINGS):
            continue
        kept[key] = _figures(value) if isinstance(value, dict) else value
    return kept


def run_one(stem: str, setting: str, seed: int | None) -> dict:
    """Execute one notebook on the tiny data under `setting`; return its record."""
    os.environ.update(SETTINGS[setting] | {"COURSE_OFFLINE": "1"})
    os.environ.setdefault("COURSE_DATA_DIR", str(HERE.parent / "build" / "test-data"))
    from course_lib.tools.course_map import NAMES
    from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS, execute, run_parameters

    nb = NAMES[f"{stem}.ipynb"]
    with tempfile.TemporaryDirectory(prefix="spread-") as tmp:
        metrics = Path(tmp) / "metrics.json"
        parameters = run_parameters(nb, CHECKOUT_NOTEBOOKS / nb.name, "tiny", metrics)
        if seed is not None:
            parameters["seed"] = seed
        source = Path(tmp) / nb.name
        source.write_text((CHECKOUT_NOTEBOOKS / nb.name).read_text())
        execute(source, Path(tmp) / "out.ipynb", parameters)
        found = json.loads(metrics.read_text())
    return {"notebook": stem, "setting": setting, "seed": seed, "figures": _figures(found)}


def table(runs: list[dict]) -> str:
    """Markdown: one row per notebook and figure, one column per setting and seed."""
    columns = sorted({(r["setting"], r["seed"]) for r in runs}, key=lambda c: (list(SETTINGS).index(c[0]), c[1] or 0))
    header = [f"{s}{'' if seed is None else f', seed {seed}'}" for s, seed in columns]
    lines = ["| notebook | figure | " + " | ".join(header) + " |", "|---" * (len(columns) + 2) + "|"]
    by_key = {(r["notebook"], r["setting"], r["seed"]): _flat(r["figures"]) for r in runs}
    for stem in sorted({r["notebook"] for r in runs}):
        names = sorted({k for (s, _, _), f in by_key.items() if s == stem for k in f})
        for name in names:
            cells = [by_key.get((stem, s, seed), {}).get(name, "") for s, seed in columns]
            lines.append(f"| {stem} | {name} | " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def _flat(figures: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            flat |= _flat(value, f"{prefix}{key}/")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[prefix + key] = value
    return flat


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[43], help="extra seeds for the short notebooks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="+", metavar="STEM", help="remeasure these notebooks, keep the other runs")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from notebook_figures import CHECKS

    from course_lib.tools.bench import cpu

    jobs = [(stem, setting, None) for setting in SETTINGS for stem in CHECKS]
    jobs += [(stem, setting, seed) for seed in args.seeds for setting in SETTINGS for stem in CHECKS
             if stem.startswith(SEEDED)]  # fmt: skip
    this = {
        "command": " ".join(["python tests/figure_spread.py", *argv]),
        "cpu": cpu(),
        "date": datetime.date.today().isoformat(),
    }
    record, kept = this | {"runs": []}, []
    if args.only:
        unknown = sorted(set(args.only) - set(CHECKS))
        if unknown:
            parser.error(f"no figure checks for {unknown}; checked notebooks: {sorted(CHECKS)}")
        jobs = [job for job in jobs if job[0] in args.only]
        record = json.loads((HERE / "figure_spread.json").read_text())
        kept = [r for r in record["runs"] if r["notebook"] not in args.only]
        earlier = [m for m in record.get("remeasured", []) if not set(m["notebooks"]) <= set(args.only)]
        record["remeasured"] = [*earlier, this | {"notebooks": sorted(args.only)}]
    partial = HERE / "figure_spread.partial.json"  # runs finished so far: a stopped measurement resumes
    finished = json.loads(partial.read_text())["runs"] if partial.exists() else []
    finished = [r for r in finished if not args.only or r["notebook"] in args.only]
    done = {(r["notebook"], r["setting"], r["seed"]) for r in finished}
    record["runs"] = kept + finished
    todo = [job for job in jobs if job not in done]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, *job) for job in todo]
        for count, future in enumerate(as_completed(futures), 1):
            run = future.result()  # a failing notebook stops the measurement: its figures would be missing
            record["runs"].append(run)
            partial.write_text(json.dumps(record, indent=1) + "\n")
            print(f"{count}/{len(todo)}: {run['notebook']}, {run['setting']}, seed {run['seed']}", file=sys.stderr)
    record["runs"].sort(key=lambda r: (r["notebook"], list(SETTINGS).index(r["setting"]), r["seed"] or 0))
    (HERE / "figure_spread.json").write_text(json.dumps(record, indent=1) + "\n")
    partial.unlink(missing_ok=True)
    intro = f"Command: `{record['command']}`, {record['date']}, {record['cpu']}.\n"
    for m in record.get("remeasured", []):
        intro += f"Remeasured {', '.join(m['notebooks'])}: `{m['command']}`, {m['date']}, {m['cpu']}.\n"
    intro += "Seed: the notebook's own unless said.\n\n"
    (HERE / "figure_spread.md").write_text(intro + table(record["runs"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
