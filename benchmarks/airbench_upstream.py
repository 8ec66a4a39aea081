"""Jordan's own airbench94, in PyTorch, on the course's CIFAR-10 copy and a CPU: the yardstick for notebook 10's port.

    pip install torch torchvision        # not course dependencies: in the course's environment or beside it
    python benchmarks/airbench_upstream.py --airbench cifar10-airbench/legacy/airbench94.py \
        --data-dir ~/course-real-data --accept-mirror [--seed 42] [--runs 1]

`--airbench` is the file `legacy/airbench94.py` of github.com/KellerJordan/cifar10-airbench (measured
here at commit f1c599c). Its code is not edited: it is imported as a module and its `main(run)` is
called once per run, after `torch.manual_seed`, with its `evaluate` wrapped to record the scores.
What ties it to a GPU is replaced:
- `.cuda()` leaves a module where it is, and its data loader loads to the CPU (`gpu="cpu"`);
- `.half()` keeps float32 (airbench trains in float16 on the GPU; the Keras port trains in float32);
- CUDA's timing events read the wall clock, and `torch.cuda.synchronize` does nothing.
Its data, `cifar10/train.pt` and `test.pt` (uint8 images, NHWC, and labels, as airbench's loader
writes them from torchvision), is written from `course_lib.data.load_cifar10` into a temporary
folder, so both trainings see the same images. Airbench trains on all 50,000 training images and
scores the test set after every epoch (one view); the script prints airbench's own table and then
the final one-view and test-time-view (mirror + translations) accuracies with the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from course_lib import data
from course_lib.tools.bench import cpu


class WallClock:
    """Stands in for `torch.cuda.Event(enable_timing=True)`: `record`, then `elapsed_time` in milliseconds."""

    def __init__(self, **_):
        self.at = 0.0

    def record(self) -> None:
        self.at = time.perf_counter()

    def elapsed_time(self, end: WallClock) -> float:
        return 1000 * (end.at - self.at)


def run_on_cpu(torch: ModuleType) -> None:
    """Replace what ties airbench94 to a CUDA GPU in float16 by CPU and float32 equivalents."""
    torch.nn.Module.cuda = lambda self, *a, **kw: self
    torch.nn.Module.half = lambda self: self
    torch.Tensor.half = lambda self, *a, **kw: self.float()
    torch.cuda.Event = WallClock
    torch.cuda.synchronize = lambda *a, **kw: None


def write_data(torch: ModuleType, folder: Path, data_dir: str | None, accept_mirror: bool) -> None:
    """CIFAR-10 from the course's loader as airbench's `cifar10/train.pt` and `test.pt` under `folder`."""
    (x_train, y_train), (x_test, y_test) = data.load_cifar10("real", "python", data_dir, accept_mirror or None)
    (folder / "cifar10").mkdir()
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        torch.save({"images": torch.from_numpy(np.ascontiguousarray(images)),
                    "labels": torch.from_numpy(labels.ravel().astype(np.int64)),
                    "classes": list(data.CIFAR_CLASSES)}, folder / "cifar10" / f"{name}.pt")  # fmt: skip


def load_airbench(path: Path) -> ModuleType:
    """Import `legacy/airbench94.py` from `path` (its `__main__` block, 25 runs, does not run); its loader on the CPU."""
    if not path.is_file():
        raise SystemExit(f"{path} is not a file: pass --airbench the path of legacy/airbench94.py from "
                         "a clone of https://github.com/KellerJordan/cifar10-airbench")  # fmt: skip
    spec = importlib.util.spec_from_file_location("airbench94", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.CifarLoader.__init__ = functools.partialmethod(module.CifarLoader.__init__, gpu="cpu")
    return module


def one_run(airbench: ModuleType, torch: ModuleType, run: int, seed: int) -> tuple[float, float]:
    """Airbench's `main(run)` with `seed`: (final test accuracy with one view, with its test-time views)."""
    torch.manual_seed(seed)
    one_view = []
    evaluate = airbench.evaluate

    def recorded(model, loader, tta_level=0):
        score = evaluate(model, loader, tta_level)
        if tta_level == 0:
            one_view.append(score)
        return score

    airbench.evaluate = recorded
    try:
        tta = airbench.main(run)
    finally:
        airbench.evaluate = evaluate
    return one_view[-1], tta  # the last epoch's one-view score, then the test-time views'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--airbench", type=Path, required=True, help="path of legacy/airbench94.py")
    parser.add_argument("--data-dir", default=None, help="folder holding CIFAR-10 (as for the notebooks)")
    parser.add_argument("--accept-mirror", action="store_true", help="accept a re-packed local copy")
    parser.add_argument("--seed", type=int, default=42, help="torch.manual_seed of the first run")
    parser.add_argument("--runs", type=int, default=1, help="runs, seeds seed, seed + 1, ...")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is not installed: `pip install torch torchvision` (not a course dependency)")
    run_on_cpu(torch)
    airbench = load_airbench(args.airbench.resolve())
    print("CPU:", cpu(), "| torch", torch.__version__, "| threads", torch.get_num_threads())
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        write_data(torch, Path(folder), args.data_dir, args.accept_mirror)
        airbench.print_columns(airbench.logging_columns_list, is_head=True)
        for run in range(args.runs):
            one_view, tta = one_run(airbench, torch, run, args.seed + run)
            print(f"seed {args.seed + run}: test accuracy {one_view:.2%} one view, {tta:.2%} mirror + translations")


if __name__ == "__main__":
    main()
