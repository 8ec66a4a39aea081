"""The sandbox a student's kernel runs in: what it promises, and the bubblewrap command that keeps it.

Only the kernel runs inside; the cell runner that talks to it, reads its results and reports them
to the grader stays outside, in another pid namespace (see `cell_runner`). Inside, the kernel
- sees, read-only, the system's programs and libraries (`SYSTEM`: /usr, /etc, /lib...), the
  interpreter, its packages, `course_lib` and the tiny data, and nothing else of the host's files:
  not the course's checkout (reference notebooks, git history), other copies of it, the
  submissions, the output folder, the home folder, the system's temporary folder (other kernels'
  folders, the graded notebooks); nor any variable of the grader's environment but
  `ENVIRONMENT`'s. Its own working folder is read-write: a folder in memory of `Limits.disk_mb`
  that starts empty and vanishes with the kernel. One folder inside it is the host's, shared with
  the runner: the runtime folder (`RUNTIME`: the connection file and the IPC sockets). Where the
  grader is root, the runner takes that folder and the connection file back from the kernel's uid
  as soon as the kernel has started, so nothing the kernel writes reaches the disk; it also has an
  empty private `/tmp` (256 MiB) and `/dev/shm` (64 MiB), and an empty `/run` (no host sockets);
- has no network, its own pid, IPC and UTS namespaces and no capabilities; it runs as `nobody` in
  its own user namespace when the grader is an ordinary user, and as a uid of its own (`kernel_uid`,
  set by `setpriv` inside) when the grader is root, so files only root may read (`/etc/shadow`)
  stay closed to it;
- cannot use the kernel keyring (`add_key`, `keyctl`), file locks (`flock`, `fcntl`'s locks and leases)
  or file notifications (`inotify`, `F_NOTIFY`): a seccomp filter (`syscall_filter`) closes these
  channels to a kernel graded beside it, which its namespaces do not divide;
- dies with its runner, and every process it started dies with it (the pid namespace ends);
- may use at most `Limits.memory_mb` of memory for all its processes together, files in memory
  included, where the grader is root and the machine has cgroup v1's memory controller
  (`memory_group`); elsewhere that much address space per process, which many processes or files
  in memory (`memfd`) can exceed. It may write files of at most `Limits.file_mb`, and
  run at most `Limits.processes` processes and threads at once (`prlimit`; the count is of its own
  uid's processes, or of its user namespace's: this kernel's only).
Not promised: a cap on CPU time beyond the timeouts; where the grader is not root, a cap on what the
kernel writes to the disk: it is the grader's own user then, and its runtime folder stays writable
(each file within `Limits.file_mb`, their number unlimited); a cap on the number of empty files and
folders in memory (their inodes take kernel memory the size caps do not count); silence about the
host's layout: /proc/self/mountinfo names the folders shown and the system's mounts.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")  # shown read-only; nothing else is
FLAGS = [  # /tmp and /dev/shm are memory: sized, as RLIMIT_AS does not count them; /run is empty (no host sockets)
    "--dev", "/dev", "--proc", "/proc", "--perms", "01777", "--size", str(256 * 2**20),
    "--tmpfs", "/tmp", "--perms", "01777", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm",
    "--size", str(2**20), "--tmpfs", "/run",
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--cap-drop", "ALL", "--die-with-parent",
    "--unsetenv", "JPY_PARENT_PID",  # ipykernel would take the sandbox's pid 1 for a dead parent and quit
]  # fmt: skip
AS_USER = ["--unshare-user", "--uid", "65534", "--gid", "65534"]  # grader not root: nobody in a user namespace
AS_ROOT = ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # grader root: kept for `setpriv` to drop them
ENVIRONMENT = (  # the grader's variables a kernel may see (HOME, TMPDIR and the runtime folders are its own)
    "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "COURSE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
)  # fmt: skip
CGROUP_MEMORY = Path("/sys/fs/cgroup/memory")
RUNTIME = ".jupyter"  # in the kernel's folder: the connection file and IPC sockets, shared with the runner
SHARED_STATE_CLOSED = [sys.executable, "-I", "-m", "course_lib.tools.grading.syscall_filter"]  # before the kernel
KERNEL_UIDS = 100_000  # a grader that is root runs each kernel as uid (and gid) KERNEL_UIDS + its own pid
NO_SANDBOX = (
    "bubblewrap (`bwrap`) is not installed or cannot make a sandbox here, so student code would run with "
    "your rights: your files, the network, the other students' work. Install it (Debian/Ubuntu: "
    "`sudo apt-get install bubblewrap`; it needs util-linux's `prlimit` and `setpriv`, and libseccomp2, too), or pass "
    "--no-sandbox to grade without one (trusted submissions only)."
)


class SandboxMissing(RuntimeError):
    """bubblewrap cannot confine student code here, and grading without it was not asked for."""


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one kernel may use, in MiB: memory (see `memory_group`), the size of a file it writes, all its files in
    its working folder (`disk_mb`); and how many processes and threads it may run."""

    memory_mb: int = 6144
    file_mb: int = 256
    disk_mb: int = 512  # all the files in the working folder together (it lives in memory)
    processes: int = 512  # TensorFlow starts a few threads per core


