"""Each promise of the sandbox (see `course_lib.tools.grading.sandbox`), tested by a kernel that tries to break it."""

from __future__ import annotations

import ast
import os
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from course_lib.tools.grading import sandbox
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

pytestmark = [
    pytest.mark.notebooks,
    pytest.mark.skipif(
        not sandbox.available(), reason="bubblewrap is not installed or not allowed here; CI installs it"
    ),
]
FORK_BOMB = """
import os, time
children = []
try:
    while len(children) < 2000:
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    print('2000 processes started')
except OSError as e:
    print(type(e).__name__, 'after', len(children) // 100 * 100, 'or more')
finally:
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
"""
KEYRING = """
import subprocess, sys
PROBE = '''
import ctypes, errno, pyseccomp
libc = ctypes.CDLL(None, use_errno=True)
add_key = pyseccomp.resolve_syscall(pyseccomp.system_arch(), "add_key")
kept = libc.syscall(add_key, b"user", b"note", b"for a classmate", 15, -4)  # -4: the user's keyring
print("key added" if kept >= 0 else errno.errorcode[ctypes.get_errno()])
'''
exec(PROBE)  # in the kernel, then in a process it starts
print(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True).stdout.strip())
"""
LOCKS = """
import subprocess, sys
PROBE = '''
import ctypes, errno, fcntl, os, signal, sys
signal.signal(signal.SIGIO, signal.SIG_IGN)  # what F_NOTIFY sends on each access
shared = os.path.realpath(sys.executable)  # a file every kernel graded beside this one sees too
fd, folder = os.open(shared, os.O_RDONLY), os.open(os.path.dirname(shared), os.O_RDONLY)
def tried(call):
    try:
        call()
        return "done"
    except OSError as e:
        return errno.errorcode[e.errno]
watch = ctypes.CDLL(None, use_errno=True).inotify_init1(0)
print(tried(lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)), tried(lambda: fcntl.lockf(fd, fcntl.LOCK_SH)),
      tried(lambda: fcntl.fcntl(fd, 37, bytes(32))),  # F_OFD_SETLK: a read lock on the whole file
      tried(lambda: fcntl.fcntl(folder, fcntl.F_NOTIFY, fcntl.DN_ACCESS)),
      "done" if watch >= 0 else errno.errorcode[ctypes.get_errno()])
'''
exec(PROBE)  # in the kernel, then in a process it starts
print(subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True).stdout.strip())
"""
ATTACKS = {  # name -> a cell that prints what it could reach
    "environment": "import os\nprint(sorted(k for k in os.environ if k.startswith('COURSE_SECRET')))",
    "grader's /tmp": "import os\nprint([n for n in os.listdir('/tmp') if n.startswith('course-secret')])",
    "reference": "import os\nprint([n for n in os.listdir(REFERENCE) if n.endswith('.ipynb')])",
    "hidden folder": "import os\nprint(os.listdir(HIDDEN))",
    "checkout": "import os\nprint(sorted(os.listdir(CHECKOUT)))",
    "git history": "import os\nprint(os.path.exists(os.path.join(CHECKOUT, '.git')))",
    "home": "import os\nprint(sorted(os.listdir(HOME)))",
    "beside the checkout": "import os\nprint(os.listdir(os.path.dirname(CHECKOUT)))",
    "root folder": "import os\nprint(sorted(os.listdir('/')))",
    "submission file": "import os\nprint(sorted(n for n in os.listdir('..') if n.endswith('.ipynb')))",
    "runner": "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == [1, 2])",
    "network": "import socket\ntry:\n    socket.create_connection(('127.0.0.1', PORT), timeout=2)\n    print('reached')\n"
    "except OSError:\n    print('no network')",
    "rights": "import os\nprint(os.getuid(), open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
    "memory": "try:\n    block = bytearray(8 * 2**30)\n    print('8 GiB granted')\nexcept MemoryError:\n    print('MemoryError')",
    "file size": "try:\n    with open('big', 'wb') as f:\n        f.write(bytes(300 * 2**20))\n    print('300 MiB written')\n"
    "except OSError as e:\n    print(type(e).__name__)",
    "memory in /tmp": "import errno\ntry:\n    for k in range(4):\n        with open(f'/tmp/f{k}', 'wb') as f:\n"
    "            f.write(bytes(100 * 2**20))\n    print('400 MiB in /tmp')\nexcept OSError as e:\n"
    "    print(e.errno == errno.ENOSPC)",
    "host sockets": "import os\nprint(os.listdir('/run'))",
    "disk": "import errno, os\nwritten = 0\ntry:\n    for k in range(20):\n        with open(f'fill{k}', 'wb') as f:\n"
    "            f.write(bytes(50 * 2**20))\n        written += 50\n    print(written, 'MiB written')\nexcept OSError as e:\n"
    "    print(e.errno == errno.ENOSPC, written, os.statvfs('.').f_blocks * os.statvfs('.').f_frsize // 2**20)",
    "runtime folder": "import os\ntry:\n    open(os.path.join(os.environ['JUPYTER_RUNTIME_DIR'], 'x'), 'wb').close()\n"
    "    print('written')\nexcept OSError as e:\n    print(type(e).__name__)",
    "connection file": "import os\ntry:\n    with open(os.path.join(os.environ['JUPYTER_RUNTIME_DIR'], 'kernel.json'), 'ab') as f:\n"
    "        f.write(bytes(2**20))\n    print('appended')\nexcept OSError as e:\n    print(type(e).__name__)",
    "leftover": "import subprocess\nsubprocess.Popen(['sleep', '1000'], start_new_session=True)\nprint('started')",
    "owner-only file": "try:\n    print(len(open(OWNER_ONLY).read()), 'characters read')\nexcept OSError as e:\n"
    "    print(type(e).__name__)",
    "processes": FORK_BOMB,
    "module file": "open('mine.py', 'w').write('X = 1')\ntry:\n    import mine\n    print('imported')\n"
    "except ImportError:\n    print('ImportError')",
    "keyring": KEYRING,
    "locks and notifications": LOCKS,
}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """One kernel runs every attack; returns what each cell printed, and the leftover check."""
    root = tmp_path_factory.mktemp("sandbox")
    hidden = root / "hidden"
    hidden.mkdir()
    (hidden / "gradebook.csv").write_text("alice,4\n")
    secret_tmp = Path("/tmp") / f"course-secret-{os.getpid()}"
    secret_tmp.write_text("x")
    listener = __import__("socket").create_server(("127.0.0.1", 0))
    owner_only = _owner_only_file()
    paths = (str(CHECKOUT_NOTEBOOKS), str(CHECKOUT_NOTEBOOKS.parent), str(Path.home()), str(hidden), str(owner_only))
    setup = f"REFERENCE, CHECKOUT, HOME, HIDDEN, OWNER_ONLY = {paths!r}\nPORT = {listener.getsockname()[1]}"
    cells = [nbformat.v4.new_code_cell(setup)] + [
        nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in ATTACKS.values()
    ]
    for cell, key in zip(cells[1:], ATTACKS):
        cell.metadata["grading"] = {"exercise": "attack", "key": key}
    workdir = root / "work"
    workdir.mkdir()
    os.environ["COURSE_SECRET_TOKEN"] = "s3cret"
    try:
        options = sandbox.GradeOptions(cell_timeout=60, timeout=300, hidden=(hidden,), data_dir=owner_only.parent)
        reports, stopped = sandbox.run_cells(nbformat.v4.new_notebook(cells=cells), workdir, options)
    finally:
        del os.environ["COURSE_SECRET_TOKEN"]
        secret_tmp.unlink()
        listener.close()
        owner_only.unlink()
        owner_only.parent.rmdir()
    printed = {r["grading"]["key"]: (r["error"] or r["text"].strip()) for r in reports if r["grading"]}
    sleepers = [p for p in os.listdir("/proc") if p.isdigit() and _command(p) == "sleep 1000"]
    return printed | {"stopped": stopped, "sleepers": sleepers}


