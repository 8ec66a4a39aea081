"""Find the course's notebooks, check and fill their parameters, execute them with papermill, promote runs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager

from course_lib import atomic
from course_lib.tools.assignments import is_hidden_cell
from course_lib.tools.course_map import NOTEBOOKS, Notebook

VOLATILE_METADATA = ("papermill", "execution")
CHECKOUT_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def notebooks_dir(chosen: str | os.PathLike | None = None) -> Path:
    """The folder holding the course notebooks: `chosen`, else the checkout's `notebooks/`, else `./notebooks`."""
    candidates = [Path(chosen)] if chosen else [CHECKOUT_NOTEBOOKS, Path.cwd() / "notebooks"]
    for folder in candidates:
        if (folder / NOTEBOOKS[0].name).is_file() or (chosen and any(folder.glob("*.ipynb"))):
            return folder.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no course notebooks in {looked}; pass the folder with --notebooks (the checkout's notebooks/)"
    )


def notebook_parameters(path: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its `parameters` cell, by name."""
    return papermill.inspect_notebook(str(path))


def check_parameters(path: Path, parameters: dict, declared: dict | None = None) -> None:
    """Raise ValueError if `parameters` names anything the notebook's `parameters` cell does not declare.

    `declared` is the notebook's `notebook_parameters`, if the caller has read them already.
    """
    declared = notebook_parameters(path) if declared is None else declared
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{path.name} has no parameter(s) {unknown}; it declares {sorted(declared)}")


def run_parameters(
    nb: Notebook, path: Path, source: str, metrics_path: Path, data_dir: str = "", accept_mirror: bool = False
) -> dict:
    """The parameters a course run passes to `nb`, read from `path` (the course's copy or a student's).

    The data settings go only to notebooks that read data; `metrics_path` and, for the tiny
    source, every tiny parameter of the course map must be declared, or ValueError names them.
    """
    declared = notebook_parameters(path)
    data_settings = {"data_source": source, "data_dir": data_dir, "accept_mirror": accept_mirror}
    parameters = {k: v for k, v in data_settings.items() if k in declared} | {"metrics_path": str(metrics_path)}
    if source == "tiny":
        parameters |= nb.tiny_parameters
    check_parameters(path, parameters, declared)
    return parameters


class IPCKernelManager(AsyncKernelManager):
    """Kernels that talk over IPC sockets: no ports to collide between concurrent kernels, no TCP warning."""

    def __init__(self, **kwargs):
        super().__init__(**{"transport": "ipc", **kwargs})


def execute(
    source: Path, output: Path, parameters: dict, on_cell: Callable[..., None] | None = None, **engine_kwargs
) -> None:
    """Execute `source` with papermill into `output`, the kernel in the notebook's folder.

    `on_cell` is called after each code cell (nbclient's `on_cell_executed` hook).
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    if on_cell is not None:
        engine_kwargs["on_cell_executed"] = on_cell
    papermill.execute_notebook(
        str(source), str(output), parameters=parameters, cwd=str(source.parent), progress_bar=False,
        kernel_name="python3", kernel_manager_class=IPCKernelManager, **engine_kwargs,
    )  # fmt: skip


def prepare(source: Path, output: Path, parameters: dict) -> Path:
    """Write `source` parameterized into `output` without running it (stored outputs kept)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(source), str(output), parameters=parameters, prepare_only=True, progress_bar=False)
    return output


def prepare_tiny_copy(
    nb: Notebook, notebooks: Path, folder: Path, clear_outputs: bool = False, overrides: dict | None = None
) -> Path:
    """`nb` parameterized for the tiny data in `folder`, its metrics to `folder/metrics/` (an old file removed).

    `overrides` replace tiny parameters (the browser test's shorter runs); ValueError if `nb` lacks one.
    """
    metrics = folder / "metrics" / f"{nb.stem}.json"
    metrics.unlink(missing_ok=True)
    parameters = run_parameters(nb, notebooks / nb.name, "tiny", metrics.resolve())
    if overrides:
        check_parameters(notebooks / nb.name, overrides)
        parameters |= overrides
    copy = prepare(notebooks / nb.name, folder / nb.name, parameters)
    if clear_outputs:
        prepared = nbformat.read(copy, as_version=4)
        for cell in prepared.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(prepared, copy)
    return copy


def promote(executed: Path, target: Path) -> None:
    """Copy an executed notebook over its source: drop the injected-parameters cell, volatile metadata and
    what hidden tests printed (the expected answers stay secret: `course grade` computes them afresh)."""
    nb = nbformat.read(executed, as_version=4)
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code" and is_hidden_cell(cell.source):
            cell.outputs = []
    for key in VOLATILE_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in VOLATILE_METADATA:
            cell.metadata.pop(key, None)
    text = nbformat.writes(nb)
    atomic.write_text(target, text if text.endswith("\n") else text + "\n")
