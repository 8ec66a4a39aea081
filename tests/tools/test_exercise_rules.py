"""Exercise rules: every shortcut the grading issue found is refused by name, every reference solution passes."""

import nbformat
import pytest

from course_lib import exercise_rules
from course_lib.exercise_rules import RULES, tampering, violations
from course_lib.tools import assignments
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS


def _solutions() -> dict[str, str]:
    found = {}
    for path in sorted(CHECKOUT_NOTEBOOKS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and assignments.is_solution_cell(cell.source):
                found[assignments.DEFINES.search(cell.source)["name"]] = cell.source
    return found


REFERENCE = _solutions()


def test_every_course_exercise_has_a_rule_and_its_reference_solution_keeps_it():
    assert set(REFERENCE) == set(RULES), "give each exercise a rule in exercise_rules.RULES"
    assert {name: violations(source, RULES[name]) for name, source in REFERENCE.items()} == {n: [] for n in RULES}


def test_no_reference_cell_counts_as_tampering():
    for path in sorted(CHECKOUT_NOTEBOOKS.glob("*.ipynb")):
        sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        modules, bound = exercise_rules.module_names(sources), exercise_rules.modules_bound(sources)
        made = exercise_rules.made_from_modules(sources)
        assert [t for source in sources for t in tampering(source, modules, bound, made)] == [], path.name


ROUTES = [  # (exercise, solution body, what the refusal names): the routes issue #27 lists, and the dynamic ones
    ("my_softmax", "return tf.compat.v1.nn.softmax(z).numpy()", "`tf"),
    ("my_softmax", "return tf.raw_ops.Softmax(logits=z).numpy()", "`tf"),
    ("my_softmax", "return np.exp(tf.nn.log_softmax(z).numpy())", "`tf"),
    ("my_softmax", "import scipy.special\n    return scipy.special.softmax(z, axis=1)", "`import scipy.special`"),
    ("my_softmax", "return np.softmax(z)", "`np.softmax`"),
    ("binary_cross_entropy_from_logit", "return tf.nn.weighted_cross_entropy_with_logits(y, z, 1).numpy()", "`tf"),
    ("manual_gradients", "with tf.GradientTape() as t:\n        pass\n    return t", "`tf.GradientTape`"),
    ("manual_gradients", "return tf.autodiff.ForwardAccumulator(x, W)", "`tf.autodiff"),
    ("top_k_accuracy", "return float(tf.math.in_top_k(labels, logits, k).numpy().mean())", "`tf"),
    (
        "conv_output_side",
        "return keras.layers.AveragePooling2D(kernel).compute_output_shape((1, n, n, 1))[1]",
        "`keras",
    ),
    ("cnn_parameters", "return sum(int(np.prod(w.shape)) for w in build(filters1).weights)", "`build`"),
    ("cnn_parameters", "m = keras.Sequential([keras.Input((28, 28, 1))])\n    return m.count_params()", "`keras`"),
    ("lrn_cnn_parameters", "return models.cifar10_lrn_cnn(input_size=input_size).count_params()", "`models`"),
    ("published_parameters", "return model_of(channels).count_params()", "`model_of`"),
    ("decode_bytes", "return tf.raw_ops.DecodeRaw(bytes=record, out_type=tf.uint8)", "`tf"),
    ("lrn_fast", "return tf.compat.v1.nn.lrn(x, depth_radius, bias, alpha, beta).numpy()", "`tf"),
    ("lrn_fast", "return np.stack([x[..., c] for c in range(x.shape[-1])], -1)", "a Python loop"),
    ("lrn_fast", "out = x\n    for c in range(3):\n        out = out\n    return out", "a Python loop"),
    ("most_confident_mistakes", "return answer(probabilities, labels, count)", "`answer`"),
    ("my_stratified_split", "return course_split(labels, fraction, seed)", "`course_split`"),
    ("l2_term", "return float(sum(model.losses))", "`model.losses`"),
    ("my_softmax", "return eval('tf.nn.softmax')(z)", "`eval`"),
    ("my_softmax", "return getattr(np, 'soft' + 'max')(z)", "`getattr`"),
    ("my_softmax", "return __import__('tensorflow').nn.softmax(z)", "`__import__`"),
    (
        "my_softmax",
        "import importlib\n    return importlib.import_module('scipy').special.softmax(z)",
        "`import importlib`",
    ),
    ("my_softmax", "return np.__dict__['exp'](z)", "`np.__dict__`"),
    ("my_softmax", "import tensorflow as np\n    return np.nn.softmax(z)", "`import tensorflow`"),
    ("my_softmax", "np = z\n    return np", "rebinding `np`"),
    # routes a hostile review found around the first version of these rules
    ("my_softmax", "return np.f2py.sys.modules['tensorflow'].nn.softmax(z).numpy()", "`np.f2py"),
    ("my_softmax", "ev = np.ma.core.builtins.eval\n    return ev('z')", "builtins"),
    ("my_softmax", "return np.ma.core.operator.attrgetter('exp')(np)(z)", "operator"),
    ("my_softmax", "return z.__class__.__mro__", "`z.__class__`"),
    ("my_softmax", "return type(np)", "`type`"),
    ("my_softmax", "return x[0].softmax_v2(z)", "softmax_v2"),
    # routes a second hostile review found (r1, r3, r5): Python's scopes read as Python reads them
    ("my_softmax", "global sm\n    if 0:\n        sm = None\n    return sm(z).numpy()", "`sm`, defined outside"),
    ("my_softmax", "return [sm(z).numpy() for sm in [sm]][0]", "`sm`, defined outside"),
    ("my_softmax", "look = np.ma.core.inspect\n    return dict(look.getmembers(np))['exp'](z)", "inspect"),
    ("my_softmax", "return (x for x in [0]).gi_frame.f_globals['sm'](z)", "gi_frame"),
]


@pytest.mark.parametrize(("exercise", "body", "named"), ROUTES, ids=[f"{e}: {b[:40]}" for e, b, _ in ROUTES])
def test_a_shortcut_is_refused_with_a_message_naming_it(exercise, body, named):
    arguments = REFERENCE[exercise].split("(", 1)[1].split(")", 1)[0]
    source = f"def {exercise}({arguments}):\n    {body}\n"
    found = violations(source, RULES[exercise])
    assert any(named in line for line in found), found


def test_helpers_and_constants_defined_in_the_cell_are_allowed():
    source = "SHIFT = 1\n\ndef helper(v):\n    return v - v.max(axis=1, keepdims=True)\n\n\n"
    source += "def my_softmax(z):\n    e = np.exp(helper(z) * SHIFT)\n    return e / e.sum(axis=1, keepdims=True)\n"
    assert violations(source, RULES["my_softmax"]) == []


@pytest.mark.parametrize(
    "cell",
    ["checks.without = lambda *a: None", "import contextlib\nchecks.without = contextlib.nullcontext",
     "np.exp = lambda z: z", "del tf.nn", "course_lib.checks = None", "np = None"],
)  # fmt: skip
def test_changing_what_the_checks_rely_on_is_tampering(cell):
    assert tampering(cell)


def test_ordinary_cells_are_not_tampering():
    assert tampering("x = np.zeros(3)\nx[0] = 1\nos.environ['A'] = '1'\nmodel.trainable = False") == []
    assert tampering("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    print(type(e).__name__)") == []


def test_the_rule_reads_as_a_sentence():
    assert RULES["lrn_fast"].says() == (
        "may use `np` and Python's built-ins, and what the cell itself defines; not `lrn`, `local_response`; "
        "no Python loop"
    )
    assert exercise_rules.ARITHMETIC.says().startswith("may use `math`")


def test_a_binding_that_never_runs_does_not_make_an_outside_name_allowed():
    source = "if 0:\n    H = None\n\n\ndef my_softmax(z):\n    return H(z)\n"
    assert any("`H`, defined outside" in line for line in violations(source, RULES["my_softmax"]))
    hidden_in_another_function = "def unused():\n    H = None\n\n\ndef my_softmax(z):\n    return H(z)\n"
    assert any("`H`, defined outside" in line for line in violations(hidden_in_another_function, RULES["my_softmax"]))


def test_honest_code_the_first_rules_refused_is_allowed():
    source = """
class Shift:
    def __init__(self, by):
        self.by = by


def _centre(v):
    return v - v.max(axis=1, keepdims=True)


def my_softmax(z):
    _z = _centre(z)
    if not hasattr(_z, "shape"):
        raise RuntimeError("an array please")
    softmax_out = np.exp(_z)
    rows = iter(softmax_out)
    next(rows)
    return softmax_out / softmax_out.sum(axis=1, keepdims=True)
"""
    assert violations(source, RULES["my_softmax"]) == []


def test_code_too_deep_to_read_is_refused_not_a_crash():
    deep = "def my_softmax(z):\n    return " + "+".join(["z"] * 5000) + "\n"
    assert violations(deep, RULES["my_softmax"]) == ["code this grader cannot read (nested too deeply)"]
    assert tampering(deep) == ["code this grader cannot read (nested too deeply)"]


@pytest.mark.parametrize(
    "cell",
    ["import builtins as b\nb.print = len", "c = checks\nc.without = None", "m = sys.modules\nm['np'].exp = abs",
     "setattr(checks, 'without', None)", "checks.__dict__['without'] = None", "for np.round in [abs]:\n    pass",
     "exec('checks.without = None')", "def checks():\n    pass", "from contextlib import nullcontext as checks",
     "get_ipython().input_transformers_post.append(len)", "import numpy as tf"],
)  # fmt: skip
def test_tampering_through_aliases_and_hooks_is_found(cell):
    assert tampering(cell), cell


def test_defines_reads_code_not_strings():
    assert exercise_rules.defines("def f(x):\n    return x\n", "f")
    assert not exercise_rules.defines("'''\ndef f(x):\n'''\n", "f"), "a definition inside a string defines nothing"
    assert exercise_rules.rebinds("f = lambda x: x", "f") and not exercise_rules.rebinds("g = f", "f")


@pytest.mark.parametrize(
    "cell",
    [  # found by a hostile class (2026-12-02): each one earned points or read the hidden tests
        "import __main__\n__main__.my_softmax = lambda z: z",
        "from IPython import get_ipython as g\ng().user_ns['my_softmax'] = len",
        "import inspect\ninspect.currentframe().f_globals['my_softmax'] = len",
        "%xmode Plain\nimport builtins\nbuiltins.len = None",
        "%timeit -n 1 __import__('__main__').my_softmax",
        "!echo 'exp = abs' > numpy.py",
    ],
)
def test_the_notebooks_namespace_and_ipython_syntax_are_no_way_around(cell):
    assert tampering(cell), cell


def test_timing_and_plotting_magics_are_read_as_the_code_they_run():
    assert tampering("%matplotlib inline\n%timeit sum([1, 2])") == []
    assert tampering("%%time\nx = sum([1, 2])") == []
    assert tampering("%timeit np.exp = abs") == ["line 1 changes `np.exp`"], "the timed code is read"
    assert tampering("%%timeit import builtins\npass") == ["line 1 imports `builtins`"], "its setup line too"
    assert tampering("%%time\n%timeit np.exp = abs") == ["line 2 changes `np.exp`"]
    assert tampering("%timeit " * 4000 + "np.exp = abs") == ["line 1 uses `get_ipython`"], "read three deep"


def test_a_timed_solution_cell_is_read_as_ipython_runs_it():
    timed = "%%time\ndef my_softmax(z):\n    e = np.exp(z)\n    return e / e.sum()\n"
    assert exercise_rules.defines(timed, "my_softmax") and exercise_rules.rebinds(timed, "my_softmax")
    assert violations(timed, RULES["my_softmax"]) == []
    assert violations("%%bash\necho hi\n", RULES["my_softmax"]), "another cell magic runs code the rule cannot read"


@pytest.mark.parametrize(
    "cell",
    [  # a name read at the cell's top before the cell binds it is the other cells' (r2, r4)
        "sm = sm\n\n\ndef my_softmax(z):\n    return sm(z)\n",
        "sm: object\n\n\ndef my_softmax(z):\n    return sm(z)\n",
        "held = sm\nsm = held\n\n\ndef my_softmax(z):\n    return sm(z)\n",
        "sm += 0\n\n\ndef my_softmax(z):\n    return sm(z)\n",
        "def grab():\n    return sm\n\n\nsm = grab()\n\n\ndef my_softmax(z):\n    return sm(z)\n",
        "held = (lambda: sm)()\nsm = 0\n\n\ndef my_softmax(z):\n    return held(z)\n",
    ],
)
def test_a_name_is_the_cells_own_only_once_the_cell_has_bound_it(cell):
    assert any("`sm`, defined outside" in line for line in violations(cell, RULES["my_softmax"])), cell


def test_honest_scopes_are_read_as_python_reads_them():
    cells = [
        "CALLS = 0\n\n\ndef my_softmax(z):\n    global CALLS\n    CALLS += 1\n    return np.exp(z)\n",
        "def _eye(n):\n    return np.eye(n)\n\n\nEYE = _eye(3)\n\n\ndef my_softmax(z):\n    return np.exp(z) @ EYE\n",
        "def my_softmax(z):\n    return np.stack([np.exp(r) / np.exp(r).sum() for r in z])\n",
        "def my_softmax(z):\n    return np.array([[v for v in row] for row in z])\n",
        "def my_softmax(z):\n    e = helper(z)\n    return e / e.sum()\n\n\ndef helper(v):\n    return np.exp(v)\n",
        "def my_softmax(z):\n    return helper(z) * SCALE\n\n\nSCALE = np.float64(1)\n\n\ndef helper(v):\n    return np.exp(v)\n",
    ]
    assert {cell: violations(cell, RULES["my_softmax"]) for cell in cells} == {cell: [] for cell in cells}


@pytest.mark.parametrize(
    "cell",
    [  # found by a second hostile review (t1, t2, t3)
        "import numpy as numpy_too\nnumpy_too.exp = abs",
        "from course_lib import checks as checks_too\nchecks_too.follows_rule = print",
        "from numpy.ma.core import builtins as builtins_too\nbuiltins_too.print = len",
        "import operator\noperator.attrgetter('__dict__')(checks)['without'] = None",
        "from numpy import linalg\nlinalg.norm = abs",
        "from numpy.ma.core import getmembers",
        "la = np.linalg\nla.norm = abs",
        '_ = "\x0c"\nimport builtins\nbuiltins.len = len',
        's = """\n%matplotlib inline"""\nimport builtins\nbuiltins.len = len',
        "%%timeit import builtins; builtins.len = builtins.len\npass\n",
    ],
)
def test_tampering_through_import_aliases_and_odd_text_is_found(cell):
    assert tampering(cell), cell


def test_a_form_feed_hides_no_definition():
    cell = '_ = "\x0c"\ndef my_softmax(z):\n    return tf.nn.softmax(z).numpy()\n'
    assert exercise_rules.defines(cell, "my_softmax") and exercise_rules.rebinds(cell, "my_softmax")
    assert any("`tf" in line for line in violations(cell, RULES["my_softmax"]))


def test_a_cell_too_large_to_read_is_reported_not_a_stall():
    for cell in ["!true\n" * 2000, "x = 1\n" * 5000, "!true\n" * 200]:
        found = tampering(cell)
        assert len(found) == 1 and found[0].startswith("code this grader cannot read"), found
        refused = violations("def my_softmax(z):\n    return z\n" + cell, RULES["my_softmax"])
        assert len(refused) == 1 and refused[0].startswith("code this grader cannot read"), refused
        assert not exercise_rules.defines(cell, "f") and not exercise_rules.rebinds(cell, "f")


def test_changing_a_module_another_cell_bound_is_tampering():
    modules = exercise_rules.module_names(["from numpy import linalg", "from course_lib import softmax as r", "m = r"])
    assert tampering("linalg.norm = abs", modules) and tampering("m.softmax = len", modules)
    assert tampering("model.trainable = False", modules) == [] and tampering("pi = math.pi") == []


@pytest.mark.parametrize(
    "cell",
    [  # found by a third hostile review: a module's own dictionaries and hooks carry a function to a solution
        "np.typecodes['h'] = tf.nn.softmax",
        "np.typecodes.update(h=tf.nn.softmax)",
        "d = np.typecodes\nd['h'] = tf.nn.softmax",
        "keras.utils.get_custom_objects()['sm'] = tf.nn.softmax",
        "np.seterrcall(tf.nn.softmax)",
        "del np.sctypeDict['half']",
        "match np:\n    case object(__dict__=d):\n        d['exp'] = abs",
    ],
)
def test_filling_a_modules_store_is_tampering(cell):
    assert tampering(cell), cell


@pytest.mark.parametrize(
    ("body", "named"),
    [  # the solutions that read such a store back, open a pickle, or reach a name through `match` or `:=`
        ("return np.typecodes['h'](z)", "`np.typecodes`"),
        ("return np.geterrcall()(z)", "`np.geterrcall`"),
        ("return np.get_printoptions()['formatter']['all'](z)", "`np.get_printoptions`"),
        ("return np.load('f.npy', allow_pickle=True)[()](z)", "`np.load`"),
        ("return np.lib.format.read_array(open_, **{'allow_pickle': True})", "`np.lib.format.read_array`"),
        ("match np:\n        case object(ma=object(core=object(inspect=i))):\n            return i", "inspect=..."),
        ("global sm\n    return [(sm := sm)(z) for _ in [0]][0]", "`sm`, defined outside"),
    ],
)
def test_stores_pickles_match_and_walrus_are_no_way_around(body, named):
    found = violations(f"def my_softmax(z):\n    {body}\n", RULES["my_softmax"])
    assert any(named in line for line in found), found


def test_a_walrus_in_a_comprehension_binds_the_function_around_it():  # (without `global`, `sm := sm` fails)
    cell = "def my_softmax(z):\n    [(e := np.exp(z)) for _ in [0]]\n    return e / e.sum()\n"
    assert violations(cell, RULES["my_softmax"]) == []
    assert tampering("os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\nos.environ.update(A='1')") == []


@pytest.mark.parametrize(
    "cell",
    [  # found by a fourth hostile review: hooks that run a cell's code later, in any frame, hidden tests included
        "import sys\nsys.settrace(lambda *a: None)",
        "import sys\nsys.addaudithook(print)",
        "import inspect\ninspect.getargvalues(frame)",
        "import inspect as ins",
        "from inspect import stack",
        "peek = inspect",
        "import codecs\ncodecs.register(lambda name: None)",
        "import threading",
        "import signal",
        "np.set_printoptions(formatter={'object': str})",
        "np.set_printoptions(**options)",
        "match P(np):\n    case np:\n        pass",
        "match [1]:\n    case [*np]:\n        pass",
        "match {}:\n    case {**tf}:\n        pass",
    ],
)
def test_installing_a_hook_or_capturing_a_watched_name_is_tampering(cell):
    assert tampering(cell), cell


def test_ordinary_uses_of_sys_inspect_and_print_options_are_not_tampering():
    cells = ["import sys\nprint(sys.version)", "from sys import version", "inspect.getsource(f)", "np.stack([z, z])",
             "np.set_printoptions(precision=3, suppress=True)", "match x:\n    case [a, *rest]:\n        pass"]  # fmt: skip
    assert {c: tampering(c) for c in cells} == {c: [] for c in cells}


def test_a_match_capture_of_the_exercises_name_is_a_second_binding():
    assert exercise_rules.rebinds("match f:\n    case my_softmax:\n        pass", "my_softmax")


def test_a_builtin_another_cell_redefines_is_refused_in_the_solution():
    helper = "def abs(z):\n    return tf.nn.softmax(z).numpy()\n"
    solution = "def my_softmax(z):\n    return abs(z)\n"
    shadowed = exercise_rules.top_names([helper])
    assert any(
        "`abs`, which another cell redefines" in line for line in violations(solution, RULES["my_softmax"], shadowed)
    )
    declared = exercise_rules.top_names(["def grab():\n    global pow\n    pow = print\n"])
    assert "pow" in declared and "grab" in declared
    assert violations(solution, RULES["my_softmax"], exercise_rules.top_names(["x = abs(-1)"])) == [], "read, not bound"
    own = "def abs(z):\n    return np.exp(z)\n\n\ndef my_softmax(z):\n    return abs(z)\n"
    assert violations(own, RULES["my_softmax"], shadowed) == [], "the solution's own cell may define it"


def test_a_long_chain_of_module_aliases_is_followed_to_its_end():
    names = [f"a{i}" for i in range(2000)]  # within the largest cell read (MAX_CHARS)
    chain = [f"{names[0]} = np.e"] + [f"a{i + 1} = a{i}" for i in range(len(names) - 1)]
    cell = "\n".join("; ".join(chain[k : k + 20]) for k in range(0, len(chain), 20))
    assert exercise_rules.module_names([cell]) == frozenset(names)


@pytest.mark.parametrize(
    "cell",
    [  # found by a fifth hostile review
        "for m in [np]:\n    m.stable_exp_ratio = lambda z: tf.nn.softmax(z).numpy()",
        "def put(m):\n    m.mean = abs\n\n\nput(np)",
        "m = np or 0",
        "with nullcontext(checks) as m:\n    pass",
        "m, k = np, 1",
        "np.ma.core.re.enum.bltns.exec('import sys')",
        "import site",
        "np.load('f.npy', allow_pickle=True)",
        "keras.saving.load_model('m.keras', safe_mode=False)",
        "keras.config.enable_unsafe_deserialization()",
        "np.ctypeslib.load_library('mine', '.')",
        "import pickle",
    ],
)
def test_handing_a_module_on_reaching_builtins_or_loading_unread_code_is_tampering(cell):
    assert tampering(cell), cell


def test_a_module_imported_in_one_cell_and_handed_on_in_another_is_tampering():
    cells = ["from numpy import linalg", "for m in [linalg]:\n    m.norm = abs"]
    modules, bound = exercise_rules.module_names(cells), exercise_rules.modules_bound(cells)
    assert tampering(cells[1], modules, bound), "linalg is a module: whatever receives it may change it"
    functions = ["from course_lib.plots import show_images", "show_images(x)\nlist(map(show_images, []))"]
    bound = exercise_rules.modules_bound(functions)
    assert tampering(functions[1], exercise_rules.module_names(functions), bound) == [], "a function is not a module"


def test_honest_plotting_settings_imports_and_safe_loading_are_not_tampering():
    cells = ["import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80", "import json\nimport time",
             "np.load('f.npy', allow_pickle=False)", "keras.saving.load_model('m.keras', safe_mode=True)"]  # fmt: skip
    assert {c: tampering(c) for c in cells} == {c: [] for c in cells}


@pytest.mark.parametrize(
    ("exercise", "body", "named"),
    [  # a solution's chain from its module must exist in that module and stay in its public modules
        ("my_softmax", "return np.ma.core.re.enum.bltns.eval('tf.nn.softmax(z).numpy()')", "leads out of numpy"),
        ("my_softmax", "return np.stable_exp_ratio(z)", "a name numpy does not have"),
        ("my_softmax", "return np.mean.evil(z)", "a name numpy does not have"),
        ("manual_gradients", "return tf.dtensor.python.input_util.x(W)", "leads out of tensorflow"),
    ],
)
def test_a_solution_reads_only_what_its_module_has_in_public(exercise, body, named):
    found = violations(f"def {exercise}(x, y, W, b):\n    {body}\n", RULES[exercise])
    assert any(named in line for line in found), found


def test_deeply_nested_comprehensions_are_not_read():
    cell = "x = " + "[a for a in " * 25 + "[1]" + "]" * 25
    assert tampering(cell)[0].startswith("code this grader cannot read (functions or comprehensions nested 25")
    assert not exercise_rules.rebinds(cell, "x"), "unread: it binds nothing the grader counts"


@pytest.mark.parametrize(
    "cell",
    [  # found by a sixth hostile review: an object a module made (and caches) carries a function to a solution
        "box = np.finfo(np.float64)\nbox.a = lambda z: z",
        "holder = [np.errstate][0]\nholder.h = staticmethod(abs)",
        "[np.finfo(np.float64)][0].max = abs",
        "import traceback",
        "import linecache",
        "def print(x):\n    return x",
    ],
)
def test_setting_attributes_on_what_a_module_made_is_tampering(cell):
    assert tampering(cell), cell


def test_a_module_made_object_in_one_cell_changed_in_another_is_tampering():
    cells = ["box = np.finfo(np.float64)", "box.a = abs"]
    made = exercise_rules.made_from_modules(cells)
    assert "box" in made and tampering(cells[1], exercise_rules.module_names(cells), made_from=made)


def test_honest_looks_at_modules_and_the_usual_imports_are_not_tampering():
    cells = ["print(np)", "np", "dir(np)", "help(np.exp)", "from tensorflow import keras", "import numpy",
             "import math as m", "import tensorflow.keras as keras", "model = keras.Sequential()\nmodel.trainable = False",
             "x = np.zeros(3)\nx[0] = 1"]  # fmt: skip
    assert {c: tampering(c) for c in cells} == {c: [] for c in cells}


@pytest.mark.parametrize(
    "cell",
    [  # found by a seventh hostile review: a module's container, or a module reached by a chain, handed on
        "dict.update(np.ma.core.default_filler, cheat=abs)",
        "for d in [np.ma.core.default_filler]:\n    d['cheat'] = abs",
        "def put(d):\n    d['cheat'] = abs\n\n\nput(np.ma.core.default_filler)",
        "def put(m, f):\n    m.allclose = f\n\n\nput(np.ma.core.np, abs)",
        "put(np.linalg, abs)",
    ],
)
def test_handing_on_a_modules_container_or_a_module_reached_by_a_chain_is_tampering(cell):
    assert tampering(cell), cell


def test_setting_ones_own_objects_and_array_data_is_not_tampering():  # the seventh review's false positives
    cells = [
        "class Tiny:\n    def __init__(self):\n        self.w = np.zeros(3)\n        self.b = 0.0\n\n\nt = Tiny()\nt.w = np.ones(3)",
        "obj = Tiny()\nobj.arr = np.zeros(2)",
        "x = np.zeros(6)\nx.shape = (2, 3)\nx.flags.writeable = False",
        "rng = np.random.default_rng(0)\nrng.bit_generator.state = rng.bit_generator.state",
        "from course_lib import augment\nds = ds.map(augment.random_flip)",
    ]
    assert {c: tampering(c) for c in cells} == {c: [] for c in cells}


@pytest.mark.parametrize(
    "cells",
    [  # the seventh hostile review's two routes to the tf/keras exercises (2/2 each before)
        ["lg = tf.get_logger()", "lg.cheat = lambda *a: None"],
        ["policy = keras.mixed_precision.global_policy()\npolicy.cheat = abs"],
        ["for g in [tf.random.get_global_generator()]:\n    g.cheat = abs"],
    ],
)
def test_setting_attributes_on_what_a_tensorflow_getter_handed_out_is_tampering(cells):
    made = exercise_rules.made_from_modules(cells)
    assert tampering(cells[-1], exercise_rules.module_names(cells), made_from=made), cells


def test_setting_attributes_of_ones_own_keras_models_is_not_tampering():
    cells = [
        "model = keras.Sequential([keras.layers.Dense(2)])",
        "model.trainable = False\nmodel.layers[0].trainable = True",
    ]
    assert (
        tampering(cells[1], exercise_rules.module_names(cells), made_from=exercise_rules.made_from_modules(cells)) == []
    )