def _owner_only_file() -> Path:
    """A file the grader's user alone may read, in a folder the kernel is shown (as it is the tiny data)."""
    folder = CHECKOUT_NOTEBOOKS.parent / "build" / f"shown-{os.getpid()}"
    folder.mkdir(parents=True)
    path = folder / "owner-only.txt"
    path.touch(mode=0o600)
    path.write_text("the grader's secret")
    return path


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def test_the_kernel_sees_none_of_the_graders_variables(attacked):
    assert attacked["environment"] == "[]"


def test_the_kernel_has_its_own_tmp_and_cannot_see_the_reference_or_hidden_folders(attacked):
    assert attacked["grader's /tmp"] == "[]"
    assert attacked["reference"] == "[]" or attacked["reference"].startswith("FileNotFoundError"), "covered"
    hidden = attacked["hidden folder"]  # under /tmp it is simply absent from the kernel's own /tmp
    assert hidden == "[]" or hidden.startswith("FileNotFoundError"), "submissions and the output folder are covered"
    shown = set(ast.literal_eval(attacked["checkout"]))
    assert shown <= {".venv", "course_lib", "build"}, f"only what the kernel needs is shown again: {shown}"
    assert attacked["git history"] == "False", "the checkout's history (and its copies of the reference) is covered"
    assert "notebooks" not in attacked["home"] and ".ssh" not in attacked["home"]
    assert attacked["submission file"] == "[]", "the notebook with the hidden tests is outside the kernel's folder"


