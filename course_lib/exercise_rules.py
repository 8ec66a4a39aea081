"""What each exercise's solution may use, checked on its code (Python's `ast`), not by switching functions off.

Each exercise declares the names its solution cell may read from outside the cell (`Rule.roots`:
modules such as `np`, and Python's safe built-ins) and parts of names it must not use
(`Rule.banned`: `softmax` refuses `tf.nn.softmax`, `tf.compat.v1.nn.softmax` and
`x.softmax_v2` alike). A name counts as the cell's own only where Python would bind it: in the
function that uses it (its arguments and locals) or by a statement at the top of the cell that
always runs; a binding hidden in an `if 0:` does not make an outside name allowed. Refused
everywhere, because they reach a name without spelling it: `eval`, `exec`, `compile`,
`__import__`, `getattr`/`setattr`/`delattr`, `globals`/`locals`/`vars`, `open`, `type`, names and
attributes starting with `_` that the cell does not bind, attributes that lead to the interpreter
(`sys`, `builtins`, `modules`, `f2py`, `ctypes`, ...), and importing a module other than those the
rule allows under their usual names. `tampering` looks at every cell a student wrote for code
that changes what the checks rely on, and `rebinds` for cells that redefine an exercise's function.
Code that cannot be read (too deeply nested, say) is refused, never a crash.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

SAFE_BUILTINS = frozenset(
    [
        "abs",
        "all",
        "any",
        "ArithmeticError",
        "AssertionError",
        "bool",
        "bytearray",
        "bytes",
        "callable",
        "chr",
        "classmethod",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "Exception",
        "filter",
        "float",
        "frozenset",
        "hasattr",
        "IndexError",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "KeyError",
        "len",
        "list",
        "map",
        "max",
        "min",
        "next",
        "NotImplementedError",
        "object",
        "ord",
        "pow",
        "print",
        "property",
        "range",
        "reversed",
        "round",
        "RuntimeError",
        "set",
        "slice",
        "sorted",
        "staticmethod",
        "StopIteration",
        "str",
        "sum",
        "tuple",
        "TypeError",
        "ValueError",
        "ZeroDivisionError",
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
        "type",
        "breakpoint",
    ]
)
# attributes that lead to the interpreter, to other modules or around the rules
INTERPRETER = frozenset(
    [
        "sys",
        "builtins",
        "modules",
        "os",
        "subprocess",
        "ctypes",
        "importlib",
        "operator",
        "f2py",
        "compat",
        "raw_ops",
        "get_ipython",
        "user_ns",  # IPython's dictionaries of the notebook's variables
        "user_global_ns",
    ]
)
# dunder attributes that reach or change functions, modules and classes (`__name__` and the like are harmless)
REACHING = frozenset({
    "__dict__", "__globals__", "__builtins__", "__code__", "__closure__", "__defaults__", "__kwdefaults__",
    "__class__", "__bases__", "__mro__", "__subclasses__", "__setattr__", "__getattribute__", "__import__",
    "__loader__", "__spec__", "__self__", "__func__", "__wrapped__",
    "f_globals", "f_locals", "f_builtins", "f_back", "tb_frame", "gi_frame", "cr_frame",  # a frame's variables
})  # fmt: skip
KERNEL = frozenset({"builtins", "importlib", "ctypes", "gc", "__main__", "IPython", "ipykernel"})  # its state
TIMING_MAGICS = ("%timeit", "%time", "%%timeit", "%%time")  # IPython syntax that only runs the code it is given
UNREADABLE = (RecursionError, MemoryError, ValueError)  # what ast raises on code nested too deeply (or with NUL bytes)
MODULES = {"np": "numpy", "tf": "tensorflow", "keras": "keras", "math": "math", "pathlib": "pathlib", "os": "os"}
STANDARD = MODULES | {"sys": "sys", "course_lib": "course_lib", "checks": "course_lib.checks", "builtins": "builtins"}
WATCHED = frozenset({*MODULES, "checks", "course_lib", "builtins", "sys"})  # what a student cell must not rebind
HOOKS = frozenset("get_ipython setattr delattr exec eval compile __import__ globals vars __builtins__".split())  # noqa: SIM905 (names a cell outside the solution must not use: they change the kernel for the checks)


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
    "all_reduce_mean": Rule(frozenset({"np", "math"}), ("average", "reduce")),
    "batch_plan": ARITHMETIC,
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


def _root(node: ast.AST) -> ast.AST:
    """The expression an attribute chain starts from, through calls and subscripts: `x` in `x[0].f().g`."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _binds(node: ast.AST) -> set[str]:
    """Names a statement or expression binds where it stands (not inside nested functions)."""
    names = set()
    for sub in _walk_scope(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
            names.add(sub.id)
        elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and sub is not node:
            names.add(sub.name)
        elif isinstance(sub, ast.Import | ast.ImportFrom):
            names |= {bound for bound, _ in _aliases(sub)}
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
    return names


def _walk_scope(node: ast.AST):
    """Every node of `node`'s own scope: nested functions, lambdas and classes are yielded, not entered."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for child in ast.iter_child_nodes(current):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                yield child
                todo += [d for d in getattr(child, "decorator_list", [])] + _defaults(child)
            else:
                todo.append(child)


def _defaults(function: ast.AST) -> list[ast.AST]:
    args = getattr(function, "args", None)
    return [*args.defaults, *[d for d in args.kw_defaults if d]] if args else []


def _arguments(function: ast.AST) -> set[str]:
    a = function.args
    return {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}


def _unconditional(tree: ast.Module) -> set[str]:
    """Names the cell binds by top-level statements that always run (not under if/for/while/try/with)."""
    kinds = ast.Assign | ast.AnnAssign | ast.AugAssign | ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom
    found = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(statement.name)
        elif isinstance(statement, kinds):
            found |= _binds(statement)
    return found


def _scoped_loads(tree: ast.Module) -> list[tuple[ast.Name, set[str]]]:
    """Each name the cell reads, with the names bound where it is read (its functions' locals, the cell's top)."""
    found = []

    def visit(scope: ast.AST, bound: set[str]) -> None:
        if isinstance(scope, ast.Module | ast.ClassDef):
            inner = bound  # the cell's top: only what always runs; a class body's names are not seen by its methods
        else:
            inner = bound | _binds(scope) | _arguments(scope)  # any binding in a function makes the name local
        for node in _walk_scope(scope):
            if node is not scope and isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
            ):
                visit(node, inner)  # in a class body `inner` is `bound`: methods do not see the class's names
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found.append((node, inner))

    visit(tree, _unconditional(tree))
    return found


def violations(source: str, rule: Rule) -> list[str]:
    """What the solution cell `source` uses that `rule` does not allow, one line each (empty: none).

    The cell is read as IPython runs it (`python`): a `%%time` line times the code below it."""
    try:
        tree = _tree(source)
        found = [p for name, bound in _scoped_loads(tree) for p in _name_problems(name, bound, rule)]
        found += [p for node in ast.walk(tree) for p in _node_problems(node, rule)]
    except SyntaxError as e:
        return [f"the cell does not parse ({e.msg}, line {e.lineno})"]
    except UNREADABLE:
        return ["code this grader cannot read (nested too deeply)"]
    return list(dict.fromkeys(found))


def _name_problems(node: ast.Name, bound: set[str], rule: Rule) -> list[str]:
    if node.id in bound:
        return []
    if node.id in DYNAMIC or node.id.startswith("_"):
        return [f"`{node.id}`"]
    if node.id not in rule.roots | SAFE_BUILTINS:
        return [f"`{node.id}`, defined outside this cell and not allowed here"]
    return []


def _node_problems(node: ast.AST, rule: Rule) -> list[str]:
    """What one syntax node of a solution cell does that `rule` does not allow."""
    found = _imports(node, rule)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in rule.roots | WATCHED:
        found.append(f"rebinding `{node.id}`")
    if isinstance(node, ast.Attribute):
        name = dotted(node) or f"....{node.attr}"
        if node.attr.startswith("_") or node.attr in INTERPRETER:
            found.append(f"`{name}`")
        if any(b.lower() in node.attr.lower() for b in rule.banned):
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


def tampering(source: str) -> list[str]:
    """Code in a student's cell that changes a module, a built-in or the kernel the checks rely on (empty: none)."""
    try:
        tree = _tree(source)
        return list(dict.fromkeys(p for node in ast.walk(tree) for p in _tamper(node)))
    except SyntaxError:
        return []  # a cell that IPython cannot run either changes nothing
    except UNREADABLE:
        return ["code this grader cannot read (nested too deeply)"]


def _tamper(node: ast.AST) -> list[str]:
    """What one node of a student's cell does to the kernel the checks run in."""
    line = getattr(node, "lineno", "?")
    if isinstance(node, ast.Name) and node.id in HOOKS:
        return [f"line {line} uses `{node.id}`"]
    if isinstance(node, ast.Attribute) and node.attr in REACHING | INTERPRETER - {"os"}:
        return [f"line {line} uses `{dotted(node) or '...' + node.attr}`"]
    if isinstance(node, ast.Import | ast.ImportFrom):
        pairs = _aliases(node)
        odd = [f"`{module}` as `{alias}`" for alias, module in pairs if alias in WATCHED and STANDARD[alias] != module]
        odd += [f"`{module}`" for _, module in pairs if module.split(".")[0] in KERNEL]
        return [f"line {line} imports {what}" for what in odd]
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in WATCHED:
        return [f"line {line} aliases `{node.value.id}`"]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and node.id in WATCHED:
        return [f"line {line} rebinds `{node.id}`"]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name in WATCHED:
        return [f"line {line} rebinds `{node.name}`"]
    changed = [t for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Attribute)]
    return [f"line {line} changes `{dotted(t) or '...'}`" for t in changed if _watched_root(t)]


