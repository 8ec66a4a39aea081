"""Run a command with the host's shared kernel state closed to it: `python -I -m course_lib.tools.grading.syscall_filter CMD...`.

Two kernels graded side by side see the same read-only files (the system, the environment's
packages) and, when the grader is root, the same kernel keyring. The namespaces divide neither, so
one kernel could pass data to the other through:

- the keyring (`add_key`, `keyctl`): keys belong to a uid of the host, outlive their processes and
  may be readable by every uid;
- locks on a shared file (`flock`, `fcntl`'s record and open-file-description locks, leases): one
  kernel locks a file in the environment, the other tests whether it is locked;
- file notifications (`inotify`, `fcntl`'s `F_NOTIFY`): one kernel watches a shared file, the other
  opens it.

Inside the sandbox this loads a seccomp filter that refuses those system calls (EPERM, as Docker's
default profile does for the keyring), then becomes CMD; the filter holds for CMD and for everything
it starts. System calls of another architecture (32-bit ones) kill the process (libseccomp's default).
"""

from __future__ import annotations

import errno
import fcntl
import os
import sys

import pyseccomp

REFUSED_CALLS = ("add_key", "request_key", "keyctl", "flock", "inotify_init", "inotify_init1", "inotify_add_watch")
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38  # Linux's open-file-description locks (not in `fcntl` before 3.12)
REFUSED_FCNTL = (  # fcntl commands that lock, lease or watch a file
    fcntl.F_GETLK, fcntl.F_SETLK, fcntl.F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
    fcntl.F_GETLEASE, fcntl.F_SETLEASE, fcntl.F_NOTIFY,
)  # fmt: skip


def close_shared_state() -> None:
    """From now on, this process and its children get EPERM from every call that reaches state shared with
    other kernels: the keyring, file locks and file notifications."""
    refuse = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for call in REFUSED_CALLS:
        refuse.add_rule(pyseccomp.ERRNO(errno.EPERM), call)
    for command in REFUSED_FCNTL:
        refuse.add_rule(pyseccomp.ERRNO(errno.EPERM), "fcntl", pyseccomp.Arg(1, pyseccomp.EQ, command))
    refuse.load()


def main(argv: list[str] | None = None) -> None:
    """Close the shared state, then become the command given."""
    command = sys.argv[1:] if argv is None else argv
    if not command:
        sys.exit("usage: python -I -m course_lib.tools.grading.syscall_filter COMMAND [ARGUMENT...]")
    close_shared_state()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
