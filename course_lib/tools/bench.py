"""`course bench`: how fast the course's models train and infer, beside TensorFlow's defaults and the machine's ceiling.

    course bench [--quick] [--rounds N] [--seconds S] [--json PATH]

Each setting runs in its own Python process, because TensorFlow reads `TF_ENABLE_ONEDNN_OPTS`
when it loads: the course's (oneDNN on), TensorFlow's default (the variable unset), oneDNN
forced off, and mixed bfloat16 where the CPU has native BF16. The settings take turns, round
after round (A, B, C, A, B, C ...), because these machines drift from minute to minute; the
table gives the min and the median over the rounds. Every process also measures the machine's
float32 matmul GFLOP/s, the ceiling each model's achieved training GFLOP/s is compared with
(FLOPs per image counted by TensorFlow's profiler from the model's forward and gradient graphs).
The first process of each round (the course setting) also times the input pipelines, on synthetic
files, and counts the FLOPs. `--quick` uses tiny sizes, one round and the course's setting only: it
only shows that every row can be filled (the suite runs it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from course_lib import atomic
from course_lib.runtime import ONEDNN

SETTINGS = {  # name -> (TF_ENABLE_ONEDNN_OPTS, Keras dtype policy); None: the variable unset
    "course": ("1", "float32"),
    "TF default": (None, "float32"),
    "oneDNN off": ("0", "float32"),
    "bf16": ("1", "mixed_bfloat16"),
}
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
WORKER = "import tensorflow; from course_lib.tools import bench_worker; bench_worker.main()"


def cpu_flags() -> set[str]:
    """The CPU's instruction-set flags, from /proc/cpuinfo (empty where there is none)."""
    info = Path("/proc/cpuinfo")
    found = re.search(r"^flags\s*:\s*(.+)$", info.read_text(), re.MULTILINE) if info.exists() else None
    return set(found[1].split()) if found else set()


def cpu() -> str:
    """The CPU model, its core count, and which of AVX2 / AVX-512 / BF16 / AMX it has."""
    info = Path("/proc/cpuinfo")
    text = info.read_text() if info.exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", text)
    family, number = re.search(r"cpu family\s*:\s*(\d+)", text), re.search(r"^model\s*:\s*(\d+)", text, re.MULTILINE)
    flags = cpu_flags()
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16") if f in flags]
    name = model[1] if model else platform.processor() or "unknown CPU"
    if family and number:  # "AMD EPYC" alone does not say which generation
        name += f" (family {family[1]}, model {number[1]})"
    return f"{name}, {os.cpu_count()} cores, flags: {' '.join(wanted) or 'none of AVX2/AVX-512/BF16/AMX'}"


def settings_for(flags: set[str]) -> list[str]:
    """The settings worth measuring here: bf16 only where the CPU computes it natively."""
    return [name for name in SETTINGS if name != "bf16" or any(f in flags for f in BF16_FLAGS)]


def worker_env(setting: str, quick: bool, seconds: float, first: bool) -> dict[str, str]:
    """The environment of a measuring process for `setting`."""
    env = {k: v for k, v in os.environ.items() if k != ONEDNN}
    onednn, policy = SETTINGS[setting]
    if onednn is not None:
        env[ONEDNN] = onednn
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        COURSE_BENCH=json.dumps({"policy": policy, "quick": quick, "seconds": seconds, "first": first}),
    )
    return env


def measure_setting(setting: str, quick: bool, seconds: float, first: bool) -> dict:
    """Run one measuring process for `setting` and return its figures (`first`: pipelines and FLOPs too)."""
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", WORKER],
        env=worker_env(setting, quick, seconds, first), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"the {setting!r} measuring process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclasses.dataclass
class Rounds:
    """Every figure of every round, per setting: {setting: [figures of round 1, round 2, ...]}."""

    runs: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    order: list[str] = dataclasses.field(default_factory=list)


def run_rounds(settings: list[str], rounds: int, measure: Callable[[str, bool], dict], progress=print) -> Rounds:
    """Measure every setting once per round, in turn (A, B, A, B ...).

    `measure(setting, first)`: the first setting of each round also times the pipelines and counts FLOPs.
    """
    result = Rounds({s: [] for s in settings})
    for r in range(1, rounds + 1):
        for i, setting in enumerate(settings):
            progress(f"round {r}/{rounds}: {setting}")
            result.runs[setting].append(measure(setting, i == 0))
            result.order.append(setting)
    return result


