"""A helper for the exercises' check cells: read a solution's code against its rule.

    checks.follows_rule(my_softmax)  # reads the cell that defined it (`exercise_rules`)

`follows_rule` raises `RuleBrokenError` if the solution's cell uses what its exercise does not
allow (another door to the answer: `tf.raw_ops`, `compat`, `getattr` with a string, ...); the
grader applies the same rule.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable

from course_lib import exercise_rules


class RuleBrokenError(RuntimeError):
    """A solution's code uses what its exercise does not allow."""


def follows_rule(function: Callable) -> None:
    """Raise `RuleBrokenError` if the cell that defined `function` uses what its exercise does not allow."""
    name = getattr(function, "__name__", repr(function))
    rule = exercise_rules.RULES.get(name)
    if rule is None:
        raise ValueError(f"{name} is not an exercise of this course (known: {', '.join(sorted(exercise_rules.RULES))})")
    source = "".join(linecache.getlines(function.__code__.co_filename))
    if not exercise_rules.defines(source, name):
        raise RuleBrokenError(
            f"the code of {name} cannot be read: define it with `def {name}(...)` in a cell of its own, "
            "without a cell magic such as %%time, and run that cell again"
        )
    shadowed = frozenset(n for n in exercise_rules.SAFE_BUILTINS if n in getattr(function, "__globals__", {}))
    found = exercise_rules.violations(source, rule, shadowed)
    if found:
        raise RuleBrokenError(f"{name} {rule.says()}; its cell uses {', '.join(found)}")
