"""What each exercise's solution may use, checked on its code (Python's `ast`), not by switching functions off.

Each exercise declares the names its solution cell may read from outside the cell (`Rule.roots`:
modules such as `np`, and Python's safe built-ins) and the dotted names it must not touch even
there (`Rule.banned`, matched as a part of the name: `softmax` refuses `tf.nn.softmax` and
`tf.compat.v1.nn.softmax`). Whatever the cell itself defines (helper functions, constants) is
allowed. Refused everywhere, because they reach a name without spelling it: `eval`, `exec`,
`compile`, `__import__`, `getattr`/`setattr`/`delattr`, `globals`/`locals`/`vars`, `open`,
`importlib`, any name or attribute starting with `_`, and importing a module other than those the
rule allows under their usual names. `tampering` looks at every cell a student wrote for code that
changes a module the checks rely on (`checks.without = ...`, `np = ...`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

SAFE_BUILTINS = frozenset(
    [
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "divmod",
        "enumerate",
        "Exception",
        "float",
        "int",
        "isinstance",
        "IndexError",
        "KeyError",
        "len",
        "list",
        "map",
        "max",
        "min",
        "NotImplementedError",
        "pow",
        "print",
        "range",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "TypeError",
        "ValueError",
        "zip",
    ]
)
DYNAMIC = frozenset(
    [
        "eval",
        "exec",
        "compile",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "open",
        "importlib",
    ]
)
MODULES = {"np": "numpy", "tf": "tensorflow", "keras": "keras", "math": "math", "pathlib": "pathlib", "os": "os"}
WATCHED = frozenset({*MODULES, "checks", "course_lib", "builtins", "sys"})  # what a student cell must not rebind


@dataclass(frozen=True)
class Rule:
    """The outside names a solution may read (`roots`), parts of dotted names it must not use, and a summary."""

    roots: frozenset[str]
    banned: tuple[str, ...] = ()
    loops: bool = True  # False: no `for`, `while` or comprehension (a vectorised answer is asked for)

    def says(self) -> str:
        """The rule in a sentence, as the released notebook and the feedback show it."""
        names = ", ".join(f"`{r}`" for r in sorted(self.roots)) or "nothing from outside"
        text = f"may use {names} and Python's built-ins, and what the cell itself defines"
        text += f"; not {', '.join(f'`{b}`' for b in self.banned)}" if self.banned else ""
        return text + ("" if self.loops else "; no Python loop")


NUMPY = Rule(frozenset({"np", "math"}))
ARITHMETIC = Rule(frozenset({"math"}))
RULES = {  # exercise (its function's name) -> rule
    "manual_gradients": Rule(
        frozenset({"tf", "np"}), ("GradientTape", "gradient", "autodiff", "jacobian", "raw_ops", "compat")
    ),
    "top_k_accuracy": Rule(frozenset({"np"}), ("top_k",)),
    "my_softmax": Rule(frozenset({"np"}), ("softmax",)),
    "binary_cross_entropy_from_logit": Rule(frozenset({"np"}), ("cross_entropy", "sigmoid")),
    "conv_output_side": ARITHMETIC,
    "cnn_parameters": ARITHMETIC,
    "decode_bytes": NUMPY,
    "lrn_cnn_parameters": ARITHMETIC,
    "decay_factor": ARITHMETIC,
    "l2_term": Rule(frozenset({"tf", "keras", "np"}), ("losses", "regularizer", "raw_ops", "compat")),
    "lrn_fast": Rule(frozenset({"np"}), ("lrn", "local_response"), loops=False),
    "lrn_of_constant": NUMPY,
    "published_parameters": ARITHMETIC,
    "most_confident_mistakes": NUMPY,
    "fold": NUMPY,
    "steps_to_settle": NUMPY,
    "list_images": Rule(frozenset({"pathlib", "os"}), ("image_folders", "image_dataset_from_directory")),
    "my_stratified_split": NUMPY,
    "whitening_matrix": NUMPY,
    "dirac_kernel": NUMPY,
}


def dotted(node: ast.AST) -> str | None:
    """`tf.nn.softmax` for the expression tf.nn.softmax (None if it is not a chain of names)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def _bound(tree: ast.Module) -> set[str]:
    """Names the cell binds: functions, arguments, assigned and loop names, imports."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.Lambda | ast.AsyncFunctionDef):
            names |= {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
            names |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a}
            names |= {node.name} if not isinstance(node, ast.Lambda) else set()
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def violations(source: str, rule: Rule) -> list[str]:
    """What the solution cell `source` uses that `rule` does not allow, one line each (empty: none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [f"the cell does not parse ({e.msg}, line {e.lineno})"]
    bound = _bound(tree)
    found = [problem for node in ast.walk(tree) for problem in _node_problems(node, rule, bound)]
    return list(dict.fromkeys(found))


def _node_problems(node: ast.AST, rule: Rule, bound: set[str]) -> list[str]:
    """What one syntax node of a solution cell does that `rule` does not allow."""
    found = _imports(node, rule) + _dynamic(node)
    if (
        isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.id not in bound | rule.roots | SAFE_BUILTINS
    ):
        found.append(f"`{node.id}`, defined outside this cell and not allowed here")
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in rule.roots | WATCHED:
        found.append(f"rebinding `{node.id}`")
    name = dotted(node) if isinstance(node, ast.Attribute) else None
    if name and any(b.lower() in name.lower() for b in rule.banned):
        found.append(f"`{name}`")
    if not rule.loops and isinstance(node, ast.For | ast.While | ast.comprehension):
        found.append("a Python loop")
    return found


def _imports(node: ast.AST, rule: Rule) -> list[str]:
    if isinstance(node, ast.Import):
        pairs = [(a.asname or a.name, a.name) for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        pairs = [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    else:
        return []
    return [f"`import {module}`" for alias, module in pairs if alias not in rule.roots or MODULES.get(alias) != module]


def _dynamic(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name) and (node.id in DYNAMIC or node.id.startswith("_") and node.id != "_"):
        return [f"`{node.id}`"]
    if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
        return [f"`{dotted(node) or '...' + '.' + node.attr}`"]
    return []


def tampering(source: str) -> list[str]:
    """Code in a student's cell that changes a module or a name the checks rely on (empty: none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # a cell that does not parse changes nothing
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, ast.Delete):
            targets = node.targets
        if not isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            continue
        for target in targets:
            root = target
            while isinstance(root, ast.Attribute | ast.Subscript):
                root = root.value
            if (
                isinstance(root, ast.Name)
                and root.id in WATCHED
                and (target is root or isinstance(target, ast.Attribute))
            ):
                found.append(f"line {node.lineno} changes `{dotted(target) or root.id}`")
    return found
