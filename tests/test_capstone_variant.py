"""benchmarks/capstone_variant.py: notebook 10's own cells up to the test score, with one change."""

from __future__ import annotations

import benchmark_scripts
import pytest


def _script():
    return benchmark_scripts.load("capstone_variant")


def test_variant_patches_after_the_imports_and_stops_at_the_test_score():
    script = _script()
    cells = [c for c in script.variant("torch").cells if c.cell_type == "code"]
    code = [c.source for c in cells]
    assert "from course_lib import" in code[0] and "init='torch'" in code[1], "the change comes right after the imports"
    assert sum("models.airbench_net =" in c for c in code) == 1
    assert cells[2].metadata.get("tags") == ["parameters"], "papermill still finds the parameters cell"
    assert script.LAST_CELL in code[-1] and not any("full_recipe" in c or "modern" in c for c in code[3:]), (
        "no ablation, no comparisons"
    )


def test_all_images_variant_trains_on_the_validation_images_too_after_the_split():
    script = _script()
    code = [c.source for c in script.variant(all_images=True).cells if c.cell_type == "code"]
    split = next(i for i, c in enumerate(code) if script.SPLIT_CELL in c)
    assert code[split + 1] == script.ALL_IMAGES, "the one change comes right after the split"
    assert not any("models.airbench_net =" in c for c in code)
    assert script.LAST_CELL in code[-1]


@pytest.mark.parametrize("change", [{}, {"init": "torch", "all_images": True}])
def test_variant_refuses_no_change_or_two(change):
    with pytest.raises(ValueError, match="exactly one change"):
        _script().variant(**change)
