"""Grading a class: every student's notebooks run with a sandboxed kernel, checked against the reference, points in a gradebook.

For each course notebook a submission answers, the grader builds the notebook to run from the
student's cells plus the reference's own check cells and hidden tests (read before any student
code starts), parameterized for the tiny data. The cell runner (`cell_runner`) executes it in a
fresh kernel, in a throwaway working directory holding only that copy; the kernel alone runs in
the bubblewrap sandbox `sandbox` describes. Without a usable bubblewrap it refuses to grade
(`SandboxMissing`) unless told `sandbox=False` (`--no-sandbox`). A solution cell that uses what
its exercise does not allow (`exercise_rules`), or code that changes what the checks rely on,
costs points before anything runs. An exercise earns its points when its solution cell runs, each
visible check prints what the reference printed (nbval's comparison, as text), and each hidden
test prints what the reference printed. Only stdout is compared: what a cell writes to stderr (a
warning, say) is shown in the feedback for the student's own cells and the visible checks, and
never costs points. The reference notebook is graded first, the same way, to record what it
prints. Students who hand in the same code are listed for the instructor (`similarity`).
"""
