"""Helpers for the exercises' check cells: read a solution's code against its rule, switch functions off.

    checks.follows_rule(my_softmax)  # reads the cell that defined it (`exercise_rules`)
    with checks.without("tf.nn.softmax", "tf.math.softmax"):
        mine = my_softmax(z)

`follows_rule` raises `RuleBrokenError` if the solution's cell uses what its exercise does not
allow (another door to the answer: `tf.raw_ops`, `compat`, `getattr` with a string, ...); the
grader applies the same rule. Inside a `without` block, calling a listed function raises
`ForbiddenFunctionError`; outside it, everything is as before.
"""

from __future__ import annotations

import contextlib
import importlib
import linecache
from collections.abc import Callable, Iterator

from course_lib import exercise_rules

ALIASES = {"tf": "tensorflow", "np": "numpy"}


class ForbiddenFunctionError(RuntimeError):
    """A check cell's forbidden function was called."""


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
    found = exercise_rules.violations(source, rule)
    if found:
        raise RuleBrokenError(f"{name} {rule.says()}; its cell uses {', '.join(found)}")


def _owner_and_attribute(name: str) -> tuple[object, str]:
    if "." not in name:
        raise ValueError(f"name a function with its module, like 'tf.nn.softmax'; got {name!r}")
    head, *middle, attribute = name.split(".")
    owner = importlib.import_module(ALIASES.get(head, head))
    for part in middle:
        owner = getattr(owner, part)
    if not hasattr(owner, attribute):
        raise ValueError(f"{name} does not exist, so it cannot be switched off")
    return owner, attribute


@contextlib.contextmanager
def without(*names: str) -> Iterator[None]:
    """Within the block, each function in `names` (e.g. 'tf.nn.softmax') raises `ForbiddenFunctionError`."""
    saved = []
    try:
        for name in names:
            owner, attribute = _owner_and_attribute(name)
            saved.append((owner, attribute, getattr(owner, attribute)))

            def refuse(*args, _name=name, **kwargs):
                raise ForbiddenFunctionError(
                    f"{_name} is switched off while this check runs: the exercise asks you to write it yourself"
                )

            setattr(owner, attribute, refuse)
        yield
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)
