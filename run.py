#!/usr/bin/env python3
"""Set up the course and run it. Needs only Python 3.11+ with pip (Linux, macOS, Windows).

    python run.py course [--tiny] [--data-dir DIR] [--accept-mirror] [--out DIR]
        execute every notebook headless, in course order; write OUT/results.md
    python run.py test [PYTEST ARGS]
        run the whole test suite (course_lib unit tests, notebooks under papermill, nbval)

The first call creates .venv/ beside this file and installs the course into it
(`pip install -e .[test]`); later calls reinstall only when pyproject.toml changes.
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
NBVAL_COPIES = ROOT / "build" / "nbval"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def setup() -> str:
    """Create .venv and install the course into it if needed; return its Python."""
    if sys.version_info < (3, 11):  # noqa: UP036 (run.py itself must start on older Pythons to say so)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}.")
    python = venv_python()
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as e:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(f"could not create {VENV} ({e}). On Debian/Ubuntu install python3-venv, then run again.")
    stamp = VENV / ".course-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.check_call([str(python), "-m", "pip", "install", "--upgrade", "pip"])
        subprocess.check_call([str(python), "-m", "pip", "install", "-e", f"{ROOT}[test]"])
        stamp.write_text(digest)
    return str(python)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("course", "test"):
        print(__doc__)
        return 2
    python = setup()
    if argv[0] == "course":
        return subprocess.call([python, "-m", "course_lib.runner", *argv[1:]], cwd=ROOT)
    # Tests never touch the user's data directory or the network.
    env = dict(os.environ, COURSE_DATA_DIR=str(ROOT / "build" / "test-data"), COURSE_OFFLINE="1")
    prepare = [python, "-m", "course_lib.harness", "prepare-nbval", str(NBVAL_COPIES)]
    if subprocess.call(prepare, cwd=ROOT, env=env):
        return 1
    pytest = [python, "-m", "pytest", "tests", str(NBVAL_COPIES), "--nbval-lax", "--durations=5", *argv[1:]]
    return subprocess.call(pytest, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