def prefix(
    workdir: Path,
    hidden: Iterable[Path] = (),
    readable: Iterable[Path] = (),
    limits: Limits = Limits(),
    group: Path | None = None,
) -> list[str]:
    """The command that runs a kernel in `workdir` (see `kernel_folder`), within `limits.processes`.

    Inside, the file system holds only the system's programs and libraries (`SYSTEM`), the
    interpreter, its packages, `course_lib` and the `readable` folders (the tiny data), read-only;
    `workdir` is a new folder in memory of `limits.disk_mb`, of which only the `RUNTIME` folder is
    the host's, shared with the runner. A `hidden` folder inside one of those shown is covered by an
    empty one. SandboxMissing if bubblewrap cannot run here, or if the grader is root and a folder
    the kernel needs is closed to other users.
    """
    bwrap = usable_bwrap()
    if bwrap is None:
        raise SandboxMissing(NO_SANDBOX)
    uid = kernel_uid()
    shown = _shown([*_interpreter(), *readable], open_to_all=uid is not None)
    hidden = [p.resolve() for p in dict.fromkeys([*hidden, Path(tempfile.gettempdir())]) if p.is_dir()]
    covered = [p for p in hidden if _inside(p, shown)]  # other kernels' folders, the graded notebooks
    enter = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(group / "cgroup.procs")] if group else []
    return [
        *enter, bwrap, *_system(), *FLAGS, *(AS_USER if uid is None else AS_ROOT),
        *_shown_as_is(shown),
        *[a for c in covered for a in ("--size", str(2**20), "--tmpfs", str(c))],
        "--perms", "01777", "--size", str(limits.disk_mb * 2**20), "--tmpfs", str(workdir),
        "--bind", str(workdir / RUNTIME), str(workdir / RUNTIME),
        "--chdir", str(workdir), *_drop_to(uid), *_process_cap(limits.processes), *SHARED_STATE_CLOSED,
    ]  # fmt: skip


def memory_group(limit_mb: int) -> Path | None:
    """A new memory cgroup (v1) below this process's own, holding at most `limit_mb` for one kernel and
    everything it starts, files in memory included (/tmp, /dev/shm, memfd); None where none can be made
    (the grader is not root, or the machine has no cgroup v1 memory controller)."""
    lines = Path("/proc/self/cgroup").read_text().splitlines() if os.geteuid() == 0 else []
    own = next((line.split(":", 2)[2] for line in lines if line.split(":")[1] == "memory"), None)
    if own is None or not CGROUP_MEMORY.is_dir():
        return None
    try:
        group = Path(tempfile.mkdtemp(prefix="course-kernel-", dir=CGROUP_MEMORY / own.lstrip("/")))
        (group / "memory.limit_in_bytes").write_text(str(limit_mb * 2**20))
    except OSError:
        return None
    with contextlib.suppress(OSError):  # no swap either, where swap is accounted
        (group / "memory.memsw.limit_in_bytes").write_text(str(limit_mb * 2**20))
    return group


