"""Grading: the class folder, the graded notebook with its hidden tests, a class of honest and wrong answers graded
into a gradebook. Reading and releasing an assignment: test_assignments.py; what a cell printed: test_cell_runner.py."""

from __future__ import annotations

import csv
import os
import shutil

import msgpack
import nbformat
import papermill
import pytest
from grading_helpers import (
    EX1,
    EX2,
    REFERENCE,
    STEM,
    exercise_check,
    exercise_lines,
    grade,
    points,
    reference_solutions,
    solved,
)

from course_lib.tools import assignments, cli
from course_lib.tools.grading import build, classes, limits, report, sandbox

# ---------------------------------------------------------------- the class folder and the gradebook (no kernel)


def _class_folder(root):
    """alice (a real submission), a hidden folder, a loose file, a symlinked folder, a symlinked notebook."""
    subs = root / "subs"
    (subs / "alice").mkdir(parents=True)
    shutil.copy(REFERENCE, subs / "alice")
    (subs / ".hidden").mkdir()
    (subs / "notes.txt").write_text("not a student")
    (subs / "=1+2.txt").write_text("a file a spreadsheet would run")
    (subs / "bob_link").symlink_to(subs / "alice")
    (subs / "carl").mkdir()
    (subs / "carl" / REFERENCE.name).symlink_to(subs / "alice" / REFERENCE.name)
    (subs / JURGEN).mkdir()
    shutil.copy(REFERENCE, subs / JURGEN)
    return subs


JURGEN = os.fsdecode(b"j\x81rgen")  # what unzip makes of a CP437 "ü": not UTF-8


@pytest.fixture
def no_kernels(monkeypatch):
    """grade_class with no kernel started: the reference's outputs and the grading itself are faked."""
    graded = {}
    monkeypatch.setattr(classes, "expected_outputs", lambda *args: {})
    monkeypatch.setattr(classes, "_grade_all", lambda handed_in, *args: graded.update(handed_in) or [])
    return graded


def test_without_bubblewrap_grading_refuses_and_writes_nothing(tmp_path, monkeypatch, capsys, no_kernels):
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: None)
    subs, out = _class_folder(tmp_path), tmp_path / "out"
    assert cli.main(["grade", str(subs), "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert "bubblewrap" in message and "apt-get install bubblewrap" in message and "--no-sandbox" in message
    assert not out.exists() and no_kernels == {}
    with pytest.raises(sandbox.SandboxMissing):
        sandbox.prefix(tmp_path)


def test_no_sandbox_warns_on_screen_and_in_the_output_folder(tmp_path, monkeypatch, capsys, no_kernels):
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: None)
    subs, out = _class_folder(tmp_path), tmp_path / "out"
    assert cli.main(["grade", str(subs), "--out", str(out), "--no-sandbox"]) == 0
    assert "--no-sandbox: student code runs with your rights" in capsys.readouterr().err
    assert "Graded without a sandbox" in (out / "UNSANDBOXED.md").read_text()
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: "/usr/bin/bwrap")
    assert cli.main(["grade", str(subs), "--out", str(out)]) == 0
    assert not (out / "UNSANDBOXED.md").exists(), "a sandboxed regrade removes the old warning"


def test_every_entry_is_graded_or_listed_with_its_reason(tmp_path, monkeypatch, capsys, no_kernels):
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: "/usr/bin/bwrap")
    subs, out = _class_folder(tmp_path), tmp_path / "out"
    assert cli.main(["grade", str(subs), "--out", str(out)]) == 0
    with open(out / "not_graded.csv", newline="") as f:
        skipped = {row["entry"]: row["reason"] for row in csv.DictReader(f)}
    assert set(skipped) == {".hidden", "notes.txt", "'=1+2.txt", "bob_link", f"carl/{REFERENCE.name}"}
    assert skipped["bob_link"].startswith("a symbolic link") and skipped[".hidden"].startswith("a hidden folder")
    assert skipped["notes.txt"].startswith("not a folder")
    assert set(no_kernels) == {"alice", "carl", "j\\x81rgen"} and no_kernels["carl"] == {STEM: None}, (
        "a symlink is never read"
    )
    assert no_kernels["alice"][STEM] == no_kernels["j\\x81rgen"][STEM] == REFERENCE.read_bytes()
    printed = capsys.readouterr().out
    assert all(f"not graded: {entry}: " in printed for entry in skipped)


