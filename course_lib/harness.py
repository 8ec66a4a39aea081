"""Run notebooks with papermill, check their parameters, and prepare copies for nbval."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill

from course_lib import atomic
from course_lib.course import NOTEBOOKS, Notebook

VOLATILE_METADATA = ("papermill", "execution")


def notebook_parameters(path: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its `parameters` cell, by name."""
    return papermill.inspect_notebook(str(path))


def check_parameters(path: Path, parameters: dict) -> None:
    """Raise ValueError if `parameters` names anything the notebook's `parameters` cell does not declare."""
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{path.name} has no parameter(s) {unknown}; it declares {sorted(declared)}")


def run_parameters(
    nb: Notebook,
    source: str,
    metrics_path: Path,
    data_dir: str = "",
    accept_mirror: bool = False,
    declared_in: Path | None = None,
) -> dict:
    """The parameters the course run passes to `nb` (only those it declares).

    `declared_in` reads the parameters cell from another copy of the notebook (a student's).
    """
    path = declared_in or nb.path
    declared = notebook_parameters(path)
    wanted = {
        "data_source": source,
        "data_dir": data_dir,
        "accept_mirror": accept_mirror,
        "metrics_path": str(metrics_path),
    }
    if source == "tiny":
        wanted |= nb.tiny_parameters
    parameters = {k: v for k, v in wanted.items() if k in declared}
    check_parameters(path, parameters)
    return parameters


def execute(nb: Notebook, output: Path, parameters: dict, progress: bool = True) -> None:
    """Execute `nb` with papermill into `output`, with the kernel in the notebooks folder."""
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(nb.path),
        str(output),
        parameters=parameters,
        cwd=str(nb.path.parent),
        progress_bar=progress,
        kernel_name="python3",
    )


def prepare_nbval_copies(folder: Path) -> list[Path]:
    """Write each notebook, parameterized for the tiny data, into `folder` (outputs kept, nothing run)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for nb in NOTEBOOKS:
        out = folder / nb.name
        parameters = run_parameters(nb, "tiny", folder / "metrics" / f"{nb.stem}.json")
        papermill.execute_notebook(str(nb.path), str(out), parameters=parameters, prepare_only=True, progress_bar=False)
        paths.append(out)
    return paths


def promote(executed: Path, target: Path) -> None:
    """Copy an executed notebook over its source: drop the injected-parameters cell and volatile metadata."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_METADATA:
            cell.metadata.pop(key, None)
    text = nbformat.writes(nb)
    atomic.write_text(target, text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "prepare-nbval":
        sys.exit("usage: python -m course_lib.harness prepare-nbval FOLDER")
    for path in prepare_nbval_copies(Path(sys.argv[2])):
        print(f"prepared {path}")
