"""`course_lib.tools.grading.cell_runner`: what a graded cell printed (stdout counts, stderr is cut)."""

from __future__ import annotations

import nbformat

from course_lib.tools.grading import cell_runner


def test_only_stdout_counts_as_what_a_cell_printed_and_stderr_is_cut():
    cell = nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stderr", text="Warning: x" * 500),
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}),
    ])  # fmt: skip
    assert cell_runner.cell_text(cell) == "1\n2\n"
    assert cell_runner.cell_stderr(cell).endswith(" [...]") and len(cell_runner.cell_stderr(cell)) < 2010


def test_a_flood_of_output_is_cut_and_says_so():
    flood = "x" * (cell_runner.TEXT_KEPT * 10)
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", name="stdout", text=flood)])
    text = cell_runner.cell_text(cell)
    assert len(text) < cell_runner.TEXT_KEPT + 200 and text.endswith(
        f"kept up to {cell_runner.TEXT_KEPT} characters]\n"
    )
