"""What grading writes, from results made by hand (no kernel): the feedback, the gradebook, the shared solutions."""

from __future__ import annotations

import csv

import nbformat
from grading_helpers import EX1, EX2, REFERENCE, STEM, solved

from course_lib.tools import assignments
from course_lib.tools.grading import limits, report
from course_lib.tools.grading.score import ExerciseResult, NotebookResult


def _tasks():
    return {STEM: (assignments.read_assignment(REFERENCE), {})}


def _results(first: int, notes=()) -> dict[str, NotebookResult]:
    exercises = {
        EX1: ExerciseResult(first, [] if first else ["visible check 1 printed something else:\n    -1\n    +2"], 1.25),
        EX2: ExerciseResult(
            0, ["hidden test 'secret' failed"], 0.5, ["your solution cell wrote to stderr (not graded):\nw"]
        ),
    }
    return {STEM: NotebookResult(exercises, list(notes))}


def test_feedback_gives_points_per_notebook_and_exercise_and_indents_every_note():
    assignment = _tasks()[STEM][0]
    points = {e.name: e.points for e in assignment.exercises}
    text = report.feedback("alice", _results(points[EX1], ["the notebook ran out of time"]), _tasks())
    assert text == (
        "# Feedback for alice\n"
        f"\n## {STEM}: {points[EX1]} / {assignment.max_points} points\n\n"
        "- the notebook ran out of time\n"
        f"- `{EX1}`: passed, {points[EX1]} / {points[EX1]} points (1.2 s)\n"
        f"- `{EX2}`: not passed, 0 / {points[EX2]} points (0.5 s)\n"
        "  - hidden test 'secret' failed\n"
        "  - your solution cell wrote to stderr (not graded):\n    w\n"
    )
    failed = report.feedback("bob", _results(0), _tasks())
    assert f"## {STEM}: 0 / {assignment.max_points} points" in failed
    assert "  - visible check 1 printed something else:\n        -1\n        +2\n" in failed


def test_the_gradebook_has_a_column_per_exercise_totals_and_rows_in_name_order(tmp_path):
    assignment = _tasks()[STEM][0]
    first = assignment.exercises[0].points
    rows = [report.gradebook_row(name, _results(p), _tasks()) for name, p in [("carl", first), ("alice", 0)]]
    assert rows[0] == {"student": "carl", f"{STEM}:{EX1}": first, f"{STEM}:{EX2}": 0, "total": first,
                       "max": assignment.max_points}  # fmt: skip
    report.write_gradebook(tmp_path / "gradebook.csv", rows)
    with open(tmp_path / "gradebook.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(rows[0]) and [r["student"] for r in reader] == ["alice", "carl"]


def test_shared_solutions_name_the_exercise_by_notebook_and_are_written_even_when_none_are(tmp_path):
    same = {EX1: "def my_softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"}
    handed_in = {name: {STEM: nbformat.writes(solved(same)).encode()} for name in ("bob", "=alice")}
    handed_in["dan"] = {STEM: None}
    printed = []
    report.report_shared(handed_in, _tasks(), tmp_path, printed.append)
    with open(tmp_path / "similar_solutions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["exercise"], r["students"]) for r in rows) == [(f"{STEM}:{EX2}", "'=alice; bob"),
                                                                     (f"{STEM}:{EX1}", "'=alice; bob")]  # fmt: skip
    assert printed == [f"same solution ({r['nodes']} syntax nodes): {r['exercise']}: =alice; bob" for r in rows]
    assert int(rows[0]["nodes"]) >= int(rows[1]["nodes"]) > 5, "the largest shared code first"
    report.report_shared({"dan": {STEM: None}}, _tasks(), tmp_path, printed.append)
    with open(tmp_path / "similar_solutions.csv", newline="") as f:
        assert next(csv.reader(f)) == ["exercise", "students", "nodes"] and not f.read()


def test_an_unreadable_notebook_has_no_solutions_and_no_note():
    assignment = _tasks()[STEM][0]
    assert report._solutions(b"{not json", assignment) == ({}, "")
    assert report._solutions(None, assignment) == ({}, "")
    answers, skipped = report._solutions(nbformat.writes(solved()).encode(), assignment)
    assert set(answers) == {EX1, EX2} and skipped == ""


def test_shared_solutions_are_listed_for_every_notebook_of_the_class(tmp_path):
    assignment = _tasks()[STEM][0]
    tasks = {STEM: (assignment, {}), "copy": (assignment, {})}
    handed_in = {name: {STEM: nbformat.writes(solved()).encode(), "copy": nbformat.writes(solved()).encode()}
                 for name in ("ann", "ben")}  # fmt: skip
    report.report_shared(handed_in, tasks, tmp_path, lambda line: None)
    with open(tmp_path / "similar_solutions.csv", newline="") as f:
        assert {r["exercise"].split(":")[0] for r in csv.DictReader(f)} == {STEM, "copy"}


def test_a_notebook_is_read_for_shared_code_up_to_each_limit_exactly():
    assignment = _tasks()[STEM][0]
    nb = solved()
    longest = nbformat.v4.new_code_cell("#" * limits.SIMILARITY_CELL_CHARS)
    nb.cells.append(longest)
    answers, skipped = report._solutions(nbformat.writes(nb).encode(), assignment)
    assert set(answers) == {EX1, EX2} and skipped == "", "a cell of exactly the limit is read"
    room = limits.CODE_CHARS - limits.code_chars(nb)
    nb.cells += [nbformat.v4.new_code_cell("#" * min(room - k, limits.SIMILARITY_CELL_CHARS))
                 for k in range(0, room, limits.SIMILARITY_CELL_CHARS)]  # fmt: skip
    assert limits.code_chars(nb) == limits.CODE_CHARS
    assert report._solutions(nbformat.writes(nb).encode(), assignment) == (report._solutions(
        nbformat.writes(solved()).encode(), assignment)[0], ""), "a notebook of exactly the limit is read"  # fmt: skip