def spread(values: list[float]) -> dict[str, float]:
    """Min and median of a figure over the rounds."""
    return {"min": min(values), "median": statistics.median(values)}


def summarize(rounds: Rounds) -> dict:
    """Min and median per model, setting and figure; matmul ceilings; pipelines; FLOPs per image."""
    first_runs = next(iter(rounds.runs.values()))
    first = first_runs[0]
    summary = {"models": {}, "matmul_gflops": {}, "pipelines": {}, "rounds": len(first_runs)}
    for setting, runs in rounds.runs.items():
        summary["matmul_gflops"][setting] = spread([run["matmul_gflops"] for run in runs])
        for name in first["models"]:
            row = summary["models"].setdefault(name, {k: first["models"][name][k] for k in ("batch", "train_flops")})
            for figure in ("train", "infer"):
                row.setdefault(figure, {})[setting] = spread([run["models"][name][figure] for run in runs])
    pipeline_runs = [run["pipelines"] for runs in rounds.runs.values() for run in runs if run.get("pipelines")]
    for name in pipeline_runs[0] if pipeline_runs else ():
        summary["pipelines"][name] = spread([p[name] for p in pipeline_runs])
    return summary


FEEDS = {"queue pipeline (TF1)": "LRN CNN (04)", "tf.data records": "LRN CNN (04)", "folder loader": "folder CNN (09)"}


def _cell(figure: dict | None) -> str:
    return "—" if figure is None else f"{figure['min']:,.0f} / {figure['median']:,.0f}"


def table(summary: dict, machine: str) -> str:
    """The Markdown report: training and inference images/s, GFLOP/s against the ceiling, pipelines."""
    settings = list(summary["matmul_gflops"])
    n = summary["rounds"]
    ceiling = summary["matmul_gflops"]["course"]["median"]
    lines = [
        f"Machine: {machine}. {n} round(s); each cell: min / median images/s over the rounds.",
        "",
        "| model | batch | training GFLOP/image | " + " | ".join(f"train: {s}" for s in settings)
        + " | " + " | ".join(f"infer: {s}" for s in settings) + " | course: GFLOP/s (share of matmul) |",
        "|---" * (3 + 2 * len(settings) + 1) + "|",
    ]  # fmt: skip
    for name, row in summary["models"].items():
        achieved = row["train"]["course"]["median"] * row["train_flops"] / 1e9
        cells = [_cell(row["train"].get(s)) for s in settings] + [_cell(row["infer"].get(s)) for s in settings]
        lines.append(
            f"| {name} | {row['batch']} | {row['train_flops'] / 1e9:.3f} | " + " | ".join(cells)
            + f" | {achieved:,.1f} ({achieved / ceiling:.0%}) |"
        )  # fmt: skip
    lines += ["", "| float32 matmul ceiling | " + " | ".join(settings) + " |", "|---" * (len(settings) + 1) + "|"]
    lines.append(
        "| GFLOP/s (min / median) | " + " | ".join(_cell(summary["matmul_gflops"][s]) for s in settings) + " |"
    )
    if summary["pipelines"]:
        lines += ["", "| input pipeline | images/s (min / median) | feeds | that model trains at (course) |"]
        lines.append("|---|---|---|---|")
        for name, figure in summary["pipelines"].items():
            model = FEEDS[name]
            lines.append(
                f"| {name} | {_cell(figure)} | {model} | {_cell(summary['models'][model]['train']['course'])} |"
            )
    return "\n".join(lines)


def bench(quick: bool, rounds: int, seconds: float, json_path: Path | None, progress=print) -> str:
    """Measure, print the table, and write every figure (raw rounds too) as JSON to `json_path`."""
    settings = settings_for(cpu_flags())[: 1 if quick else None]
    measured = run_rounds(settings, rounds, lambda s, first: measure_setting(s, quick, seconds, first), progress)
    summary = summarize(measured)
    machine = cpu()
    report = table(summary, machine)
    if json_path is not None:
        record = {
            "machine": machine,
            "quick": quick,
            "order": measured.order,
            "summary": summary,
            "runs": measured.runs,
        }
        atomic.write_text(json_path, json.dumps(record, indent=1) + "\n")
    return report
