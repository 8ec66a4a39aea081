"""Notebook 10's full recipe, trained once with one thing changed.

    python benchmarks/capstone_variant.py --data-dir ~/course-real-data --accept-mirror --init torch
        [--epochs 10] [--seed 42] [--out results/variants]
    python benchmarks/capstone_variant.py --data-dir ~/course-real-data --accept-mirror --all-images
    python benchmarks/capstone_variant.py --tiny --init torch --out /tmp/variant   # the script's check: a minute

Runs notebook 10's own cells, through papermill, from the start up to the cell that scores the
test set, with one change: `models.airbench_net(..., init=INIT)`, or (`--all-images`) training on
all 50,000 training images, the validation images included, once the choices are made (the
validation figures of such a run are then no longer held out, and say nothing). Otherwise the
same data split, schedule and evaluation as the committed run. Writes the executed notebook to `--out` and prints
its validation and test figures with the CPU. One seed per call: a difference smaller than the
seed spread (notebook 10's ablation measures it) is not shown by one run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat

from course_lib.tools import notebooks
from course_lib.tools.bench import cpu
from course_lib.tools.course_map import BY_FILENAME

NOTEBOOK = notebooks.CHECKOUT_NOTEBOOKS / "10_cifar10_speed_capstone.ipynb"
SPLIT_CELL = "x_train, y_train = x_all[order"  # the cell that holds out the validation images
LAST_CELL = "tta_test_accuracy = "  # the cell that scores the test set; the ablation and comparisons follow
FIGURES = ("capstone, test accuracy", "validation:", " epochs in ")


ALL_IMAGES = (
    "x_train, y_train = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])"
    "  # the one change: every training image"
)


def _index(nb: nbformat.NotebookNode, text: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source)


def variant(init: str | None = None, all_images: bool = False) -> nbformat.NotebookNode:
    """Notebook 10 up to its test score, with `models.airbench_net(init=init)` or on all training images."""
    if (init is None) == (not all_images):
        raise ValueError("give exactly one change: init or all_images")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    last = _index(nb, LAST_CELL)
    if all_images:
        after, code = _index(nb, SPLIT_CELL), ALL_IMAGES
    else:
        after = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        partial = f"functools.partial(models.airbench_net, init={init!r})"
        code = f"import functools\n\nmodels.airbench_net = {partial}  # the one change"
    nb.cells = nb.cells[: after + 1] + [nbformat.v4.new_code_cell(code)] + nb.cells[after + 1 : last + 1]
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="", help="folder holding the real CIFAR-10")
    parser.add_argument("--tiny", action="store_true", help="the built-in tiny data and sizes, to check the script")
    parser.add_argument("--accept-mirror", action="store_true", help="accept a re-packed local copy")
    change = parser.add_mutually_exclusive_group(required=True)
    change.add_argument("--init", choices=("keras", "torch"), help="the initialisation of the untied weights")
    change.add_argument("--all-images", action="store_true", help="train on all 50,000 images, choices made")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("results/variants"))
    args = parser.parse_args()
    data = "_tiny" if args.tiny else ""  # a check of the script never replaces a real run's notebook
    name = "all-images" if args.all_images else f"init-{args.init}"
    source = args.out / f"10_{name}_epochs{args.epochs}_seed{args.seed}{data}.source.ipynb"
    output = source.with_name(source.name.replace(".source", ""))
    args.out.mkdir(parents=True, exist_ok=True)
    nbformat.write(variant(args.init, args.all_images), source)
    tiny = {"data_source": "tiny"} | BY_FILENAME[NOTEBOOK.name].tiny_parameters if args.tiny else {}  # --epochs wins
    parameters = tiny | {"data_dir": str(Path(args.data_dir).expanduser()) if args.data_dir else "",
                         "accept_mirror": args.accept_mirror, "epochs": args.epochs, "seed": args.seed}  # fmt: skip
    try:
        notebooks.execute(source, output, parameters)
    finally:
        source.unlink()
    print(f"notebook 10, {name}, {args.epochs} epochs, seed {args.seed}; {cpu()}")
    for cell in nbformat.read(output, as_version=4).cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            print("".join(line for line in text.splitlines(True) if any(f in line for f in FIGURES)), end="")
    print(json.dumps({"notebook": str(output)}))


if __name__ == "__main__":
    main()
