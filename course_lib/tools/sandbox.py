"""The sandbox a student's kernel runs in: what it promises, and the bubblewrap command that keeps it.

Only the kernel runs inside; the cell runner that talks to it, reads its results and reports them
to the grader stays outside, in another pid namespace (see `cell_runner`). Inside, the kernel
- sees the file system read-only, its own working folder read-write, an empty private `/tmp`
  (256 MiB) and `/dev/shm` (64 MiB), and an empty `/run` (no host sockets: D-Bus, Docker);
- does not see the course's checkout (reference notebooks, their copies, git history), the
  submissions, the output folder or the grader's home folder: each is covered by an empty folder,
  with only the interpreter, its packages, `course_lib` and the tiny data shown again, read-only;
  nor any variable of the grader's environment but `ENVIRONMENT`'s;
- has no network, its own pid, IPC and UTS namespaces, no capabilities, and runs as `nobody`
  in its own user namespace;
- dies with its runner, and every process it started dies with it (the pid namespace ends);
- may use at most `Limits.memory_mb` of address space and write files of at most `Limits.file_mb`.
Not promised: a cap on the number of processes (a fork bomb is stopped by the cell timeout only),
on CPU time beyond the timeouts, or on disk space in the working folder beyond the file size.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

FLAGS = [  # /tmp and /dev/shm are memory: sized, as RLIMIT_AS does not count them; /run holds host sockets
    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--size", str(256 * 2**20), "--tmpfs", "/tmp",
    "--size", str(64 * 2**20), "--tmpfs", "/dev/shm", "--size", str(2**20), "--tmpfs", "/run",
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-user",
    "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL", "--die-with-parent",
    "--unsetenv", "JPY_PARENT_PID",  # ipykernel would take the sandbox's pid 1 for a dead parent and quit
]  # fmt: skip
ENVIRONMENT = (  # the grader's variables a kernel may see (HOME, TMPDIR and the runtime folders are its own)
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
)  # fmt: skip
NO_SANDBOX = (
    "bubblewrap (`bwrap`) is not installed or cannot make a sandbox here, so student code would run with "
    "your rights: your files, the network, the other students' work. Install it (Debian/Ubuntu: "
    "`sudo apt-get install bubblewrap`), or pass --no-sandbox to grade without one (trusted submissions only)."
)


class SandboxMissing(RuntimeError):
    """bubblewrap cannot confine student code here, and grading without it was not asked for."""


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one kernel may use: address space and the size of a file it writes, in MiB."""

    memory_mb: int = 6144
    file_mb: int = 256


def prefix(workdir: Path, hidden: Iterable[Path] = (), readable: Iterable[Path] = ()) -> list[str]:
    """The bubblewrap command that runs a kernel confined to `workdir`.

    `hidden` folders that exist here are covered by an empty folder; what the kernel needs inside
    one — the interpreter, its packages, `course_lib`, the `readable` folders (the tiny data) — is
    shown again, read-only. SandboxMissing if bubblewrap cannot run here.
    """
    bwrap = usable_bwrap()
    if bwrap is None:
        raise SandboxMissing(NO_SANDBOX)
    covered = [p.resolve() for p in dict.fromkeys(hidden) if p.is_dir()]
    needed = [p.resolve() for p in (*_interpreter(), *readable) if p.is_dir()]
    shown = [p for p in dict.fromkeys(needed) if any(c == p or c in p.parents for c in covered)]
    return [
        bwrap, *FLAGS, *[a for c in covered for a in ("--size", str(2**20), "--tmpfs", str(c))],
        *[a for p in shown for a in ("--ro-bind", str(p), str(p))],
        "--bind", str(workdir), str(workdir), "--chdir", str(workdir),
    ]  # fmt: skip


def _interpreter() -> list[Path]:
    """What a kernel needs to start: the environment, the Python it is built on, and course_lib."""
    return [Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[1]]


def environment(workdir: Path, data_dir: Path | None) -> dict[str, str]:
    """The environment of the runner and its kernel: `ENVIRONMENT`'s variables and the kernel's own folders."""
    env = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
    env |= {"HOME": str(workdir), "TMPDIR": str(workdir), "MPLCONFIGDIR": str(workdir / ".matplotlib")}
    env |= {"JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter"), "PYTHONNOUSERSITE": "1"}
    return env | ({"COURSE_DATA_DIR": str(data_dir)} if data_dir is not None else {})


def limiter(limits: Limits) -> Callable[[], None]:
    """A function that applies `limits` to the process it runs in (a `preexec_fn` for the kernel)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * 2**20,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * 2**20,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def available() -> bool:
    """True if bubblewrap can confine student code on this machine."""
    return usable_bwrap() is not None


@functools.cache
def usable_bwrap() -> str | None:
    """bwrap's path if it is installed and allowed to make the sandbox here (user namespaces); tried once."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or subprocess.run([bwrap, *FLAGS, "true"], check=False, capture_output=True).returncode:
        return None
    return bwrap