def test_nothing_but_the_system_and_what_the_kernel_needs_is_in_sight(attacked):
    """Other checkouts of the course, their worktrees, backups: whatever is not shown is not there."""
    assert ast.literal_eval(attacked["beside the checkout"]) == [CHECKOUT_NOTEBOOKS.parent.name]
    needed = {Path(p).parts[1] for p in (sys.prefix, sys.base_prefix, CHECKOUT_NOTEBOOKS)}
    made = {"dev", "proc", "tmp", "run"}
    system = {Path(p).name for p in sandbox.SYSTEM if Path(p).exists()}
    assert set(ast.literal_eval(attacked["root folder"])) == system | made | needed


def test_the_runner_is_out_of_reach_and_the_kernel_has_no_network_or_rights(attacked):
    assert attacked["runner"] == "True", "only the sandbox's init and the kernel are in its pid namespace"
    assert attacked["network"] == "no network"
    uid = sandbox.kernel_uid() or 65534  # a uid of its own when root grades; else nobody in a user namespace
    assert attacked["rights"] == f"{uid} 0000000000000000", "an unprivileged user, without capabilities"


def test_memory_and_file_size_are_limited(attacked):
    assert attacked["memory"] == "MemoryError"
    assert attacked["file size"].startswith(("OSError", "File too large")) or "File size limit" in attacked["file size"]


def test_tmp_is_small_memory_and_host_sockets_are_out_of_sight(attacked):
    assert attacked["memory in /tmp"] == "True", "/tmp is a sized tmpfs: it fills up long before the host's memory"
    assert attacked["host sockets"] == "[]"


def test_the_working_folder_is_memory_of_a_fixed_size(attacked):
    full, written, size = attacked["disk"].split()
    assert full == "True", "writing 1,000 MiB in files under the file-size cap fills the folder, not the disk"
    assert size == str(sandbox.Limits().disk_mb) and int(written) < int(size)


@pytest.mark.skipif(os.geteuid() != 0, reason="a grader that is not root cannot take the folder from the kernel")
def test_the_kernel_cannot_write_to_the_runtime_folder_once_started(attacked):
    assert attacked["runtime folder"] == "PermissionError", "files there would reach the host's disk"
    assert attacked["connection file"] == "PermissionError", "so would a connection file it still owned"


def test_every_process_a_submission_started_is_gone_when_it_ends(attacked):
    assert attacked["leftover"] == "started"
    assert attacked["sleepers"] == [], "a process the kernel started outlived its grading"


