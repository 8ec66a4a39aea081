"""The grader's worker: run a notebook's code cells one by one in a fresh kernel, one report line per cell.

    python -m course_lib.tools.cell_runner NOTEBOOK --cell-timeout SECONDS

The grader starts it inside the sandbox (see `grading`), writes a one-time token on its stdin,
and reads its stdout: each line is the token followed by a JSON report of one code cell (its
`grading` metadata, what it printed to stdout and to stderr, error, seconds, first line). The
kernel's own stdout and stderr go nowhere, so what a submission prints cannot pass for a report. A cell that runs past the timeout is
interrupted and reported as a `CellTimeoutError`; the next cell runs. The kernel talks to this
worker over IPC sockets in the working directory: no ports, no network.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

STDERR_SHOWN = 2000  # characters of a cell's stderr kept for the feedback


def cell_text(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed to stdout and its plain-text results, in order (stderr and errors excluded)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.get("name") == "stdout":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data") and "text/plain" in output.data:
            parts.append(output.data["text/plain"] + "\n")
    return "".join(parts)


def cell_stderr(cell: nbformat.NotebookNode) -> str:
    """What a code cell wrote to stderr (warnings, say), cut to `STDERR_SHOWN` characters."""
    text = "".join(o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.get("name") == "stderr")
    return text if len(text) <= STDERR_SHOWN else text[:STDERR_SHOWN] + " [...]"


def first_line(cell: nbformat.NotebookNode) -> str:
    """The cell's first non-blank line, cut to 60 characters: how the feedback names a cell."""
    line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def cell_error(cell: nbformat.NotebookNode) -> str | None:
    """`Name: message` of the error a code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}"
    return None


def execute_cells(notebook: Path, cell_timeout: float, report: Callable[[dict], None]) -> None:
    """Execute every code cell of `notebook` in a new kernel, calling `report(dict)` after each."""
    nb = nbformat.read(notebook, as_version=4)
    timeout_error = f"CellTimeoutError: the cell ran past the cell timeout ({cell_timeout:g} s) and was interrupted"
    client = NotebookClient(
        nb, timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )  # fmt: skip
    client.km = AsyncKernelManager(kernel_name="python3", transport="ipc")  # nbclient's timeouts need the async one
    with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cleanup_kc=True):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            try:
                client.execute_cell(cell, index)
                error, died = cell_error(cell), False
            except Exception as e:  # noqa: BLE001 (the kernel died: report this cell, stop)
                error, died = f"{type(e).__name__}: {e}", True
            seconds = time.perf_counter() - start
            if seconds >= cell_timeout and error and error.startswith("KeyboardInterrupt"):
                error = timeout_error  # the interrupt nbclient sent when the cell ran out of time
            grading = cell.metadata.get("grading", {})
            report(
                {"grading": grading, "text": cell_text(cell), "stderr": cell_stderr(cell), "error": error,
                 "seconds": seconds, "first_line": first_line(cell)}
            )  # fmt: skip
            if died:
                return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.cell_runner", description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--cell-timeout", type=float, required=True)
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    out = sys.stdout

    def report(line: dict) -> None:
        out.write(token + json.dumps(line) + "\n")
        out.flush()

    execute_cells(args.notebook.resolve(), args.cell_timeout, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
