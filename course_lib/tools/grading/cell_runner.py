"""The grader's worker: run a notebook's code cells one by one in a fresh kernel, one report line per cell.

    python -m course_lib.tools.grading.cell_runner NOTEBOOK --cell-timeout SECONDS [--kernel-prefix JSON]
        [--memory-mb N --file-mb N]

The grader starts it outside the sandbox, writes a one-time token on its stdin, and reads its
stdout: each line is the token followed by a JSON report of one code cell (its `grading` metadata,
what it printed to stdout and to stderr, error, seconds, first line). Only the kernel runs in the
sandbox: `--kernel-prefix` is the bubblewrap command put in front of the kernel's (see `sandbox`),
so student code runs in another pid namespace and cannot reach this process, its memory or its
stdout. The kernel's own stdout and stderr go nowhere. A cell that runs past the timeout is
interrupted and reported as a `CellTimeoutError`; a kernel that does not stop is killed with its
sandbox. The kernel talks to this worker over IPC sockets in its runtime folder (`sandbox.RUNTIME`): no ports, no network.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from course_lib.tools.grading.sandbox import RUNTIME, Limits, limiter

STDERR_SHOWN = 2000  # characters of a cell's stderr kept for the feedback
RUNNER_MEMORY = 3 * 2**30  # bytes of address space for this process (a flood of output stops it, not the grader)
ERROR_KEPT = 2000  # characters of an error message kept
GRACE = 10  # seconds a kernel has to answer an interrupt before it is killed
TEXT_KEPT = 20_000  # characters of what a cell printed kept for the comparison (and the feedback's diff)
CUT = "\n[output cut: a cell's output is kept up to {} characters]\n"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel behind `prefix` (the sandbox's command; empty: no sandbox)."""

    prefix: tuple[str, ...] = ()
    owner: int | None = None  # the sandboxed kernel's uid, when it is not this process's

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # ignore_cwd: a module file the notebook writes in its folder cannot be imported (code no rule reads)
        return [*self.prefix, *super().format_kernel_cmd(extra_arguments), "--IPKernelApp.ignore_cwd=True"]

    def write_connection_file(self, **kwargs) -> None:
        """Write it as usual (readable by its owner only), and hand it to the kernel's uid."""
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


