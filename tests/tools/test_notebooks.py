"""`course_lib.tools.notebooks`: `course promote` copies a run back over its source, minus the run's metadata."""

from __future__ import annotations

import nbformat

from course_lib.tools import cli
from tools.fake_notebooks import GOOD


def test_promote_drops_the_injected_parameters_and_run_metadata(fake_course, tmp_path):
    out = tmp_path / "out"
    cli.main(["run", "--tiny", "--notebooks", str(fake_course), "--out", str(out), "--only", "00_"])
    target = tmp_path / "promoted.ipynb"
    assert cli.main(["promote", str(out / "notebooks" / GOOD.name), str(target)]) == 0
    promoted = nbformat.read(target, as_version=4)
    assert [c.source for c in promoted.cells] == [c.source for c in nbformat.read(fake_course / GOOD.name, 4).cells]
    assert "papermill" not in promoted.metadata
    assert not any({"papermill", "execution"} & set(c.metadata) for c in promoted.cells)
    assert all(c.execution_count for c in promoted.cells), "the outputs of the run are kept"


def test_promote_drops_what_hidden_tests_printed_and_keeps_every_other_output(tmp_path):
    hidden = "# BEGIN HIDDEN TESTS\n# hidden test: secret\nprint(42)\n# END HIDDEN TESTS"
    cells = [nbformat.v4.new_code_cell("print(1)"), nbformat.v4.new_code_cell(hidden)]
    for k, cell in enumerate(cells, 1):
        cell.execution_count, cell.outputs = k, [nbformat.v4.new_output("stream", name="stdout", text=f"{k}\n")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "executed.ipynb")
    assert cli.main(["promote", str(tmp_path / "executed.ipynb"), str(tmp_path / "promoted.ipynb")]) == 0
    promoted = nbformat.read(tmp_path / "promoted.ipynb", as_version=4).cells
    assert promoted[0].outputs[0].text == "1\n" and promoted[1].outputs == [] and promoted[1].execution_count == 2
