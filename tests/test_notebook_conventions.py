"""The notebook conventions of CONTRIBUTING: one typed parameters cell, committed outputs, checked exercises."""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest
import wrong_solutions  # a helper beside this file (pytest puts tests/ on the path)

from course_lib.tools.assignments import is_hidden_cell
from course_lib.tools.course_map import NOTEBOOKS
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS, check_parameters, notebook_parameters, run_parameters

FILENAMES = [nb.name for nb in NOTEBOOKS]
ASSIGNMENT = re.compile(r"^\w+\s*(:[^=]+)?=")


@pytest.mark.parametrize("name", FILENAMES)
def test_parameters_cell_is_single_and_fully_declared(name):
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    assigned = [line for line in cells[0].source.splitlines() if ASSIGNMENT.match(line)]
    declared = notebook_parameters(CHECKOUT_NOTEBOOKS / name)
    assert len(declared) == len(assigned), "papermill could not parse every parameter line (an '=' in a comment?)"
    assert all(p["inferred_type_name"] != "None" for p in declared.values()), "annotate every parameter's type"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=FILENAMES)
def test_tiny_parameters_exist_in_the_notebook(nb, tmp_path):
    run_parameters(
        nb, CHECKOUT_NOTEBOOKS / nb.name, "tiny", tmp_path / "m.json"
    )  # raises on a name the notebook does not declare


@pytest.mark.parametrize("nb", [nb for nb in NOTEBOOKS if nb.browser_parameters], ids=lambda nb: nb.stem)
def test_browser_parameters_exist_and_only_shorten_the_tiny_run(nb, tmp_path):
    check_parameters(CHECKOUT_NOTEBOOKS / nb.name, nb.browser_parameters)
    declared = notebook_parameters(CHECKOUT_NOTEBOOKS / nb.name)
    for name, value in nb.browser_parameters.items():
        tiny = nb.tiny_parameters.get(name, declared[name]["default"])
        assert _shorter(value, tiny), f"{nb.stem}: {name} = {value} does not shorten the tiny run's {tiny}"


def _shorter(value: float | str, tiny: float | str) -> bool:
    """A smaller positive number, or some of a list's items ("0.1,0.4"; widths "8,16,16;16,32,32")."""
    if not isinstance(value, str):
        return 0 < value < float(tiny)
    tried = [t.strip("'\"") for t in str(tiny).split(";" if ";" in str(tiny) else ",")]
    items = value.split(";" if ";" in str(tiny) else ",")
    return 0 < len(items) < len(tried) and set(items) <= set(tried)


def test_misspelt_parameter_is_refused():
    with pytest.raises(ValueError, match="has no parameter"):
        check_parameters(CHECKOUT_NOTEBOOKS / FILENAMES[1], {"epocs": 3})


@pytest.mark.parametrize("name", FILENAMES)
def test_committed_with_outputs_and_no_volatile_metadata(name):
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "commit the notebook with the outputs of a full run"
    assert "papermill" not in nb.metadata
    assert not any("execution" in c.metadata or "papermill" in c.metadata for c in nb.cells)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    hidden = [c for c in code if is_hidden_cell(c.source)]
    assert not any(c.outputs for c in hidden), (
        "hidden tests' outputs are the expected answers: `course promote` drops them"
    )


@pytest.mark.parametrize("name", FILENAMES)
def test_exercise_solutions_are_followed_by_a_checked_cell(name):
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        if "# BEGIN SOLUTION" in cell.source:
            assert "# END SOLUTION" in cell.source
            assert "NBVAL_CHECK_OUTPUT" in code[i + 1].source, "a check cell must follow each solution"
            assert code[i + 1].outputs, "the check cell must carry the reference output"


def test_a_misspelt_tiny_parameter_in_the_course_map_is_refused_naming_the_declared_ones(tmp_path):
    nb = dataclasses.replace(NOTEBOOKS[1], tiny_parameters={"epocs": 15})
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['epocs'\]; it declares \[.*'epochs'.*\]"):
        run_parameters(nb, CHECKOUT_NOTEBOOKS / nb.name, "tiny", tmp_path / "m.json")


EXEMPT_FROM_EXERCISES = {"00_environment_check.ipynb": "it checks the set-up; there is nothing to practise yet"}


@pytest.mark.parametrize("name", FILENAMES)
def test_every_lesson_has_at_least_two_graded_exercises(name):
    if name in EXEMPT_FROM_EXERCISES:
        pytest.skip(f"exempt: {EXEMPT_FROM_EXERCISES[name]}")
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    solutions = [c for c in nb.cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source]
    assert len(solutions) >= 2, "CONTRIBUTING: every notebook has at least two graded exercises"


@pytest.mark.parametrize("name", FILENAMES)
def test_every_exercise_has_wrong_solutions_that_the_suite_probes(name):
    """Each exercise's check is shown to fail on plausible wrong answers (`tests/wrong_solutions.py`)."""
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    exercises = [wrong_solutions.exercise_name(c.source) for c in nb.cells if c.cell_type == "code"]
    exercises = [e for e in exercises if e]
    missing = [e for e in exercises if not wrong_solutions.WRONG.get(name.removesuffix(".ipynb"), {}).get(e)]
    assert not missing, f"no wrong solutions for {missing} in tests/wrong_solutions.py"
    assert wrong_solutions.probe_cells(nb, name.removesuffix(".ipynb")) >= len(exercises)


HEADER_LABELS = ("**You will learn**", "**Assumes**", "**Run time**", "**Quick run**")


@pytest.mark.parametrize("name", FILENAMES)
def test_the_first_cell_is_a_header_with_the_four_labels(name):
    first = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    missing = [label for label in HEADER_LABELS if label not in first.source]
    assert not missing, f"CONTRIBUTING: the header names {missing}"
    learn = first.source.split("**You will learn**")[1].split("**Assumes**")[0]
    assert 3 <= learn.count("\n- ") <= 5, "3 to 5 bullets under **You will learn**"
    assert "RUN_" not in first.source and "PLACEHOLDER" not in first.source, (
        "fill in the run times from the reference run"
    )


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.mark.parametrize("name", FILENAMES)
def test_committed_outputs_have_no_stderr_warnings_or_terminal_codes(name):
    nb = nbformat.read(CHECKOUT_NOTEBOOKS / name, as_version=4)
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for output in cell.outputs:
            text = output.get("text", "") + "".join(str(v) for v in output.get("data", {}).values())
            assert output.get("name") != "stderr", f"stderr output in:\n{cell.source[:200]}"
            assert not ANSI.search(text), f"terminal colour codes in:\n{cell.source[:200]}"
            assert "Warning" not in text and "WARNING" not in text, f"a warning in:\n{cell.source[:200]}"
