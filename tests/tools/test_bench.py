"""`course bench`: every row filled (quick mode), settings interleaved, min/median, FLOPs counted right.

Speeds are never asserted: these machines are too noisy for a threshold. The full run is for the README.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.tools import bench

WORKER_MODELS = ["softmax regression (01)", "on-ramp CNN (03)", "LRN CNN (04)", "published BN CNN (07)",
                 "modern BN CNN (07)", "folder CNN (09)", "capstone network"]  # fmt: skip


def test_quick_bench_fills_every_row(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "course_lib.tools", "bench", "--quick", "--json", str(tmp_path / "bench.json")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    record = json.loads((tmp_path / "bench.json").read_text())
    settings = bench.settings_for(bench.cpu_flags())[:1]  # quick: the course's setting only
    assert settings == ["course"]
    summary = record["summary"]
    assert list(summary["matmul_gflops"]) == settings and all(v["min"] > 0 for v in summary["matmul_gflops"].values())
    assert list(summary["models"]) == WORKER_MODELS
    for name, row in summary["models"].items():
        assert row["train_flops"] > 0 and row["batch"] > 0, name
        for figure in ("train", "infer"):
            assert list(row[figure]) == settings and all(v["min"] > 0 for v in row[figure].values()), (name, figure)
    assert set(summary["pipelines"]) == set(bench.FEEDS) and all(v["min"] > 0 for v in summary["pipelines"].values())
    for name in WORKER_MODELS + list(bench.FEEDS):
        assert re.search(rf"^\| {re.escape(name)} \|", out.stdout, re.MULTILINE), f"no row for {name}"
    assert "—" not in out.stdout and "flags: " in out.stdout


def test_settings_take_turns_and_pipelines_are_timed_once_per_round():
    calls = []

    def measure(setting, pipelines):
        calls.append((setting, pipelines))
        return {}

    rounds = bench.run_rounds(["A", "B", "C"], 2, measure, progress=lambda m: None)
    assert calls == [("A", True), ("B", False), ("C", False)] * 2
    assert rounds.order == ["A", "B", "C", "A", "B", "C"] and [len(r) for r in rounds.runs.values()] == [2, 2, 2]


def _run(matmul, train, infer, pipelines=None):
    figures = {
        "matmul_gflops": matmul,
        "models": {"m": {"batch": 4, "train_flops": 10, "train": train, "infer": infer}},
    }
    return figures | ({"pipelines": {"tf.data records": pipelines}} if pipelines else {})


def test_summary_gives_min_and_median_over_rounds_per_setting():
    runs = {"course": [_run(9, 1, 10, 100), _run(3, 5, 30, 300), _run(6, 2, 20, 200)], "off": [_run(1, 7, 8)] * 3}
    summary = bench.summarize(bench.Rounds(runs))
    assert summary["rounds"] == 3
    assert summary["matmul_gflops"] == {"course": {"min": 3, "median": 6}, "off": {"min": 1, "median": 1}}
    assert summary["models"]["m"]["train"] == {"course": {"min": 1, "median": 2}, "off": {"min": 7, "median": 7}}
    assert summary["models"]["m"]["infer"]["course"] == {"min": 10, "median": 20}
    assert summary["pipelines"] == {"tf.data records": {"min": 100, "median": 200}}


def test_bf16_is_measured_only_where_the_cpu_has_it():
    assert bench.settings_for({"avx2"}) == ["course", "TF default", "oneDNN off"]
    assert bench.settings_for({"avx2", "avx512f", "avx512_bf16"})[-1] == "bf16"
    assert bench.settings_for({"amx_bf16"})[-1] == "bf16"


def test_the_tf_default_process_leaves_the_onednn_variable_unset(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    assert "TF_ENABLE_ONEDNN_OPTS" not in bench.worker_env("TF default", True, 0.1, False)
    assert bench.worker_env("oneDNN off", True, 0.1, False)["TF_ENABLE_ONEDNN_OPTS"] == "0"
    code = (
        bench.WORKER.split(";")[0] + "; import os, course_lib; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))"
    )
    env = bench.worker_env("TF default", True, 0.1, False)
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split()[-1] == "unset", "importing course_lib after TensorFlow must not set the variable"


@pytest.fixture(scope="module")
def worker():
    from course_lib.tools import bench_worker

    return bench_worker


def test_flops_are_counted_from_the_graph(worker):
    import keras

    dense = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    assert worker.flops_per_image(dense, (784,))[0] == 2 * 784 * 10 + 10, "a matmul and a bias add"
    conv = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, use_bias=False), keras.layers.Flatten(),
                             keras.layers.Dense(2, use_bias=False)])  # fmt: skip
    forward, training = worker.flops_per_image(conv, (8, 8, 3))
    assert forward == 2 * (6 * 6 * 3 * 3 * 3 * 4) + 2 * (6 * 6 * 4 * 2)
    assert 2 * forward < training < 5 * forward, "the gradients cost about twice the forward pass"


def test_the_benchmark_builds_the_notebooks_models_from_course_lib(worker):
    builders = {name: spec.build for name, spec in worker.MODELS.items() if name != "capstone network"}
    assert {b.__module__ for b in builders.values()} == {"course_lib.models"}, "no model is declared twice"


def test_a_failing_measuring_process_is_reported_with_its_error(monkeypatch):
    monkeypatch.setattr(bench, "WORKER", "raise SystemExit('no TensorFlow here')")
    with pytest.raises(RuntimeError, match="'course' measuring process failed:\nno TensorFlow here"):
        bench.measure_setting("course", True, 0.1, False)


def test_cpu_line_names_the_instruction_sets():
    line = bench.cpu()
    assert "cores" in line and "flags:" in line
    assert Path("/proc/cpuinfo").exists() <= any(f in line for f in ("avx2", "none of"))
