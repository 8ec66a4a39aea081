"""Every notebook, run by the course runner on the tiny data (papermill), and the notebook conventions."""

from __future__ import annotations

import re

import nbformat
import pytest

from course_lib import runner
from course_lib.course import NOTEBOOKS
from course_lib.harness import check_parameters, notebook_parameters, run_parameters
from course_lib.metrics import load_metrics

NAMES = [nb.name for nb in NOTEBOOKS]
ASSIGNMENT = re.compile(r"^\w+\s*(:[^=]+)?=")


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory):
    """The whole course run on the tiny data, once; yields its output folder."""
    out = tmp_path_factory.mktemp("course")
    data_dir = tmp_path_factory.mktemp("data")
    mp = pytest.MonkeyPatch()
    mp.setenv("COURSE_DATA_DIR", str(data_dir))
    mp.setenv("COURSE_OFFLINE", "1")
    try:
        failed = runner.run(out, tiny=True)
    finally:
        mp.undo()
    assert failed == 0, (out / "results.md").read_text()
    return out


def metrics_of(out, stem):
    return load_metrics(out / "metrics" / f"{stem}.json")


def test_mnist_softmax_learns_on_tiny_data(tiny_course):
    m = metrics_of(tiny_course, "01_mnist_softmax_regression")
    assert m["data_source"] == "tiny"
    assert m["test_accuracy"] > 0.6 and m["keras_test_accuracy"] > 0.6  # chance is 0.1


def test_softmax_theory_gradient_check(tiny_course):
    assert metrics_of(tiny_course, "02_softmax_cross_entropy")["max_gradient_error"] < 1e-12


def test_image_folder_loader_learns_on_tiny_tree(tiny_course):
    m = metrics_of(tiny_course, "08_image_folder_loader")
    assert m["images"] == 500 and m["skipped"] == 0
    assert m["test_accuracy"] > 0.4  # chance is 0.1
    assert set(m["images_per_second"]) == {
        "sequential decode", "parallel decode", "parallel + prefetch", "parallel + cache + prefetch (2nd pass)"
    }  # fmt: skip


def test_lrn_cnn_learns_on_tiny_data_with_both_recipes(tiny_course):
    m = metrics_of(tiny_course, "03_cifar10_lrn_cnn")
    assert m["short_test_accuracy"] > 0.3 and m["long_test_accuracy"] > 0.3  # chance is 0.1


def test_l2_theory_experiment_runs_and_learns(tiny_course):
    m = metrics_of(tiny_course, "04_l2_regularization")
    assert m["plain_test_accuracy"] > 0.5 and m["l2_test_accuracy"] > 0.5
    assert m["l1_zero_share"] > m["l2_zero_share"]


def test_lrn_theory_measures_a_share_of_the_step(tiny_course):
    share = metrics_of(tiny_course, "05_local_response_normalization")["lrn_share_of_step"]
    assert isinstance(share, float) and share < 1


def test_batchnorm_cnn_learns_with_both_recipes_and_fills_the_ablation(tiny_course):
    m = metrics_of(tiny_course, "06_cifar10_batchnorm_cnn")
    assert (m["published_parameters"], m["published_non_trainable"]) == (159_018, 512)
    assert m["published_test_accuracy"] > 0.3 and m["improved_flip_tta_accuracy"] > 0.3  # chance is 0.1
    assert set(m["ablation"]) == {
        "full recipe", "published network", "no augmentation", "Adam 1e-3, constant", "no label smoothing"
    }  # fmt: skip
    assert all(0 <= row["accuracy"] <= 1 and row["epochs"] > 0 for row in m["ablation"].values())


def test_batchnorm_theory_reference_agrees_and_experiments_learn(tiny_course):
    m = metrics_of(tiny_course, "07_batch_normalization")
    assert m["max_train_mode_error"] < 1e-5 and m["max_inference_mode_error"] < 1e-5
    assert len(m["rate_experiment"]["none"]) == len(m["learning_rates"])
    assert m["best_with_bn"] > 0.3 and m["batch_64_accuracy"] > 0.2  # chance is 0.1
    assert set(m["batch_statistics_accuracy"]) == {"1", "2", "8", "64", "500"}
    assert all(0 <= acc <= 1 for acc in m["batch_statistics_accuracy"].values())


def test_environment_check_reports_tensorflow(tiny_course):
    import tensorflow as tf

    assert metrics_of(tiny_course, "00_environment_check")["tensorflow"] == tf.__version__


def test_results_table_lists_every_key_figure(tiny_course):
    table = (tiny_course / "results.md").read_text()
    for nb in NOTEBOOKS:
        for fig in nb.figures:
            assert f"| {nb.stem} | ok" in table and fig.label in table
    assert "| — |" not in table.split("published |")[1].replace("| — |\n", "|\n"), "a measured figure is missing"


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell_is_single_and_fully_declared(name):
    nb = nbformat.read(NOTEBOOKS[NAMES.index(name)].path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    assigned = [line for line in cells[0].source.splitlines() if ASSIGNMENT.match(line)]
    declared = notebook_parameters(NOTEBOOKS[NAMES.index(name)].path)
    assert len(declared) == len(assigned), "papermill could not parse every parameter line (an '=' in a comment?)"
    assert all(p["inferred_type_name"] != "None" for p in declared.values()), "annotate every parameter's type"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=NAMES)
def test_tiny_parameters_exist_in_the_notebook(nb, tmp_path):
    run_parameters(nb, "tiny", tmp_path / "m.json")  # raises on a name the notebook does not declare


def test_misspelt_parameter_is_refused():
    with pytest.raises(ValueError, match="has no parameter"):
        check_parameters(NOTEBOOKS[1].path, {"epocs": 3})


@pytest.mark.parametrize("name", NAMES)
def test_committed_with_outputs_and_no_volatile_metadata(name):
    nb = nbformat.read(NOTEBOOKS[NAMES.index(name)].path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "commit the notebook with the outputs of a full run"
    assert "papermill" not in nb.metadata
    assert not any("execution" in c.metadata or "papermill" in c.metadata for c in nb.cells)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


@pytest.mark.parametrize("name", NAMES)
def test_exercise_solutions_are_followed_by_a_checked_cell(name):
    nb = nbformat.read(NOTEBOOKS[NAMES.index(name)].path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        if "# BEGIN SOLUTION" in cell.source:
            assert "# END SOLUTION" in cell.source
            assert "NBVAL_CHECK_OUTPUT" in code[i + 1].source, "a check cell must follow each solution"
            assert code[i + 1].outputs, "the check cell must carry the reference output"
