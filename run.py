#!/usr/bin/env python3
"""Set up the course and run it. Needs only Python 3.11.4+ with pip (Linux, macOS, Windows).

    python run.py course [--tiny] [--data-dir DIR] [--accept-mirror] [--out DIR] [--only TEXT]
        execute every notebook headless, in course order; write OUT/results.md (`course run`)
    python run.py test [PYTEST ARGS]
        run the whole test suite: the same as `pytest` in this folder
    python run.py setup [--newest]
        (re)install the course into .venv; --newest takes the newest releases pyproject.toml
        allows instead of the locked versions the committed outputs were made with

The first call creates .venv/ beside this file and installs the course into it with the
versions pinned in constraints.txt; later calls reinstall only when pyproject.toml or
constraints.txt change.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "constraints.txt"
STAMP = VENV / ".course-installed"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _digest(mode: str) -> str:
    text = (ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes() + mode.encode()
    return f"{mode} {hashlib.sha256(text).hexdigest()}"


def setup(newest: bool | None = None) -> str:
    """Create .venv and install the course into it if needed; return its Python.

    `newest=None` keeps the mode of the last install (locked by default).
    """
    if sys.version_info < (3, 11, 4):  # run.py itself must start on older Pythons to say so
        sys.exit(f"Python 3.11.4 or newer is needed; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as e:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(f"could not create {VENV} ({e}). On Debian/Ubuntu install python3-venv, then run again.")
    installed = STAMP.read_text() if STAMP.exists() else ""
    if newest is None:
        newest = installed.startswith("newest ")
    mode = "newest" if newest else "locked"
    if installed != _digest(mode):
        print(f"installing the course into {VENV} ({mode} package versions)", flush=True)
        pins = ["--upgrade", "--upgrade-strategy", "eager"] if newest else ["--constraint", str(LOCK)]
        subprocess.check_call([str(python), "-m", "pip", "install", "--upgrade", "pip"])
        subprocess.check_call([str(python), "-m", "pip", "install", *pins, "-e", f"{ROOT}[test]"])
        STAMP.write_text(_digest(mode))
    return str(python)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("course", "test", "setup"):
        print(__doc__)
        return 2
    if argv[0] == "setup":
        setup(newest="--newest" in argv[1:])
        return 0
    python = setup()
    if argv[0] == "course":
        return subprocess.call([python, "-m", "course_lib.tools", "run", *argv[1:]], cwd=ROOT)
    return subprocess.call([python, "-m", "pytest", *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