@pytest.mark.parametrize("name", ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_student_name_a_spreadsheet_would_run_is_written_as_text(name, tmp_path):
    assert report.spreadsheet_safe(name) == "'" + name and report.spreadsheet_safe("alice") == "alice"
    assert report.gradebook_row(name, {}, {})["student"] == "'" + name
    report.write_gradebook(tmp_path / "g.csv", [report.gradebook_row(name, {}, {})])
    with open(tmp_path / "g.csv", newline="") as f:
        assert next(csv.DictReader(f))["student"] == "'" + name


def test_a_folder_name_is_shown_escaped_safe_to_send_and_one_name_for_one_folder():
    names = [JURGEN, "j\\x81rgen", "jürgen", "a\nb", "a\\u000ab", "\x1b[2Jx", "alice"]
    shown = [report.shown_name(name) for name in names]
    assert shown == ["j\\x81rgen", "j\\\\x81rgen", "jürgen", "a\\u000ab", "a\\\\u000ab", "\\u001b[2Jx", "alice"]
    assert len(set(shown)) == len(names), "two folders shown alike"
    assert all(msgpack.unpackb(msgpack.packb(name)) == name for name in shown), "Dask sends its keys with msgpack"


# ---------------------------------------------------------------- the graded notebook, bad class folders (no kernel)


def test_the_graded_notebook_puts_the_hidden_tests_last_and_drops_planted_ones():
    assignment = assignments.read_assignment(REFERENCE)
    student = solved()
    planted = nbformat.v4.new_code_cell("# BEGIN HIDDEN TESTS\nprint('planted')\n# END HIDDEN TESTS")
    student.cells.insert(len(student.cells) - 1, planted)
    exercise_check(student, 1).source += "\nprint('edited')"
    forged = nbformat.v4.new_code_cell("print('what check 2 prints')")
    forged.metadata["grading"] = {"exercise": EX2, "role": "check", "key": "check 1"}  # a forged grading tag
    student.cells.append(forged)
    nb, problems = build.graded_notebook(student, assignment)
    roles = [(c.metadata.grading["exercise"], c.metadata.grading["role"]) for c in nb.cells if "grading" in c.metadata]
    assert roles == [(EX1, "solution"), (EX1, "check"), (EX2, "solution"), (EX1, "hidden"), (EX2, "hidden")]
    hidden = [i for i, c in enumerate(nb.cells) if c.metadata.get("grading", {}).get("role") == "hidden"]
    assert hidden == list(range(len(nb.cells) - len(hidden), len(nb.cells))), "no student cell after a hidden test"
    assert problems == {
        EX1: [],
        EX2: [
            "a cell with hidden-test markers was in the submission; it was removed",
            "visible check 1 was edited or deleted; it was not run",
        ],
    }
    assert not any("planted" in c.source for c in nb.cells)
    assert "grading" not in next(c for c in nb.cells if "what check 2 prints" in c.source).metadata, (
        "forged tag ignored"
    )


def test_grading_a_missing_folder_or_one_without_course_notebooks_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "no folder" in capsys.readouterr().err
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "alice" / "essay.ipynb").write_text("{}")
    assert cli.main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 2
    assert "holds a course notebook" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Nine students, honest and wrong, graded with 2 workers (the hostile ones: test_grading_hostile.py)."""
    naive = f"def {EX1}(z):\n    e = np.exp(z)\n    return e / e.sum(axis=1, keepdims=True)"
    warns = f"def {EX1}(z):\n    np.log(np.zeros(1))  # a RuntimeWarning on stderr; the answer is right\n"
    students = {
        "alice": solved(),
        "bea_warns": solved({EX1: reference_solutions()[EX1].replace(f"def {EX1}(z):\n", warns, 1)}),
        "bob_wrong": solved({EX1: naive}),
        "carl_forbidden": solved({EX1: f"def {EX1}(z):\n    return tf.nn.softmax(z).numpy()"}),
        "dina_tampers": solved({EX1: f"def {EX1}(z):\n    return np.zeros_like(z)"}),
        "fay_raises": solved({EX1: reference_solutions()[EX1] + "\n\n\nraise ValueError('not finished')"}),
        "hal_not_json": "{not json",
        "ivy_empty": None,
        "gus_leaks": solved({EX2: f"def {EX2}(*args):\n    raise ValueError('LEAK ' + str(args))"}),
    }
    expected_check = exercise_check(nbformat.read(REFERENCE, as_version=4), 0)
    printed = "".join(o.get("text", "") for o in expected_check.outputs).splitlines()
    dina = students["dina_tampers"]  # prints check 1's lines by hand, deletes check 2, and has a broken import
    exercise_check(dina, 0).source = "\n".join([assignments.CHECK_MARK, *(f"print({line!r})" for line in printed)])
    dina.cells.remove(exercise_check(dina, 1))
    dina.cells.insert(1, nbformat.v4.new_code_cell("import not_a_module  # a typo"))
    return grade(tmp_path_factory.mktemp("class"), students)


@pytest.mark.notebooks
def test_the_gradebook_has_one_row_per_student_and_a_column_per_exercise(graded_class):
    assert list(graded_class["gradebook"][0]) == ["student", f"{STEM}:{EX1}", f"{STEM}:{EX2}", "total", "max"]
    assert points(graded_class) == {
        "alice": ("2", "2", "4", "4"),
        "bea_warns": ("2", "2", "4", "4"),
        "bob_wrong": ("0", "2", "2", "4"),
        "carl_forbidden": ("0", "2", "2", "4"),
        "dina_tampers": ("0", "0", "0", "4"),
        "fay_raises": ("0", "2", "2", "4"),
        "hal_not_json": ("0", "0", "0", "4"),
        "ivy_empty": ("0", "0", "0", "4"),
        "gus_leaks": ("2", "0", "2", "4"),
    }


@pytest.mark.notebooks
def test_the_feedback_says_what_failed_and_why(graded_class):
    fb = graded_class["feedback"]
    assert exercise_lines(fb["alice"], EX1) == [f"- `{EX1}`: passed, 2 / 2 points"]
    warned = exercise_lines(fb["bea_warns"], EX1)  # stderr is shown, never scored
    assert warned[:2] == [f"- `{EX1}`: passed, 2 / 2 points", "  - check 1 wrote to stderr (not graded):"]
    assert any("RuntimeWarning: divide by zero encountered in log" in line for line in warned[2:])
    assert "hidden test" not in fb["bea_warns"], "a hidden test's stderr is never shown (it could show its inputs)"
    wrong = exercise_lines(fb["bob_wrong"], EX1)
    assert wrong[:2] == [f"- `{EX1}`: not passed, 0 / 2 points", "  - visible check 1 printed something else:"]
    assert "  - hidden test 'logits never shown, some in the thousands' failed" in wrong
    carl = exercise_lines(fb["carl_forbidden"], EX1)[1:]
    rule = [line for line in carl if line.startswith("  - your solution cell uses ")]
    assert rule == carl[:2], "the solution's code is refused first, by name"
    assert any("uses `tf.nn.softmax`: this exercise may use `np` and Python's built-ins" in line for line in rule)
    assert any("uses `tf`, defined outside this cell and not allowed here" in line for line in rule)
    assert len(carl) == 3, "the hidden test ran the call and passed: the rule alone costs the exercise"
    assert carl[2].startswith(f"  - check 1 raised RuleBrokenError: {EX1} may use `np`"), (
        "the visible check reads the code"
    )
    assert exercise_lines(fb["dina_tampers"], EX1)[1:] == [
        "  - visible check 1 was edited or deleted; it was not run",
        "  - hidden test 'logits never shown, some in the thousands' failed",
    ]
    assert exercise_lines(fb["fay_raises"], EX1)[1:] == ["  - your solution cell raised ValueError: not finished"]
    broken = "- the cell starting `import not_a_module  # a typo` raised ModuleNotFoundError: No module named"
    assert any(line.startswith(broken) for line in fb["dina_tampers"].splitlines()), "an ungraded cell's error"
    assert exercise_lines(fb["dina_tampers"], EX2)[1:] == ["  - visible check 1 was edited or deleted; it was not run"]
    assert f"- {REFERENCE.name} is not a readable notebook (NotJSONError)" in fb["hal_not_json"].splitlines()
    assert f"- missing: the submission has no {REFERENCE.name}" in fb["ivy_empty"].splitlines()
    assert fb["alice"].splitlines()[:3] == ["# Feedback for alice", "", f"## {STEM}: 4 / 4 points"]


@pytest.mark.notebooks
def test_students_who_hand_in_the_same_code_are_listed_for_the_instructor(graded_class):
    with open(graded_class["out"] / "similar_solutions.csv", newline="") as f:
        shared = {row["exercise"]: row["students"] for row in csv.DictReader(f)}
    # everyone who kept the reference's answer to exercise 2; of exercise 1, only the unchanged copies
    assert shared[f"{STEM}:{EX2}"] == "alice; bea_warns; bob_wrong; carl_forbidden; dina_tampers; fay_raises"
    assert shared[f"{STEM}:{EX1}"] == "alice; fay_raises; gus_leaks"
    assert "feedback" not in shared and all("similar" not in text for text in graded_class["feedback"].values())


@pytest.mark.notebooks
def test_a_hidden_test_that_raises_shows_the_exception_type_and_never_its_message(graded_class):
    lines = exercise_lines(graded_class["feedback"]["gus_leaks"], EX2)
    hidden = [line for line in lines if "hidden test" in line]
    assert hidden and all("raised ValueError (the message of a hidden test is not shown)" in line for line in hidden)
    assert not any("LEAK" in line for line in hidden), "the hidden test's inputs leaked through the message"
    assert any("LEAK" in line for line in lines if "hidden test" not in line), "a visible check shows the message"


def test_tags_saved_outputs_second_definitions_and_definitions_in_strings_earn_nothing():
    assignment = assignments.read_assignment(REFERENCE)
    student = solved({EX2: "'''\ndef " + EX2 + "(z, y):\n'''"})  # exercise 2's "definition" is a string
    check = exercise_check(student, 0)
    check.metadata["tags"] = ["skip-execution"]  # nbclient would skip it and keep the saved output below
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="what check 1 prints\n")]
    student.cells.append(nbformat.v4.new_code_cell(f"{EX1} = lambda z, f=tf.nn.softmax: f(z).numpy()"))
    nb, problems = build.graded_notebook(student, assignment)
    graded_check = next(c for c in nb.cells if c.metadata.get("grading", {}).get("role") == "check")
    assert graded_check.metadata.tags == [] and graded_check.outputs == [], "no tag skips a check, no output stands in"
    second = f"the cell starting `{EX1} = lambda z, f=tf.nn.softmax: f(z).numpy()` binds `{EX1}` again"
    assert problems[EX1] == [f"{second}, outside its solution cell"]
    assert problems[EX2] == [f"no solution cell defining `{EX2}` was found"]


def test_a_builtin_redefined_in_another_cell_costs_the_solution_that_calls_it():
    """A fourth hostile review's 4/4: `def abs(z): return tf.nn.softmax(z)` in a helper cell, `return abs(z)`."""
    student = solved({EX1: f"def {EX1}(z):\n    return abs(z)\n"})
    student.cells.insert(1, nbformat.v4.new_code_cell("def abs(z):\n    return tf.nn.softmax(z).numpy()\n"))
    _, problems = build.graded_notebook(student, assignments.read_assignment(REFERENCE))
    assert any("`abs`, which another cell redefines" in p for p in problems[EX1]), problems[EX1]