def remove_group(group: Path | None) -> None:
    """Remove a kernel's memory cgroup once its processes are gone (they go with the sandbox)."""
    if group is None:
        return
    for _ in range(100):
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def kernel_uid() -> int | None:
    """The uid a kernel started from this process runs as: its own when the grader is root, else None (the grader's).

    A uid of its own makes the process cap count this kernel's processes only, and shuts it out of
    files that only root (or the grader) may read.
    """
    return KERNEL_UIDS + os.getpid() if os.geteuid() == 0 else None


def kernel_folder() -> Path:
    """A new empty folder for one kernel, in the system's temporary folder, its `RUNTIME` owned by `kernel_uid()`.

    The folder itself stays the grader's: inside the sandbox the kernel works in a folder in memory
    mounted over it, and only the runtime folder is the host's.
    """
    folder = Path(tempfile.mkdtemp(prefix="course-kernel-"))
    (folder / RUNTIME).mkdir()
    uid = kernel_uid()
    if uid is not None:
        os.chown(folder / RUNTIME, uid, uid)
        folder.chmod(0o711)  # bwrap, root without its capabilities, must enter it
    return folder


def _drop_to(uid: int | None) -> list[str]:
    """Inside the sandbox, as root: become `uid` with no capabilities, for good (no setuid programs either)."""
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--no-new-privs", "--"]


def _process_cap(processes: int) -> list[str]:
    """RLIMIT_NPROC counts the processes of the kernel's own uid (root grading) or of its user namespace: its own."""
    return ["prlimit", f"--nproc={processes}", "--"]


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(f == path or f in path.parents for f in folders)


def _system() -> list[str]:
    """bubblewrap's arguments that show `SYSTEM`'s folders read-only (a symbolic link, such as /bin, stays one)."""
    shown = [Path(p) for p in SYSTEM if Path(p).exists()]
    return [
        a
        for p in shown
        for a in (("--symlink", os.readlink(p)) if p.is_symlink() else ("--ro-bind", str(p))) + (str(p),)
    ]


def _shown_as_is(shown: list[Path]) -> list[str]:
    """bubblewrap's arguments that show `shown` read-only, each at its own path, below folders any user may enter."""
    system, private = [Path(m) for m in SYSTEM], [Path(m) for m in ("/", "/tmp", "/dev/shm", "/run")]
    above = [d for p in shown for d in reversed(p.parents) if d not in private and not _inside(d, system)]
    folders = [a for d in dict.fromkeys(above) for a in ("--perms", "0755", "--dir", str(d))]
    return folders + [a for p in shown for a in ("--ro-bind", str(p), str(p))]


def _shown(needed: list[Path], open_to_all: bool) -> list[Path]:
    """The folders to show the kernel: each needed one that exists, once.

    `open_to_all` (the grader is root and the kernel another user): SandboxMissing if one of them is
    closed to other users (shown, it keeps its mode).
    """
    shown = list(dict.fromkeys(p.resolve() for p in needed if p.is_dir()))
    for path in shown:
        if open_to_all and path.stat().st_mode & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
            raise SandboxMissing(
                f"grading as root runs each kernel as a user of its own, which may not read {path}. Let others "
                f"in (`chmod -R o+rX {path}`), or grade as an ordinary user."
            )
    return shown


def _interpreter() -> list[Path]:
    """What a kernel needs to start: the environment, the Python it is built on, and course_lib."""
    return [Path(sys.prefix), Path(sys.base_prefix), Path(__file__).resolve().parents[2]]


