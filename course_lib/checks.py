"""Helpers for the exercises' check cells: switch off the functions an exercise asks you to write.

    with checks.without("tf.nn.softmax", "tf.math.softmax"):
        mine = my_softmax(z)

Inside the block, calling a listed function raises `ForbiddenFunctionError`, so a check cannot be
passed by calling the very function the exercise is about. Outside it, everything is as before.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

ALIASES = {"tf": "tensorflow", "np": "numpy"}


class ForbiddenFunctionError(RuntimeError):
    """A check cell's forbidden function was called."""


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