def test_a_parameters_cell_too_long_to_read_is_reported_and_never_handed_to_papermill(tmp_path, monkeypatch):
    inspected, inspect = [], papermill.inspect_notebook
    monkeypatch.setattr(papermill, "inspect_notebook", lambda path: inspected.append(path) or inspect(path))
    nb, _ = build.graded_notebook(solved(), assignments.read_assignment(REFERENCE))
    assert build.parameterized(nb, STEM, tmp_path)[1] == [] and len(inspected) == 1
    cell = next(c for c in nb.cells if "parameters" in c.metadata.tags)
    cell.source += '\nnote: "a' + " " * limits.PARAMETERS_CELL_CHARS + 'b"'  # quadratic for papermill's regex
    ran, notes = build.parameterized(nb, STEM, tmp_path)
    limit = f"{len(cell.source):,} characters, over the grader's limit of {limits.PARAMETERS_CELL_CHARS:,}"
    assert notes == [f"the parameters cell holds {limit}; it was not read and the notebook ran with its own settings"]
    assert len(inspected) == 1 and ran is nb, "handed to papermill, or changed"


def test_a_notebook_with_more_code_than_the_grader_reads_is_refused_unread(monkeypatch):
    monkeypatch.setattr(classes, "grade_notebook", lambda *args: pytest.fail("a notebook over the limit was read"))
    monkeypatch.setattr(classes, "tiny_data_dir", lambda: None)
    student = solved()
    student.cells.append(nbformat.v4.new_code_cell("x = 1\n" * (limits.CODE_CHARS // 6 + 1)))
    tasks = {STEM: (assignments.read_assignment(REFERENCE), {})}
    result = classes.grade_student({STEM: nbformat.writes(student).encode()}, tasks, sandbox.GradeOptions())[STEM]
    code = f"{limits.code_chars(student):,}"
    assert result.notes == [
        f"{REFERENCE.name} holds {code} characters of code, over the grader's limit of {limits.CODE_CHARS:,}; not graded"
    ]
    assert all(r.points == 0 for r in result.exercises.values())


def test_a_notebook_of_too_many_cells_or_bytes_is_refused_before_nbformat_reads_it(monkeypatch, tmp_path):
    """200,000 empty cells once held a worker for minutes outside every timeout (a third hostile review)."""
    monkeypatch.setattr(classes, "grade_notebook", lambda *args: pytest.fail("a notebook over the limit was graded"))
    monkeypatch.setattr(classes, "tiny_data_dir", lambda: None)
    tasks = {STEM: (assignments.read_assignment(REFERENCE), {})}
    student = solved()
    student.cells += [nbformat.v4.new_code_cell("") for _ in range(limits.CELLS + 1 - len(student.cells))]
    many = nbformat.writes(student).encode()
    huge = tmp_path / f"{STEM}.ipynb"
    huge.write_bytes(b" " * (limits.NOTEBOOK_BYTES + 10) + many)  # JSON may start with white space
    read = classes._handed_in(huge)
    assert len(read) == limits.NOTEBOOK_BYTES + 1, "the grader reads no more of a file than it needs to refuse it"
    monkeypatch.setattr(classes.nbformat, "reads", lambda *args, **kw: pytest.fail("read cell by cell"))
    for content, why in [(many, f"{limits.CELLS + 1:,} cells"), (read, f"more than {limits.NOTEBOOK_BYTES:,} bytes")]:
        result = classes.grade_student({STEM: content}, tasks, sandbox.GradeOptions())[STEM]
        limit = limits.CELLS if "cells" in why else limits.NOTEBOOK_BYTES
        assert result.notes == [f"{REFERENCE.name} holds {why}, over the grader's limit of {limit:,}; not graded"]
        assert all(r.points == 0 for r in result.exercises.values())
        assert report._solutions(content, tasks[STEM][0]) == (
            {},
            f"it holds {why}, over the grader's limit of {limit:,}",
        )


def test_a_kernels_folder_is_removed_however_deep_or_closed_it_was_left(tmp_path):
    folder = tmp_path / "kernel"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY)
    for _ in range(1200):  # deeper than Python's recursion limit (shutil.rmtree gives up on 3.11) and PATH_MAX
        os.mkdir("d", dir_fd=fd)
        fd, parent = os.open("d", os.O_RDONLY, dir_fd=fd), fd
        os.close(parent)
    os.close(os.open("left.bin", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    os.close(fd)
    (folder / "closed").mkdir()
    (folder / "closed" / "f").write_text("x")
    (folder / "closed").chmod(0)
    sandbox.remove_folder(folder)
    assert not folder.exists()


def test_a_fault_of_the_graders_costs_one_notebook_a_note_not_the_class(monkeypatch):
    assignment = assignments.read_assignment(REFERENCE)

    def broken(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(classes, "grade_notebook", broken)
    monkeypatch.setattr(classes, "tiny_data_dir", lambda: None)
    content = nbformat.writes(solved()).encode()
    results = classes.grade_student({STEM: content}, {STEM: (assignment, {})}, sandbox.GradeOptions())
    assert results[STEM].notes == [f"grading {STEM}.ipynb failed (RecursionError); ask to be regraded"]
    assert all(r.points == 0 for r in results[STEM].exercises.values())
    monkeypatch.setattr(classes, "grade_notebook", lambda *a: (_ for _ in ()).throw(sandbox.SandboxMissing("no")))
    with pytest.raises(sandbox.SandboxMissing):
        classes.grade_student({STEM: content}, {STEM: (assignment, {})}, sandbox.GradeOptions())
