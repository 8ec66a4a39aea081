"""Grading a hostile class: a submission that attacks the grader, the files and the network.

Apart from the honest class (test_grading.py) and the looping one (test_grading_loops.py) so that
each class is one short fixture, and the files can run on both test workers at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import nbformat
import pytest
from grading_helpers import REFERENCE, grade, points, solved

from course_lib.tools.grading import sandbox


def _attack(targets: list, port: int) -> str:
    lines = ["import pathlib, socket"]
    for target in targets:
        lines += [
            "try:",
            f"    pathlib.Path({str(target)!r}).write_text('overwritten')",
            "    print('wrote a file outside my folder')",
            "except OSError as e:",
            "    print('write refused:', type(e).__name__)",
        ]
    lines += [
        "try:",
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'hello')",
        "    print('connected')",
        "except OSError as e:",
        "    print('no network:', type(e).__name__)",
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """alice (honest), zed (writes outside its folder, connects here), j\x81rgen (honest, a folder name not UTF-8)."""
    root = tmp_path_factory.mktemp("hostile")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    connections = []

    def listen():
        while listener.fileno() != -1:
            try:
                connections.append(listener.accept())
            except OSError:
                continue

    threading.Thread(target=listen, daemon=True).start()
    targets = [
        root / "notebooks" / REFERENCE.name, root / "submissions" / "alice" / REFERENCE.name, root / "out" / "gradebook.csv"
    ]  # fmt: skip
    zed = solved()
    zed.cells.insert(1, nbformat.v4.new_code_cell(_attack(targets, listener.getsockname()[1])))
    students = {"alice": solved(), "zed_attacker": zed, os.fsdecode(b"j\x81rgen"): solved()}
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nbformat.read(REFERENCE, as_version=4), targets[0])
    (root / "submissions" / "alice").mkdir(parents=True)
    nbformat.write(students["alice"], targets[1])
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in targets[:2]}
    result = grade(root, {name: nb for name, nb in students.items() if name != "alice"} | {"alice": None})
    listener.close()
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in targets[:2]}
    return result | {"unchanged": before == after, "connections": connections}


@pytest.mark.notebooks
def test_an_attacker_scores_only_its_own_work_and_its_classmate_is_untouched(hostile_class):
    assert points(hostile_class) == {
        "alice": ("2", "2", "4", "4"),
        "zed_attacker": ("2", "2", "4", "4"),
        "j\\x81rgen": ("2", "2", "4", "4"),  # its bytes escaped: safe to show and to send to Dask, read as they are
    }
    assert hostile_class["feedback"]["j\\x81rgen"].startswith("# Feedback for j\\x81rgen\n")


@pytest.mark.notebooks
def test_a_submission_cannot_touch_the_grader_or_the_network(hostile_class):
    if not sandbox.available():
        pytest.skip("bubblewrap is not installed or not allowed here; CI installs it")
    assert hostile_class["unchanged"], "the reference notebook or another student's submission was overwritten"
    assert hostile_class["connections"] == [], "a submission reached a socket outside its sandbox"
    assert len(hostile_class["gradebook"]) == 3