def cell_text(cell: nbformat.NotebookNode) -> str:
    """What a code cell printed to stdout and its plain-text results, in order (stderr and errors excluded)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.get("name") == "stdout":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data") and "text/plain" in output.data:
            parts.append(output.data["text/plain"] + "\n")
    text = "".join(parts)
    return text if len(text) <= TEXT_KEPT else text[:TEXT_KEPT] + CUT.format(TEXT_KEPT)


def cell_stderr(cell: nbformat.NotebookNode) -> str:
    """What a code cell wrote to stderr (warnings, say), cut to `STDERR_SHOWN` characters."""
    text = "".join(o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.get("name") == "stderr")
    return _cut(text, STDERR_SHOWN)


def _cut(text: str, kept: int) -> str:
    return text if len(text) <= kept else text[:kept] + " [...]"


def first_line(cell: nbformat.NotebookNode) -> str:
    """The cell's first non-blank line, cut to 60 characters: how the feedback names a cell."""
    line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def cell_error(cell: nbformat.NotebookNode) -> str | None:
    """`Name: message` of the error a code cell raised, or None."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return _cut(f"{output.ename}: {output.evalue}", ERROR_KEPT)
    return None


def execute_cells(
    notebook: Path, cell_timeout: float, report: Callable[[dict], None], prefix: list[str], limits: Limits,
    kernel_dir: Path | None = None,
) -> None:  # fmt: skip
    """Execute every code cell of `notebook` in a new kernel started behind `prefix`, calling `report(dict)` after each."""
    nb = nbformat.read(notebook, as_version=4)
    folder = kernel_dir or notebook.parent
    timeout_error = f"CellTimeoutError: the cell ran past the cell timeout ({cell_timeout:g} s) and was interrupted"
    client = NotebookClient(
        nb, timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )  # fmt: skip
    runtime = folder / RUNTIME  # connection file and sockets: shared with the kernel
    runtime.mkdir(exist_ok=True)
    client.km = SandboxedKernelManager(  # nbclient's timeouts need async
        kernel_name="python3", transport="ipc", connection_file=str(runtime / "kernel.json")
    )
    client.km.prefix = tuple(prefix)
    owner = runtime.stat().st_uid  # the kernel's uid owns it (`sandbox.kernel_folder`)
    client.km.owner = owner if prefix and owner != os.geteuid() else None
    # interrupt by a message on the control channel: a SIGINT to the process group would stop bwrap itself
    client.km.kernel_spec.interrupt_mode = "message"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    with client.setup_kernel(**quiet, preexec_fn=limiter(limits), cleanup_kc=True):
        if client.km.owner is not None:
            _take_back(runtime, Path(client.km.connection_file))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            watchdog = threading.Timer(cell_timeout + GRACE, _kill, [client.km])  # for a kernel deaf to interrupts
            watchdog.start()
            try:
                client.execute_cell(cell, index)
                error, died = cell_error(cell), False
            except Exception as e:  # noqa: BLE001 (the kernel died: report this cell, stop)
                error, died = f"{type(e).__name__}: {e}", True
            finally:
                watchdog.cancel()
            seconds = time.perf_counter() - start
            if seconds >= cell_timeout and error and error.startswith("KeyboardInterrupt"):
                error = timeout_error  # the interrupt nbclient sent when the cell ran out of time
            elif died and seconds >= cell_timeout + GRACE:
                error = (
                    f"{timeout_error}, ignored the interrupt and was stopped with its kernel; later cells did not run"
                )
            grading = cell.metadata.get("grading", {})
            report(
                {"grading": grading, "text": cell_text(cell), "stderr": cell_stderr(cell), "error": error,
                 "seconds": seconds, "first_line": first_line(cell)}
            )  # fmt: skip
            if died:
                return


def _take_back(runtime: Path, connection_file: Path) -> None:
    """Once the kernel has read its connection file and made its sockets, it may write to neither the
    runtime folder nor that file (both on the host's disk). Links are not followed."""
    for path, flags, mode in ((connection_file, os.O_RDONLY, 0o600), (runtime, os.O_RDONLY | os.O_DIRECTORY, 0o700)):
        fd = os.open(path, flags | os.O_NOFOLLOW)
        try:
            os.fchown(fd, os.geteuid(), os.getegid())
            os.fchmod(fd, mode)
        finally:
            os.close(fd)


def _kill(km: AsyncKernelManager) -> None:
    """Stop the kernel at once: its sandbox (bwrap) first, which takes every process inside with it."""
    process = getattr(km.provisioner, "process", None)
    if process is not None:
        process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.grading.cell_runner", description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--cell-timeout", type=float, required=True)
    parser.add_argument("--kernel-dir", type=Path, default=None, help="the kernel's working folder (the notebook's)")
    parser.add_argument("--kernel-prefix", type=json.loads, default=[], help="the sandbox command, a JSON list")
    parser.add_argument("--memory-mb", type=int, default=Limits().memory_mb)
    parser.add_argument("--file-mb", type=int, default=Limits().file_mb)
    args = parser.parse_args(argv)
    token = sys.stdin.readline().strip()
    out = sys.stdout

    def report(line: dict) -> None:
        out.write(token + json.dumps(line) + "\n")
        out.flush()

    limits = Limits(memory_mb=args.memory_mb, file_mb=args.file_mb)
    own = resource.getrlimit(resource.RLIMIT_AS)[1]  # the runner keeps every output in memory: cap it too
    resource.setrlimit(resource.RLIMIT_AS, (min(RUNNER_MEMORY, own if own > 0 else RUNNER_MEMORY), own))
    execute_cells(args.notebook.resolve(), args.cell_timeout, report, args.kernel_prefix, limits, args.kernel_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