def python(source: str) -> str:
    """A cell as the Python IPython runs: `%timeit`/`%time` give the code they time, `%matplotlib` nothing;
    any other magic or `!command` becomes the `get_ipython()` call IPython makes of it."""
    lines = []
    for line in source.splitlines():
        words = line.strip().split(maxsplit=1)
        if words and words[0] in TIMING_MAGICS and not (len(words) > 1 and words[1].startswith("-")):  # no options
            line = line[: len(line) - len(line.lstrip())] + (
                words[1] if len(words) > 1 and words[0][1] != "%" else "pass"
            )
        elif words and words[0] == "%matplotlib":
            line = "pass"
        lines.append(line)
    return TransformerManager().transform_cell("\n".join(lines))


@functools.lru_cache(maxsize=4096)
def _tree(source: str) -> ast.Module:
    """A cell parsed as IPython runs it; cached, as the grader asks about each cell once per exercise.

    Callers only read the tree. SyntaxError and `UNREADABLE` errors propagate (and are not cached)."""
    return ast.parse(python(source))


def _watched_root(target: ast.AST) -> bool:
    root = _root(target)
    return isinstance(root, ast.Name) and root.id in WATCHED


def _aliases(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(name bound, what it names) for each alias of an import: `import numpy as np` gives ('np', 'numpy')."""
    if isinstance(node, ast.ImportFrom):
        return [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    return [(a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0]) for a in node.names]


def rebinds(source: str, name: str) -> bool:
    """True if the cell `source`, as IPython runs it, binds `name` anywhere (a second definition of an exercise's function)."""
    try:
        tree = _tree(source)
        return any(name in _binds(node) for node in ast.walk(tree))
    except (SyntaxError, *UNREADABLE):
        return False


def defines(source: str, name: str) -> bool:
    """True if the cell, as IPython runs it, defines function `name` at its top level (never inside a string)."""
    try:
        return any(isinstance(n, ast.FunctionDef) and n.name == name for n in _tree(source).body)
    except (SyntaxError, *UNREADABLE):
        return False