@pytest.mark.skipif(
    os.geteuid() != 0, reason="a grader that is not root runs the kernel as itself (the promise is root's)"
)
def test_files_only_root_may_read_stay_closed_when_root_grades(attacked):
    assert attacked["owner-only file"] == "PermissionError", "shown to the kernel, but it is not the file's owner"


def test_a_module_file_the_notebook_writes_cannot_be_imported(attacked):
    assert attacked["module file"] == "ImportError", "its code would run where no rule reads it"


def test_the_kernel_keyring_is_closed_to_the_kernel_and_what_it_starts(attacked):
    assert attacked["keyring"] == "EPERM\nEPERM", "a key could carry data to a classmate's kernel, and outlive both"


def test_file_locks_and_notifications_are_closed_to_the_kernel_and_what_it_starts(attacked):
    """A lock on a file of the environment, or a watch on one, would carry data to a kernel graded beside it."""
    refused = "EPERM EPERM EPERM EPERM EPERM"  # flock, lockf, an open-file lock, F_NOTIFY, inotify
    assert attacked["locks and notifications"] == f"{refused}\n{refused}"


def test_the_number_of_processes_is_capped(attacked):
    cap = sandbox.Limits().processes
    assert attacked["processes"].startswith("BlockingIOError after"), attacked["processes"]
    assert int(attacked["processes"].split()[2]) < cap, "a kernel's processes and threads stop at Limits.processes"


MEMFD_FLOOD = """
import os
held = []
for k in range(10):  # 10 x 200 MiB of files that live in memory: no address space, no /tmp, each < file_mb
    fd = os.memfd_create(f"f{k}")
    for _ in range(20):
        os.write(fd, bytes(10 * 2**20))
    held.append(fd)
print("2,000 MiB held")
"""


_real_memory_group = sandbox.memory_group


def _memory_groups() -> bool:
    group = sandbox.memory_group(64)
    sandbox.remove_group(group)
    return group is not None


@pytest.mark.skipif(not _memory_groups(), reason="needs root and cgroup v1's memory controller")
def test_a_kernels_processes_and_files_in_memory_share_one_memory_cap(tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(sandbox, "memory_group", lambda mb: made.append(_real_memory_group(mb)) or made[-1])
    cells = [nbformat.v4.new_code_cell(MEMFD_FLOOD), nbformat.v4.new_code_cell("print('after')")]
    for k, cell in enumerate(cells):
        cell.metadata["grading"] = {"exercise": "attack", "key": str(k)}
    options = sandbox.GradeOptions(cell_timeout=60, timeout=300, limits=sandbox.Limits(memory_mb=1536))
    reports, _ = sandbox.run_cells(nbformat.v4.new_notebook(cells=cells), tmp_path, options)
    assert "2,000 MiB held" not in reports[0]["text"], "1,536 MiB for the whole kernel"
    assert reports[0]["error"], "the kernel was stopped (out of memory), and the cell says so"
    assert len(made) == 1 and made[0] is not None and not made[0].exists(), "its memory group is gone"


def test_a_graded_kernel_reads_every_tiny_dataset_from_its_read_only_copy(tmp_path):
    from course_lib.tools.grading import classes

    cell = nbformat.v4.new_code_cell(
        "import os\nfrom course_lib import data\nd = os.environ['COURSE_DATA_DIR']\n"
        "print([len(data.load_cifar10('tiny', f, d)[0][0]) for f in ('python', 'binary')],"
        " [len(data.load_mnist('tiny', f, d)[0][0]) for f in ('npz', 'idx')])"
    )
    cell.metadata["grading"] = {"exercise": "data", "key": "load"}
    options = sandbox.GradeOptions(cell_timeout=120, timeout=300, data_dir=classes.tiny_data_dir())
    reports, _ = sandbox.run_cells(nbformat.v4.new_notebook(cells=[cell]), tmp_path, options)
    assert reports[0]["error"] is None, reports[0]["error"]
