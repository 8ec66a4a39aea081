"""Run a command with the kernel's keyring closed to it: `python -I -m course_lib.tools.grading.syscall_filter CMD...`.

The kernel keyring (`add_key`, `keyctl`) is the one store the sandbox's namespaces do not divide
when the grader is root: keys belong to a uid of the host and outlive its processes, and a key may
be readable by every uid, so two kernels graded side by side, or one after the other, could pass
data through it. Inside the sandbox this loads a seccomp filter that refuses those system calls
(EPERM, as Docker's default profile does), then becomes CMD; the filter holds for CMD and for
everything it starts.
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp

KEYRING_CALLS = ("add_key", "request_key", "keyctl")


def close_keyring() -> None:
    """From now on, this process and its children get EPERM from every keyring system call."""
    refuse = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for call in KEYRING_CALLS:
        refuse.add_rule(pyseccomp.ERRNO(errno.EPERM), call)
    refuse.load()


def main(argv: list[str] | None = None) -> None:
    """Close the keyring, then become the command given."""
    command = sys.argv[1:] if argv is None else argv
    if not command:
        sys.exit("usage: python -I -m course_lib.tools.grading.syscall_filter COMMAND [ARGUMENT...]")
    close_keyring()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
