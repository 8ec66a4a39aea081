"""The wrong-solution probes: a probe fails when its 'wrong' version passes the check, and passes otherwise."""

from __future__ import annotations

import nbformat
import pytest
import wrong_solutions

SOLUTION = "def double(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n"
CHECK = "# NBVAL_CHECK_OUTPUT\nprint(double(3), double(-1))"


def run_probed(monkeypatch, wrong: str) -> dict:
    monkeypatch.setitem(wrong_solutions.WRONG, "99_demo", {"double": [wrong]})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOLUTION), nbformat.v4.new_code_cell(CHECK)])
    assert wrong_solutions.probe_cells(nb, "99_demo") == 1
    namespace: dict = {}
    for cell in nb.cells:
        exec(cell.source, namespace)  # noqa: S102 (runs the cells as a kernel would)
    return namespace


def test_a_wrong_version_that_fails_the_check_passes_the_probe_and_the_solution_is_put_back(monkeypatch, capsys):
    namespace = run_probed(monkeypatch, "def double(x):\n    return x + 2\n")
    assert namespace["double"](5) == 10


def test_a_wrong_version_that_raises_counts_as_failing_the_check(monkeypatch, capsys):
    run_probed(monkeypatch, "def double(x):\n    raise ValueError\n")


def test_a_version_that_passes_the_check_fails_the_probe(monkeypatch, capsys):
    with pytest.raises(AssertionError, match="this wrong solution passes the check"):
        run_probed(monkeypatch, "def double(x):\n    return {3: 6, -1: -2}[x]\n")