def environment(workdir: Path, data_dir: Path | None) -> dict[str, str]:
    """The environment of the runner and its kernel: `ENVIRONMENT`'s variables and the kernel's own folders."""
    env = {name: os.environ[name] for name in ENVIRONMENT if name in os.environ}
    env |= {"HOME": str(workdir), "TMPDIR": str(workdir), "MPLCONFIGDIR": str(workdir / ".matplotlib")}
    env |= {"JUPYTER_RUNTIME_DIR": str(workdir / RUNTIME), "PYTHONNOUSERSITE": "1"}
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
    if bwrap is None or not shutil.which("prlimit") or not shutil.which("setpriv"):
        return None
    uid = kernel_uid()
    interpreter = _shown_as_is(_shown(_interpreter(), open_to_all=False))
    trial = [bwrap, *_system(), *FLAGS, *(AS_USER if uid is None else AS_ROOT), *interpreter, *_drop_to(uid)]
    trial += [*_process_cap(64), *SHARED_STATE_CLOSED, "true"]
    return None if subprocess.run(trial, check=False, capture_output=True).returncode else bwrap


@dataclass(frozen=True, kw_only=True)
class GradeOptions:
    """How long a cell and a whole submission may run, where the tiny data is, and whether to sandbox.

    `sandbox=False` (`course grade --no-sandbox`) runs student code with the grader's own rights.
    """

    cell_timeout: float = 120.0
    timeout: float = 900.0
    data_dir: Path | None = None
    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)
    hidden: tuple[Path, ...] = ()  # folders the kernel must not see (the reference, submissions, output)


# read-only file system, no network, own process ids, gone when the grader goes
def run_cells(nb: nbformat.NotebookNode, workdir: Path, options: GradeOptions) -> tuple[list[dict], str | None]:
    """Run `nb` (saved in `workdir`) in a kernel with a folder of its own, sandboxed unless told not to.

    Returns the cell reports, and why the run stopped early (None if it did not).
    """
    path = workdir / "submission.ipynb"
    nbformat.write(nb, path)
    kernel_dir = kernel_folder()  # the kernel sees this folder only
    group = memory_group(options.limits.memory_mb) if options.sandbox else None
    try:
        return _run_in(kernel_dir, path, options, group)
    finally:
        remove_folder(kernel_dir)
        remove_group(group)


def remove_folder(folder: Path) -> None:
    """Remove a kernel's folder, whatever it left there: folders nested thousands deep (Python's
    `shutil.rmtree` recurses once per level and gives up), or closed to its owner (`chmod 000`)."""
    subprocess.run(["chmod", "-R", "u+rwx", "--", str(folder)], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(folder)], check=False, capture_output=True)


def _run_in(kernel_dir: Path, path: Path, options: GradeOptions, group: Path | None) -> tuple[list[dict], str | None]:
    readable = [options.data_dir] if options.data_dir else []
    covered = [*options.hidden, CHECKOUT_NOTEBOOKS.parent, Path.home()]
    kernel_prefix = prefix(kernel_dir, covered, readable, options.limits, group) if options.sandbox else []
    runner = [
        sys.executable, "-P", "-m", "course_lib.tools.grading.cell_runner", str(path), "--kernel-dir", str(kernel_dir),
        "--cell-timeout", str(options.cell_timeout), "--kernel-prefix", json.dumps(kernel_prefix),
        "--memory-mb", str(options.limits.memory_mb), "--file-mb", str(options.limits.file_mb),
    ]  # fmt: skip
    env = environment(kernel_dir, options.data_dir)
    token = secrets.token_hex(16)
    proc = subprocess.Popen(
        runner, cwd=kernel_dir, env=env, text=True,
        start_new_session=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    proc.stdin.write(token + "\n")
    proc.stdin.close()
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)], daemon=True).start()
    reports, deadline = [], time.monotonic() + options.timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            _stop(proc)
            return reports, f"the submission ran past the time limit ({options.timeout:g} s) and was stopped"
        if line is None:
            break
        if line.startswith(token):
            reports.append(json.loads(line[len(token) :]))
    proc.wait()
    return reports, None


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
