"""How much of a submission the grader reads outside a kernel, where no timeout applies.

Before a student's kernel starts (and after, for shared code) the grader parses their cells in its
own processes: `--cell-timeout` and `--timeout` do not bound that work, these sizes do. Each is
several times what the course's own notebooks need; `benchmarks/grading_limits.py` measures the
work at and beyond each limit. (What a kernel itself may use is `sandbox.Limits`.)
"""

from __future__ import annotations

import json

# papermill reads the parameters cell with a regular expression that backtracks quadratically on a
# long line (and on lines without `=`, which it joins): 0.1 s at 4,000 characters, 3.6 s at 20,000
# (2-core EPYC). The course's largest parameters cell has 1,832. A longer cell is not handed to papermill.
PARAMETERS_CELL_CHARS = 4_000

# A handed-in notebook, read into the grader's memory and parsed cell by cell (nbformat, the grader's rules,
# the shared-solution pass): 2.0 s for 20,000 empty cells, 19 s for 200,000 (27 MB), before papermill's own
# pass; refused by their count, 0.3 s and 2.4 s (2-core Xeon, 2026-12-03). The course's largest notebook holds
# 0.8 MB with its outputs, and 57 cells. A larger file is read no further than this; one with more cells is
# not graded.
NOTEBOOK_BYTES = 32 * 2**20
CELLS = 1_000

# All the code cells of one notebook: the grader parses each several times (its rules, `ast`),
# 2.3 s at 100,000 characters on a busy 2-core EPYC. The course's largest notebook has 19,433. A notebook with more
# is not graded.
CODE_CHARS = 100_000

# One code cell read for shared solutions (`similarity`), after grading, one student after the other.
# The course's largest code cell has 1,832 characters. A longer cell is not compared.
SIMILARITY_CELL_CHARS = 20_000


def code_chars(nb: dict) -> int:
    """Characters of code in notebook `nb` (a NotebookNode): what `CODE_CHARS` bounds."""
    return sum(len(str(c.get("source", ""))) for c in nb.get("cells", []) if c.get("cell_type") == "code")


def too_large(content: bytes) -> str:
    """Why a handed-in notebook is too large to grade, as '<size>, over the grader's limit of <limit>' ('' if it is
    not): its bytes (`NOTEBOOK_BYTES`) or its cells (`CELLS`), counted before nbformat reads it cell by cell."""
    if len(content) > NOTEBOOK_BYTES:
        return f"more than {NOTEBOOK_BYTES:,} bytes, over the grader's limit of {NOTEBOOK_BYTES:,}"
    try:
        cells = json.loads(content).get("cells")
    except (ValueError, AttributeError, RecursionError):
        return ""  # not a notebook: nbformat says so
    if isinstance(cells, list) and len(cells) > CELLS:
        return f"{len(cells):,} cells, over the grader's limit of {CELLS:,}"
    return ""
