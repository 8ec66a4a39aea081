"""Solutions two students share: the same code once comments, docstrings, layout and local names are set aside.

`course grade` writes OUT/similar_solutions.csv: for each exercise, each group of two or more
students whose solution functions normalise to the same code, with the size of that code. A match
is a reason to look, not proof: a short exercise has few sensible answers, so honest students can
meet on a one-line solution (read the `nodes` column: the larger the shared code, the stronger the
sign). Names a function binds (its arguments, assignments, loop and comprehension variables, inner
functions) are renamed in order of first use; names it reads from outside (`np`, `tf`, builtins)
and attribute names stay, so `np.exp` and `tf.exp` never match. An empty answer (the released
placeholder), one that does not parse (read as IPython runs it), or one longer than `limits.SIMILARITY_CELL_CHARS` is never matched.
"""

from __future__ import annotations

import ast
import hashlib
from collections import defaultdict

from course_lib.exercise_rules import UNREADABLE, parse
from course_lib.tools.assignments import PLACEHOLDER
from course_lib.tools.grading.limits import SIMILARITY_CELL_CHARS

_PLACEHOLDER = ast.dump(ast.parse(PLACEHOLDER).body[0])  # the released answer's body, as `_is_placeholder` compares


class _Renamer(ast.NodeTransformer):
    """Rename the names a function binds to v0, v1, ... in order of first appearance."""

    def __init__(self, bound: set[str]):
        self.bound, self.names = bound, {}

    def _new(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}") if name in self.bound else name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg, node.annotation = self._new(node.arg), None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name, node.returns = self._new(node.name), None
        node.body = _without_docstring(node.body)
        self.generic_visit(node)
        return node


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    is_doc = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    return (body[1:] or [ast.Pass()]) if is_doc else body


def _bound_names(function: ast.FunctionDef) -> set[str]:
    """Every name `function` binds: arguments, stored names, inner functions (its own name too)."""
    bound = {function.name}
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
    return bound


def fingerprint(source: str, name: str) -> tuple[str, int] | None:
    """(hash, size in AST nodes) of function `name` in `source` once normalised; None if absent, empty or too long."""
    if len(source) > SIMILARITY_CELL_CHARS:  # parsed after grading, outside every timeout
        return None
    try:
        return _fingerprint(source, name)
    except (SyntaxError, *UNREADABLE):  # unreadable (too deep, say): never matched
        return None


def _fingerprint(source: str, name: str) -> tuple[str, int] | None:
    tree = parse(source)  # as IPython runs it: a `%matplotlib` line hides nothing
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if function is None or _is_placeholder(function):
        return None
    normal = _Renamer(_bound_names(function)).visit(function)
    dumped = ast.dump(normal, annotate_fields=False, include_attributes=False)
    return hashlib.sha256(dumped.encode()).hexdigest(), sum(1 for _ in ast.walk(normal))


def _is_placeholder(function: ast.FunctionDef) -> bool:
    body = _without_docstring(function.body)
    return len(body) == 1 and ast.dump(body[0]) == _PLACEHOLDER


def shared(solutions: dict[str, dict[str, str]]) -> list[dict]:
    """Groups of students with the same normalised solution, by exercise.

    `solutions` maps student -> {exercise (the function's name) -> source of the cell defining it}.
    Returns rows {exercise, students (sorted, '; '-joined), nodes}, the largest shared code first.
    """
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    sizes: dict[tuple[str, str], int] = {}
    for student, answers in solutions.items():
        for exercise, source in answers.items():
            found = fingerprint(source, exercise)
            if found:
                groups[exercise, found[0]].append(student)
                sizes[exercise, found[0]] = found[1]
    rows = [
        {"exercise": exercise, "students": "; ".join(sorted(students)), "nodes": sizes[exercise, digest]}
        for (exercise, digest), students in groups.items()
        if len(students) > 1
    ]
    return sorted(rows, key=lambda r: (-r["nodes"], r["exercise"], r["students"]))
