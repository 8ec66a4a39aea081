"""What each exercise's solution may use, checked on its code (Python's `ast`), not by switching functions off.

Each exercise declares the names its solution cell may read from outside the cell (`Rule.roots`:
modules such as `np`, and Python's safe built-ins) and parts of names it must not use
(`Rule.banned`: `softmax` refuses `tf.nn.softmax`, `tf.compat.v1.nn.softmax` and
`x.softmax_v2` alike). A name counts as the cell's own only where Python would bind it: in the
function that uses it (its arguments and locals, not a name it declares `global`; a comprehension's
variables only inside it), or by a statement at the top of the cell that always runs and comes
before the read (`sm = sm` or a bare `sm: object` reads the other cells' `sm`); a function's body
sees the top's names bound before the first statement that may call it. Refused everywhere,
because they reach a name without spelling it: `eval`, `exec`, `compile`, `__import__`,
`getattr`/`setattr`/`delattr`, `globals`/`locals`/`vars`, `open`, `type`, names and attributes
starting with `_` that the cell does not bind, attributes that lead to the interpreter (`sys`,
`builtins`, `modules`, `f2py`, `ctypes`, ...), to a frame or to a namespace by a string
(`inspect`, `getmembers`, `attrgetter`, `f_globals`, ...), to a module's stores that another cell
could fill with a function (`np.typecodes`, `np.geterrcall`, `keras.utils.get_custom_objects`),
unpickling (`np.load`, `allow_pickle=`), and importing a module other than those the rule allows
under their usual names; a `match` class pattern's attributes count as attributes, and a `:=` in a
comprehension binds the scope around it, as in Python; a built-in that another cell binds in the
notebook's namespace (`top_names`) is that cell's object, and refused. `tampering` looks at every
cell a student wrote for code that changes what the checks rely on (rebinding a watched name, a
`match` capture included, or storing into a module, its attributes or its dictionaries, by `=`,
`del` or `.update` and the like; `os.environ` excepted) or installs code that runs later in any
frame, the hidden tests' included (`HOOKS_OF`, `HOOK_MODULES`, numpy's print `formatter`), and
`rebinds` for cells that redefine an exercise's function. A cell is read as IPython runs it (IPython's own transformer, so a form feed
or a magic inside a string is what it is there; `%timeit`/`%time` as the code they run, setup
line included). Code that cannot be read (too deeply nested for `ast`, scopes nested beyond
`MAX_SCOPE_DEPTH`, or a cell above `MAX_CHARS`, `MAX_LINES` or `MAX_ESCAPES`, which IPython's
transformer takes quadratic time on) is refused, never a crash or a stall. A solution's chain of
attributes from its module is followed in the grader's own copy of the module: it must exist there
and stay in the module's public modules (`_public`); in any cell, a chain through the interpreter's
own modules (`DANGER`), a module handed on as a value (but to `print`, `dir` and other `LOOKING`
built-ins, which a cell may not redefine) or a module or container reached from one
(`np.ma.core.default_filler`), and setting an attribute of an object a NumPy-family module made
(`made_from_modules`: `np.finfo` caches its objects; array data such as `shape` excepted), or of
what a TensorFlow or Keras getter handed out (`tf.get_logger()`, `....global_policy()`), are
tampering. Not covered, and known: such objects reached without a `get_`/`global_` call could still
carry a function from a helper cell to a solution of the exercises that may use `tf` or `keras`;
these rules read code, and code can always find another door. Running
the hidden tests in a kernel of their own, with the reference's cells and the student's solution
cells only, would close every route through other cells.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import types
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
        "ctypeslib",  # loads a shared library the notebook wrote
        "load_library",
        "load_op_library",
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
# attributes that reach a namespace or a frame by a string, or the caller's variables
INTROSPECTION = frozenset({"inspect", "getmembers", "getattr_static", "currentframe", "attrgetter", "methodcaller"})
PRYING = INTROSPECTION - {"inspect"}  # outside a solution: the notebooks print `inspect.getsource(...)`
KERNEL = frozenset({"builtins", "importlib", "ctypes", "gc", "__main__", "IPython", "ipykernel"})  # its state
# module-level stores a cell could fill with any object (a function) for a solution to read back, and the
# calls that fill or read them; `load` and the rest unpickle objects from a file
REGISTRIES = frozenset({
    "typecodes", "sctypeDict", "sctypes", "seterrcall", "geterrcall", "set_printoptions", "get_printoptions",
    "printoptions", "get_custom_objects", "custom_object_scope", "register_keras_serializable",
    "get_registered_object", "get_registered_name", "register_tensor_conversion_function",
})  # fmt: skip
SETTINGS = frozenset({"set_printoptions", "printoptions"})  # notebooks set these; only reading them back is refused
# calls that install code the interpreter runs later, in any frame (the hidden tests' included), or
# that hand out frames; refused in every student cell, by their module's name (`sys.settrace`)
HOOKS_OF = {
    "sys": frozenset({"settrace", "setprofile", "addaudithook", "monitoring", "call_tracing", "_getframe",
                      "_current_frames", "excepthook", "displayhook", "breakpointhook", "unraisablehook"}),
    "inspect": frozenset({"stack", "trace", "getouterframes", "getinnerframes", "getargvalues", "getframeinfo",
                          "getgeneratorlocals", "getcoroutinelocals", "getclosurevars"}),
}  # fmt: skip
HOOK_MODULES = frozenset({  # modules that run code later or elsewhere (signal handlers, threads, codecs,
    # debuggers), or run code from a file or bytes the notebook wrote (pickles, code objects)
    "threading", "_thread", "signal", "faulthandler", "trace", "bdb", "pdb", "codecs", "encodings", "copyreg",
    "atexit", "tracemalloc", "concurrent", "multiprocessing", "asyncio", "sched", "pickle", "marshal", "shelve",
    "runpy", "pkgutil", "zipimport", "dill", "cloudpickle", "code", "codeop", "imp", "site",
    "traceback", "linecache",  # they read the source of the frames that called (a hidden test's)
})  # fmt: skip
LOOKING = frozenset({"print", "dir", "help", "repr", "str", "isinstance", "hasattr", "type", "id"})  # read only
PRINT_HOOKS = frozenset({"formatter", "override_repr"})  # numpy print options that call a function
UNSAFE_LOADING = frozenset({"allow_pickle", "safe_mode", "enable_unsafe_deserialization"})  # code from a file
DANGER = frozenset({"builtins", "sys", "inspect", "gc", "importlib", "ctypes", "IPython", "ipykernel", "types"})
MAX_SCOPE_DEPTH = 20  # functions, classes and comprehensions nested deeper are not read (cost grows with depth²)
MUTATORS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "append", "extend", "insert", "remove"})
PICKLING = frozenset({"load", "loads", "read_array", "open_memmap", "allow_pickle", "pickle", "unpickle"})
TIMING_MAGICS = frozenset({"timeit", "time"})  # IPython magics that only run the code they are given
MAX_CHARS, MAX_LINES, MAX_ESCAPES = 40_000, 500, 30  # the largest cell read (IPython re-reads it per `!` or `%`)
MODULES = {"np": "numpy", "tf": "tensorflow", "keras": "keras", "math": "math", "pathlib": "pathlib", "os": "os"}
STANDARD = MODULES | {"sys": "sys", "course_lib": "course_lib", "checks": "course_lib.checks", "builtins": "builtins"}
ALSO = {"keras": ("tensorflow.keras",)}  # `from tensorflow import keras`: TensorFlow's own door to Keras
ARRAY_DATA = frozenset({  # settable data of arrays and generators: setting them is ordinary NumPy
    "shape", "dtype", "real", "imag", "flags", "writeable", "strides", "mask", "fill_value", "state",
})  # fmt: skip
NUMPY_FAMILY = frozenset({"numpy", "math", "builtins", "sys", "course_lib"})  # `made_from_modules`
PACKAGES = frozenset({"numpy", "tensorflow", "keras", "course_lib", "math", "builtins", "sys", "os", "pathlib"})
WATCHED = frozenset({*MODULES, "checks", "course_lib", "builtins", "sys"})  # what a student cell must not rebind
HOOKS = frozenset("get_ipython setattr delattr exec eval compile __import__ globals vars __builtins__".split())  # noqa: SIM905 (names a cell outside the solution must not use: they change the kernel for the checks)
FUNCTIONS = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
COMPREHENSIONS = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
SCOPES = FUNCTIONS | ast.ClassDef | COMPREHENSIONS  # what has names of its own


class Unreadable(ValueError):
    """A cell larger, or with more IPython syntax, than the grader reads; the message says which."""


UNREADABLE = (RecursionError, MemoryError, ValueError)  # ast on code nested too deeply (or NUL bytes); `Unreadable`


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
    """Names a statement or expression binds where it stands (not inside nested scopes).

    An annotation without a value (`x: int`) binds nothing at a cell's top; in a function it
    makes the name local, as Python does. A comprehension binds its loop variables; a `:=` inside it
    binds in the scope around it (Python's rule), so it counts there."""
    if isinstance(node, COMPREHENSIONS):
        return {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    names = set()
    for sub in _walk_scope(node):
        if sub is not node:
            names |= _bound_here(sub)
        if isinstance(sub, COMPREHENSIONS) and sub is not node:
            names |= _walrus_targets(sub)
    return names


def _bound_here(node: ast.AST) -> set[str]:
    """The names one node binds by itself (not its children): a store, a definition, an import, a capture."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
        return {node.id}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {bound for bound, _ in _aliases(node)}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    return {_captured(node)} if _captured(node) else set()


def _captured(node: ast.AST) -> str | None:
    """The name a `match` pattern binds: `case x`, `case [*x]`, `case {**x}`, `case P() as x` (None: none)."""
    if isinstance(node, ast.MatchAs | ast.MatchStar):
        return node.name
    return node.rest if isinstance(node, ast.MatchMapping) else None


def _walrus_targets(comprehension: ast.AST) -> set[str]:
    """Names `:=` binds inside a comprehension (and comprehensions within it): those of the scope around it."""
    found, todo = set(), list(ast.iter_child_nodes(comprehension))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.NamedExpr):
            found.add(node.target.id)
        if not isinstance(node, FUNCTIONS | ast.ClassDef):
            todo += ast.iter_child_nodes(node)
    return found


def _walk_scope(node: ast.AST):
    """Every node of `node`'s own scope: nested scopes are yielded, not entered, but what of them runs
    where they stand is (decorators, defaults, annotations, a comprehension's first iterable)."""
    yield node
    todo = _own(node)
    while todo:
        current = todo.pop()
        yield current
        if isinstance(current, SCOPES):
            todo += _outer(current)
        else:
            todo += ast.iter_child_nodes(current)


def _own(scope: ast.AST) -> list[ast.AST]:
    """The children of `scope` that run in it (a comprehension's first iterable runs outside it)."""
    if not isinstance(scope, COMPREHENSIONS):
        return list(ast.iter_child_nodes(scope))
    first, *rest = scope.generators
    parts = [getattr(scope, f) for f in ("elt", "key", "value") if hasattr(scope, f)]
    return [*parts, first.target, *first.ifs, *rest]


def _outer(scope: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope evaluated where the scope stands."""
    if isinstance(scope, COMPREHENSIONS):
        return [scope.generators[0].iter]
    found = [*getattr(scope, "decorator_list", []), *getattr(scope, "bases", []), *getattr(scope, "keywords", [])]
    if args := getattr(scope, "args", None):
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *(v for v in (args.vararg, args.kwarg) if v)]
        found += [*args.defaults, *(d for d in args.kw_defaults if d), *(a.annotation for a in every if a.annotation)]
    return found + ([scope.returns] if getattr(scope, "returns", None) else [])


def _arguments(function: ast.AST) -> set[str]:
    a = function.args
    return {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}


def _locals(function: ast.AST, outer: set[str], top: set[str]) -> set[str]:
    """Names bound where `function`'s body runs: its own, its enclosing ones', and the cell's top
    for names it declares `global` (a binding it makes to a global name does not count)."""
    declared = [n for n in _walk_scope(function) if isinstance(n, ast.Global | ast.Nonlocal)]
    global_ = {name for n in declared if isinstance(n, ast.Global) for name in n.names}
    own = _binds(function) | _arguments(function)
    return (outer - global_) | (own - {name for n in declared for name in n.names}) | (global_ & top)


def _always_binds(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds whenever it runs (not under if/for/while/try/with)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return set()
    if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Import | ast.ImportFrom):
        return _binds(statement)
    return set()


def _runs_cell_code(statement: ast.stmt, cell: set[str]) -> bool:
    """Whether a top-level statement may run code of the cell's functions: a call, decorator or class
    statement that reads a name the cell binds, or a lambda it may call at once."""
    todo, nodes = [statement], []
    while todo:  # what runs when the statement does: not the bodies of the functions it defines
        nodes.append(todo.pop())
        todo += _outer(nodes[-1]) if isinstance(nodes[-1], FUNCTIONS) else ast.iter_child_nodes(nodes[-1])
    calls = any(isinstance(n, ast.Call | ast.ClassDef) or getattr(n, "decorator_list", None) for n in nodes)
    reads = any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in cell for n in nodes)
    return calls and (reads or any(isinstance(n, ast.Lambda) for n in nodes))


def _scoped_loads(tree: ast.Module) -> list[tuple[ast.Name, set[str]]]:
    """Each name the cell reads, with the names bound where and when it is read.

    The cell's top runs in order: a name read there is the cell's own once an earlier statement
    that always runs has bound it (`sm = sm` reads the other cells' `sm`). A function's body sees
    its locals and the names bound at the top before the first statement that may call it."""
    found: list[tuple[ast.Name, set[str]]] = []

    def visit(scope: ast.AST, now: set[str], later: set[str], top: set[str]) -> None:
        for node in _walk_scope(scope):
            if node is scope:
                continue
            if isinstance(node, FUNCTIONS):
                inner = _locals(node, later, top)
                visit(node, inner, inner, top)
            elif isinstance(node, ast.ClassDef):  # its body runs where it stands; its methods do not see its names
                visit(node, now, later, top)
            elif isinstance(node, COMPREHENSIONS):
                visit(node, now | _binds(node), later | _binds(node), top)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found.append((node, now))
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                found.append((node.target, now))  # `x += 1` reads `x` first

    before, bound = [], set()
    for statement in tree.body:
        before.append(frozenset(bound))
        bound |= _always_binds(statement)
    cell = _binds(tree)
    runs = [i for i, statement in enumerate(tree.body) if _runs_cell_code(statement, cell)]
    for i, statement in enumerate(tree.body):
        later = next((set(before[k]) for k in runs if k >= i), bound)
        visit(ast.Module(body=[statement], type_ignores=[]), set(before[i]), later, later)
    return found


def violations(source: str, rule: Rule, shadowed: frozenset[str] = frozenset()) -> list[str]:
    """What the solution cell `source` uses that `rule` does not allow, one line each (empty: none).

    `shadowed`: names other cells bind in the notebook's namespace (`top_names`); a built-in among
    them is another cell's object, not Python's (`def abs(z): return tf.nn.softmax(z)`). The cell
    is read as IPython runs it (`python`): a `%%time` line times the code below it."""
    try:
        tree = _tree(source)
        found = [p for name, bound in _scoped_loads(tree) for p in _name_problems(name, bound, rule, shadowed)]
        found += [p for node in ast.walk(tree) for p in _node_problems(node, rule)]
    except SyntaxError as e:
        return [f"the cell does not parse ({e.msg}, line {e.lineno})"]
    except UNREADABLE as e:
        return [_unreadable(e)]
    return list(dict.fromkeys(found))


def _unreadable(error: Exception) -> str:
    why = str(error) if isinstance(error, Unreadable) else "nested too deeply"
    return f"code this grader cannot read ({why})"


def _name_problems(node: ast.Name, bound: set[str], rule: Rule, shadowed: frozenset[str]) -> list[str]:
    if node.id in bound:
        return []
    if node.id in DYNAMIC or node.id.startswith("_"):
        return [f"`{node.id}`"]
    if node.id in shadowed & SAFE_BUILTINS:
        return [f"`{node.id}`, which another cell redefines (Python's own is allowed)"]
    if node.id not in rule.roots | SAFE_BUILTINS:
        return [f"`{node.id}`, defined outside this cell and not allowed here"]
    return []


def _node_problems(node: ast.AST, rule: Rule) -> list[str]:
    """What one syntax node of a solution cell does that `rule` does not allow."""
    found = _imports(node, rule)
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in rule.roots | WATCHED:
        found.append(f"rebinding `{node.id}`")
    for attr, name in _attributes(node):
        if attr.startswith("_") or attr in INTERPRETER | REACHING | INTROSPECTION | REGISTRIES | PICKLING:
            found.append(f"`{name}`")
        if any(b.lower() in attr.lower() for b in rule.banned):
            found.append(f"`{name}`")
    if isinstance(node, ast.keyword) and node.arg in PICKLING:
        found.append(f"`{node.arg}=`")
    if isinstance(node, ast.Attribute) and (chain := dotted(node)) and chain.split(".")[0] in rule.roots:
        found += _chain_problems(chain)
    if not rule.loops and isinstance(node, ast.For | ast.While | ast.comprehension):
        found.append("a Python loop")
    return found


@functools.lru_cache(maxsize=4096)
def _chain_problems(chain: str) -> tuple[str, ...]:
    """Why a solution may not read `chain` (`np.linalg.norm`) from its allowed module: a name the module does
    not have (another cell may have put it there), or a path that leaves the module's public modules."""
    root, *parts = chain.split(".")
    if root not in MODULES:
        return ()
    found: object = importlib.import_module(MODULES[root])
    for k, part in enumerate(parts, 2):
        here = ".".join([root, *parts[: k - 1]])
        try:
            found = getattr(found, part)
        except Exception:  # noqa: BLE001 (a missing name, or a lazy module that cannot load: either way, unread)
            return (f"`{here}`, a name {MODULES[root]} does not have (another cell may have put it there)",)
        if isinstance(found, types.ModuleType) and not _public(root, found.__name__):
            return (f"`{here}`, which leads out of {MODULES[root]}'s public modules (to `{found.__name__}`)",)
    return ()


def _public(root: str, module: str) -> bool:
    """Whether a solution may reach `module` from root `root`: the package's own public modules only
    (`np.ma.core.re` is the `re` module and `....re.enum.bltns` is `builtins`; `tf.dtensor.python....` is
    TensorFlow's internals, where `backprop` computes gradients under another name)."""
    if root == "tf":
        return module == "tensorflow" or module.startswith("tensorflow._api.")
    if root == "os":
        return module in ("os", "posixpath")
    top, *rest = module.split(".")
    return top == MODULES[root] and not any(part.startswith("_") or part == "src" for part in rest)


@functools.lru_cache(maxsize=4096)
def _danger_on_the_way(chain: str, start: str) -> str | None:
    """The name of a module of `DANGER` that `chain` (`np.ma.core.re.enum.bltns.exec`) passes through, the
    chain's root standing for module `start`; None if none (or if the chain cannot be followed)."""
    try:
        found: object = importlib.import_module(start.split(".")[0])
        for part in [*start.split(".")[1:], *chain.split(".")[1:]]:
            found = getattr(found, part)
            if isinstance(found, types.ModuleType) and found.__name__.split(".")[0] in DANGER | HOOK_MODULES:
                return found.__name__
    except Exception:  # noqa: BLE001 (a name the module lacks: nothing to follow)
        return None
    return None


def _attributes(node: ast.AST) -> list[tuple[str, str]]:
    """(attribute, how to name it) for each attribute `node` reads: `x.a`, or `case C(a=...)` in a `match`."""
    if isinstance(node, ast.Attribute):
        return [(node.attr, dotted(node) or f"....{node.attr}")]
    if isinstance(node, ast.MatchClass):
        return [(attr, f"case ...({attr}=...)") for attr in node.kwd_attrs]
    return []


def _imports(node: ast.AST, rule: Rule) -> list[str]:
    if isinstance(node, ast.Import):
        pairs = [(a.asname or a.name, a.name) for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        pairs = [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    else:
        return []
    return [f"`import {module}`" for alias, module in pairs if alias not in rule.roots or MODULES.get(alias) != module]


def tampering(
    source: str,
    modules: frozenset[str] = frozenset(),
    bound: frozenset[str] = WATCHED,
    made_from: frozenset[str] = frozenset(),
) -> list[str]:
    """Code in a student's cell that changes a module, a built-in or the kernel the checks rely on (empty: none).

    `modules`: names the notebook binds to modules or parts of them (`module_names`); changing their
    attributes is tampering, as is changing those of a name this cell binds so. `bound`: those that
    stand for a module itself (`modules_bound`), which may not be handed on as values. `made_from`:
    names of objects a NumPy-family module made or handed out (`made_from_modules`), whose attributes a
    cell may not set (`np.finfo` caches its objects: one set here is read back by a solution)."""
    try:
        tree = _tree(source)
        paths = _module_paths([source])
        modules = modules | frozenset(paths)
        loose = bound | _modules_among(paths)
        made = modules | made_from | made_from_modules([source])
        found = [p for node in ast.walk(tree) for p in _tamper(node, modules)]
        stores = [n for n in _attribute_stores(tree, made) if not _rooted_in(n, modules)]  # those: `_tamper`
        found += [f"line {n.lineno} changes `{_shown(n)}`, an object a module made" for n in stores]
        found += [f"redefines the built-in `{name}`" for name in sorted(top_names([source]) & LOOKING)]
        return list(dict.fromkeys(found + _loose_modules(tree, loose, paths) + _danger_chains(tree)))
    except SyntaxError:
        return []  # a cell that IPython cannot run either changes nothing
    except UNREADABLE as e:
        return [_unreadable(e)]


def _readable(sources: list[str]) -> list[ast.Module]:
    """The trees of the cells the grader can read (a cell it cannot read binds nothing)."""
    trees = []
    for source in sources:
        try:
            trees.append(_tree(source))
        except (SyntaxError, *UNREADABLE):
            continue
    return trees


def top_names(sources: list[str]) -> frozenset[str]:
    """Names these cells bind in the notebook's namespace: at their top, or declared `global` anywhere."""
    found: set[str] = set()
    for tree in _readable(sources):
        found |= _binds(tree) | {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
    return frozenset(found)


def made_from_modules(sources: list[str]) -> frozenset[str]:
    """Names these cells bind to a value computed from a NumPy-family module (`box = np.finfo(np.float64)`,
    `h = [np.errstate][0]`), and names bound from those, whatever the expression. (TensorFlow and Keras
    objects are left out: setting `model.trainable` is ordinary Keras.)"""
    seeds = frozenset(n for n, path in _module_paths(sources).items() if path.split(".")[0] in NUMPY_FAMILY)
    kinds = ast.Assign | ast.AnnAssign | ast.NamedExpr | ast.For
    assigned = [n for tree in _readable(sources) for n in ast.walk(tree) if isinstance(n, kinds)]
    edges: dict[str, set[str]] = {}  # a name read in a value -> the names that value is bound to
    getters = set()  # what TensorFlow's and Keras' getters hand out: `tf.get_logger()`, `global_policy()`
    for n in assigned:
        value = n.iter if isinstance(n, ast.For) else n.value
        targets = [n.target] if not isinstance(n, ast.Assign) else n.targets
        bound = {name for target in targets for name in _name_targets(target)}
        getters |= bound if value is not None and _calls_a_getter(value) else set()
        for read in {x.id for x in ast.walk(value) if isinstance(x, ast.Name)} if value is not None else ():
            edges.setdefault(read, set()).update(bound)
    found, todo = set(seeds) | getters, list(seeds | getters)
    while todo:  # each name once: linear in the cells' size
        todo += [name for name in edges.get(todo.pop(), ()) if name not in found]
        found |= set(todo)
    return frozenset(found - seeds)


def _calls_a_getter(value: ast.AST) -> bool:
    """Whether `value` calls a getter of TensorFlow or Keras (`tf.get_logger()`, `....global_policy()`):
    objects they keep and hand out again, unlike the models and layers a cell makes."""
    for node in ast.walk(value):
        chain = dotted(node.func) if isinstance(node, ast.Call) else None
        if chain and chain.split(".")[0] in {"tf", "keras"} and chain.split(".")[-1].startswith(("get_", "global_")):
            return True
    return False


def _name_targets(target: ast.AST) -> list[str]:
    """The names an assignment target binds: `a`, and those in `a, (b, *c)`; none for `obj.x` or `d[k]`."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _name_targets(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _name_targets(element)]
    return []


def _mentions(node: ast.AST, names: set[str] | frozenset[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _attribute_stores(tree: ast.Module, made: frozenset[str]) -> list[ast.Attribute]:
    """Attribute stores into an object a module made (`box.a = f`, `[np.errstate][0].h = f`)."""
    return [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store | ast.Del) and _mentions(n.value, made)
        and n.attr not in ARRAY_DATA
    ]  # fmt: skip


def _loose_modules(tree: ast.Module, modules: frozenset[str], paths: dict[str, str]) -> list[str]:
    """A module handed on as a value (`for m in [np]`, `f(np)`, `m = np or 0`), or a module or a container
    reached from one (`put(np.ma.core.np)`, `dict.update(np.ma.core.default_filler, ...)`): whatever
    receives it may change it unseen. Reading, calling and showing them is fine. `paths`: this cell's
    `_module_paths`."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    paths = STANDARD | paths
    found = []
    for n in ast.walk(tree):
        if not isinstance(n.__dict__.get("ctx"), ast.Load) or _read_only(n, parents.get(n)):
            continue
        if isinstance(n, ast.Name) and n.id in modules:
            found.append(f"line {n.lineno} hands `{n.id}` on as a value (only `{n.id}.<name>` may be read)")
        elif isinstance(n, ast.Attribute) and (chain := dotted(n)) and chain.split(".")[0] in paths:
            held = _pristine(paths[chain.split(".")[0]] + chain[len(chain.split(".")[0]) :])
            if isinstance(held, types.ModuleType | dict | list | set):
                found.append(f"line {n.lineno} hands `{chain}` on as a value (a {type(held).__name__} of a module)")
    return found


def _read_only(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether `node` is only read where it stands: an attribute or call of it, a cell showing it, or an
    argument of `print`, `dir` and the other `LOOKING` built-ins."""
    return (
        (isinstance(parent, ast.Attribute) and parent.value is node)
        or (isinstance(parent, ast.Call) and (parent.func is node or dotted(parent.func) in LOOKING))
        or isinstance(parent, ast.Expr)
    )


@functools.lru_cache(maxsize=4096)
def _pristine(path: str) -> object:
    """The object dotted `path` (`numpy.ma.core.default_filler`) names in the grader's own modules (None if none)."""
    try:
        found: object = importlib.import_module(path.split(".")[0])
        for part in path.split(".")[1:]:
            found = getattr(found, part)
    except Exception:  # noqa: BLE001 (not there)
        return None
    return found


def _danger_chains(tree: ast.Module) -> list[str]:
    """Attribute chains from a course module (or one this cell imports from the course's packages) that pass
    through the interpreter's own modules (`np.ma.core.re.enum.bltns` is `builtins`)."""
    starts = STANDARD | {a: m for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                         for a, m in _aliases(n) if m.split(".")[0] in PACKAGES}  # fmt: skip
    found = []
    for node in ast.walk(tree):
        chain = dotted(node) if isinstance(node, ast.Attribute) else None
        if (
            chain
            and chain.split(".")[0] in starts
            and (danger := _danger_on_the_way(chain, starts[chain.split(".")[0]]))
        ):
            found.append(f"line {node.lineno} reaches `{danger}` through `{chain}`")
    return found


def module_names(sources: list[str]) -> frozenset[str]:
    """Names these cells bind to a module of the course's packages (`PACKAGES`) or to part of one: by an
    import, or by assigning a dotted name that starts at such a name (`la = np.linalg`). Cells the
    grader cannot read bind none."""
    return frozenset(_module_paths(sources)) - WATCHED


def modules_bound(sources: list[str]) -> frozenset[str]:
    """The names of `module_names`, and the watched ones, that stand for a module itself (`linalg` after
    `from numpy import linalg`, not `norm` after `from numpy.linalg import norm`)."""
    return _modules_among(_module_paths(sources))


def _modules_among(paths: dict[str, str]) -> frozenset[str]:
    """The names of `paths` (`_module_paths`) that stand for a module itself, and the watched ones."""
    return frozenset(name for name, path in paths.items() if isinstance(_pristine(path), types.ModuleType)) | WATCHED


def _module_paths(sources: list[str]) -> dict[str, str]:
    """{name: what it stands for, as a dotted path from its package} for `module_names` and the watched names."""
    nodes = [n for tree in _readable(sources) for n in ast.walk(tree)]
    imports = [pair for n in nodes if isinstance(n, ast.Import | ast.ImportFrom) for pair in _aliases(n)]
    found = {name: STANDARD.get(name, name) for name in WATCHED}
    found |= {a: module for a, module in imports if module.split(".")[0] in PACKAGES}
    targets: dict[str, list[tuple[str, str]]] = {}  # name -> (name assigned from it, rest of its path)
    for n in nodes:
        if isinstance(n, ast.Assign | ast.NamedExpr):
            root, *rest = (dotted(n.value) or ".").split(".")
            targets.setdefault(root, []).extend((t.id, ".".join(rest)) for t in _targets(n))
    todo = list(found)
    while todo:  # each name once: a chain of aliases costs its length, not its square
        source = todo.pop()
        for name, rest in targets.get(source, ()):
            if name not in found:
                found[name] = f"{found[source]}.{rest}".rstrip(".")
                todo.append(name)
    return found


def _targets(node: ast.Assign | ast.NamedExpr) -> list[ast.Name]:
    return [t for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]


def _tamper(node: ast.AST, modules: frozenset[str]) -> list[str]:
    """What one node of a student's cell does to the kernel the checks run in (`modules`: names bound to modules)."""
    line = getattr(node, "lineno", "?")
    if isinstance(node, ast.Name) and node.id in HOOKS | PRYING:
        return [f"line {line} uses `{node.id}`"]
    for attr, name in _attributes(node):
        if attr in REACHING | PRYING | (REGISTRIES - SETTINGS) | INTERPRETER - {"os"}:
            return [f"line {line} uses `{name}`"]
    if isinstance(node, ast.Constant) and node.value in REACHING:  # `attrgetter('__dict__')` and the like
        return [f"line {line} names `{node.value}`"]
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [f"line {line} imports {what}" for what in _odd_imports(node)]
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in WATCHED:
        return [f"line {line} aliases `{node.value.id}`"]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and node.id in WATCHED:
        return [f"line {line} rebinds `{node.id}`"]
    if _captured(node) in WATCHED:
        return [f"line {line} rebinds `{_captured(node)}`"]
    if isinstance(node, ast.Attribute) and node.attr in HOOKS_OF.get(getattr(node.value, "id", ""), ()):
        return [f"line {line} uses `{dotted(node)}`"]
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in HOOKS_OF:
        return [f"line {line} aliases `{node.value.id}`"]
    if isinstance(node, ast.keyword) and node.arg in UNSAFE_LOADING and not _safe_value(node):
        return [f"line {line} loads code from a file (`{node.arg}=`)"]
    if isinstance(node, ast.Attribute) and node.attr in UNSAFE_LOADING:
        return [f"line {line} loads code from a file (`{node.attr}`)"]
    settings = isinstance(node, ast.Call) and getattr(node.func, "attr", "") in SETTINGS
    if settings and any(k.arg in PRINT_HOOKS or k.arg is None for k in node.keywords):
        return [f"line {line} gives numpy a function to call when it prints"]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name in WATCHED:
        return [f"line {line} rebinds `{node.name}`"]
    if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
        return [f"line {line} changes `{_shown(node)}`"] if _changes_module(node, modules) else []
    f = getattr(node, "func", None)
    if isinstance(node, ast.Call) and isinstance(f, ast.Attribute) and f.attr in MUTATORS:
        return [f"line {line} changes `{_shown(f.value)}` (`.{f.attr}`)"] if _changes_module(f, modules) else []
    return []


def _changes_module(target: ast.Attribute | ast.Subscript, modules: frozenset[str]) -> bool:
    """Whether a store into `target` changes a module's state (`os.environ` holds only strings: not counted)."""
    return _rooted_in(target, modules) and not (
        isinstance(target, ast.Subscript | ast.Attribute) and dotted(target.value) == "os.environ"
    )


def _shown(node: ast.AST) -> str:
    """`np.typecodes[...]` for np.typecodes['h']: an expression named for a message."""
    if isinstance(node, ast.Subscript):
        return f"{_shown(node.value)}[...]"
    return dotted(node) or "..."


def _safe_value(keyword: ast.keyword) -> bool:
    """`allow_pickle=False` and `safe_mode=True`: a loading option set to its safe value."""
    safe = keyword.arg == "safe_mode"
    return isinstance(keyword.value, ast.Constant) and keyword.value.value is safe


def _odd_imports(node: ast.Import | ast.ImportFrom) -> list[str]:
    """An import that binds a watched name to something else (`import scipy as np`), or reaches the kernel.
    (A watched module under another name is watched under that name too: `module_names`. A module file
    the notebook writes cannot be imported: the grader's kernel leaves its folder off `sys.path`.)"""
    found = []
    for alias, module in _aliases(node):
        leaf = module.split(".")[-1]
        parts = module.split(".")
        if alias in WATCHED and module not in {STANDARD[alias], *ALSO.get(alias, ())}:
            found.append(f"`{module}` as `{alias}`")
        elif parts[0] in HOOKS_OF and (parts == [parts[0]] != [alias] or leaf in HOOKS_OF[parts[0]]):
            found.append(f"`{module}`" + (f" as `{alias}`" if alias != leaf else ""))
        elif set(parts) & (KERNEL | PRYING | HOOK_MODULES):
            found.append(f"`{module}`")
    return found


class _Bounded(TransformerManager):
    """IPython's transformer, stopping after `MAX_ESCAPES` pieces of IPython syntax (each re-reads the cell)."""

    def do_token_transforms(self, lines: list[str]) -> list[str]:
        for _ in range(MAX_ESCAPES + 1):
            changed, lines = self.do_one_token_transform(lines)
            if not changed:
                return lines
        raise Unreadable(f"more than {MAX_ESCAPES} `!`, `%` or `?` commands in one cell")


def python(source: str) -> str:
    """A cell as the Python IPython runs: a magic or `!command` becomes the `get_ipython()` call IPython
    makes of it. `Unreadable` for a cell above `MAX_CHARS`, `MAX_LINES` or `MAX_ESCAPES`."""
    lines = len(source.splitlines())  # as IPython counts them
    if len(source) > MAX_CHARS or lines > MAX_LINES:
        raise Unreadable(f"a cell of {lines} lines, {len(source)} characters: more than {MAX_LINES} or {MAX_CHARS}")
    try:
        return _Bounded().transform_cell(source)
    except (SyntaxError, Unreadable):
        raise
    except Exception as e:  # IPython's transformers raise RuntimeError and others on odd input
        raise Unreadable(f"IPython's transformer raised {type(e).__name__}") from e


class _Magics(ast.NodeTransformer):
    """Reads `%timeit`/`%time` (line or cell, without options) as the code they run, setup line
    included, and `%matplotlib` as nothing; any other magic, or a timing magic inside two others
    (each is read afresh), stays a `get_ipython()` call."""

    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def visit_Expr(self, node: ast.Expr) -> ast.AST | list[ast.stmt]:
        magic = _magic(node.value)
        if magic is None:
            return node
        kind, name, *texts = magic
        if name == "matplotlib":
            return ast.copy_location(ast.Pass(), node)
        if name not in TIMING_MAGICS or texts[0].lstrip().startswith("-") or self.depth >= 2:
            return node
        body = _read_as_code(texts[0], node.lineno - 1, self.depth + 1)
        body += _read_as_code(texts[1], node.lineno, self.depth + 1) if kind == "run_cell_magic" else []
        return body or ast.copy_location(ast.Pass(), node)


def _magic(value: ast.AST) -> tuple[str, ...] | None:
    """('run_line_magic', 'timeit', 'x = 1') for `get_ipython().run_line_magic('timeit', 'x = 1')`."""
    f = getattr(value, "func", None)
    if not isinstance(f, ast.Attribute) or f.attr not in ("run_line_magic", "run_cell_magic"):
        return None
    texts = [a.value for a in value.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if dotted(getattr(f.value, "func", ast.Constant(0))) != "get_ipython" or value.keywords:
        return None
    return (f.attr, *texts) if len(texts) == len(value.args) >= 2 else None


def _read_as_code(text: str, offset: int, depth: int) -> list[ast.stmt]:
    """The statements of IPython code `text` (a magic's argument), numbered as lines of its cell."""
    tree = _Magics(depth).visit(ast.parse(python(text)))
    return ast.increment_lineno(tree, offset).body


@functools.lru_cache(maxsize=4096)
def _read(source: str) -> ast.Module | SyntaxError | Unreadable:
    try:
        tree = _Magics().visit(ast.parse(python(source)))
    except (SyntaxError, Unreadable) as e:
        return e
    if (depth := _scope_depth(tree)) > MAX_SCOPE_DEPTH:
        return Unreadable(f"functions or comprehensions nested {depth} deep, more than {MAX_SCOPE_DEPTH}")
    return tree


def _scope_depth(tree: ast.AST) -> int:
    """How deeply functions, classes and comprehensions nest in `tree`."""
    deepest, todo = 0, [(tree, 0)]
    while todo:
        node, depth = todo.pop()
        depth += isinstance(node, SCOPES)
        deepest = max(deepest, depth)
        todo += [(child, depth) for child in ast.iter_child_nodes(node)]
    return deepest


def _tree(source: str) -> ast.Module:
    """A cell parsed as IPython runs it; cached, as the grader asks about each cell once per exercise.

    Callers only read the tree. SyntaxError and `UNREADABLE` errors propagate (the first two cached)."""
    found = _read(source)
    if isinstance(found, Exception):
        raise found.with_traceback(None)
    return found


def parse(source: str) -> ast.Module:
    """A cell parsed as IPython runs it (`%timeit` as the code it times), a copy the caller may change.

    SyntaxError, or one of `UNREADABLE`, for a cell that cannot be read."""
    return copy.deepcopy(_tree(source))


def _rooted_in(target: ast.AST, names: frozenset[str]) -> bool:
    root = _root(target)
    return isinstance(root, ast.Name) and root.id in names


def _aliases(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(name bound, what it names) for each alias of an import: `import numpy as np` gives ('np', 'numpy')."""
    if isinstance(node, ast.ImportFrom):
        return [(a.asname or a.name, f"{node.module}.{a.name}") for a in node.names]
    return [(a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0]) for a in node.names]


def rebinds(source: str, name: str) -> bool:
    """True if the cell `source`, as IPython runs it, binds `name` anywhere (a second definition of an exercise's function)."""
    try:
        tree = _tree(source)
        return any(name in _bound_here(node) for node in ast.walk(tree))
    except (SyntaxError, *UNREADABLE):
        return False


def defines(source: str, name: str) -> bool:
    """True if the cell, as IPython runs it, defines function `name` at its top level (never inside a string)."""
    try:
        return any(isinstance(n, ast.FunctionDef) and n.name == name for n in _tree(source).body)
    except (SyntaxError, *UNREADABLE):
        return False
