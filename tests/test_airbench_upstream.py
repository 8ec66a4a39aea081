"""benchmarks/airbench_upstream.py: airbench94 itself on a CPU. The suite has no PyTorch: a fake stands in."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import benchmark_scripts
import numpy as np
import pytest


def _script():
    return benchmark_scripts.load("airbench_upstream")


class _Tensor:
    def float(self):
        return "float32"


class _Module:
    pass


def _fake_torch(saved: dict | None = None, seeds: list | None = None) -> SimpleNamespace:
    def save(obj, path):
        saved[Path(path).relative_to(Path(path).parents[1]).as_posix()] = obj

    return SimpleNamespace(
        nn=SimpleNamespace(Module=_Module),
        Tensor=_Tensor,
        cuda=SimpleNamespace(Event=None, synchronize=None),
        save=save,
        from_numpy=lambda a: a,
        manual_seed=(seeds if seeds is not None else []).append,
    )


def test_run_on_cpu_keeps_modules_where_they_are_and_in_float32():
    script, torch = _script(), _fake_torch()
    script.run_on_cpu(torch)
    module = _Module()
    assert module.cuda() is module and module.cuda(0) is module and module.half() is module
    assert _Tensor().half() == "float32", "half() keeps float32"
    assert torch.cuda.Event is script.WallClock and torch.cuda.synchronize() is None


def test_the_wall_clock_times_in_milliseconds(monkeypatch):
    script = _script()
    monkeypatch.setattr(script, "time", SimpleNamespace(perf_counter=iter([2.0, 2.5]).__next__))
    start, end = script.WallClock(enable_timing=True), script.WallClock(enable_timing=True)
    start.record()
    end.record()
    assert start.elapsed_time(end) == 500.0


def test_the_data_is_written_as_airbench_reads_it(tmp_path, monkeypatch):
    script, saved = _script(), {}
    train = (np.zeros((4, 32, 32, 3), np.uint8), np.array([[1], [2], [3], [4]], np.uint8))
    test = (np.ones((2, 32, 32, 3), np.uint8), np.array([5, 6], np.uint8))
    asked = []
    monkeypatch.setattr(script.data, "load_cifar10", lambda *a: asked.append(a) or (train, test))
    script.write_data(_fake_torch(saved), tmp_path, "/data", True)
    assert asked == [("real", "python", "/data", True)]
    assert sorted(saved) == ["cifar10/test.pt", "cifar10/train.pt"] and (tmp_path / "cifar10").is_dir()
    assert saved["cifar10/train.pt"]["labels"].tolist() == [1, 2, 3, 4], "labels flat"
    assert saved["cifar10/train.pt"]["labels"].dtype == np.int64 and saved["cifar10/test.pt"]["images"].min() == 1
    images = saved["cifar10/train.pt"]["images"]
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8, "uint8, NHWC: airbench divides and permutes"
    assert saved["cifar10/test.pt"]["classes"][0] == "airplane" and len(saved["cifar10/test.pt"]["classes"]) == 10


def test_a_missing_airbench_file_says_where_to_get_it(tmp_path):
    with pytest.raises(SystemExit, match="legacy/airbench94.py.*KellerJordan/cifar10-airbench"):
        _script().load_airbench(tmp_path / "airbench94.py")


def test_one_run_seeds_and_reports_the_last_epochs_one_view_and_the_views(tmp_path):
    upstream = tmp_path / "airbench94.py"
    upstream.write_text(
        "calls = []\n"
        "class CifarLoader:\n"
        "    def __init__(self, path, train=True, gpu=0):\n"
        "        self.gpu = gpu\n"
        "def evaluate(model, loader, tta_level=0):\n"
        "    calls.append(tta_level)\n"
        "    return {0: 0.5 + len(calls) / 100, 2: 0.9}[tta_level]\n"
        "def main(run):\n"
        "    for epoch in range(3):\n"
        "        evaluate(None, None, tta_level=0)\n"
        "    return evaluate(None, None, tta_level=2)\n"
    )
    script, seeds = _script(), []
    airbench = script.load_airbench(upstream)
    original = airbench.evaluate
    assert script.one_run(airbench, _fake_torch(seeds=seeds), 0, 43) == (0.53, 0.9), "epoch 3's score, then the views'"
    assert seeds == [43] and airbench.calls == [0, 0, 0, 2] and airbench.evaluate is original
    assert airbench.CifarLoader("cifar10", train=False).gpu == "cpu", "the loader loads to the CPU"
