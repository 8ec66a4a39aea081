"""The README's figures that other files hold stay equal to them."""

import re
from pathlib import Path

from course_lib.tools import runner
from course_lib.tools.notebooks import CHECKOUT_NOTEBOOKS

README = CHECKOUT_NOTEBOOKS.parent / "README.md"


def hours_in_readme(text: str) -> float:
    """The total the README gives for the reference runs, in hours."""
    found = re.search(r"status\.json`: about ([\d.]+) hours in all", " ".join(text.split()))
    assert found, "README no longer states the reference runs' total time next to status.json"
    return float(found[1])


def test_the_readme_total_is_the_sum_of_the_reference_runs():
    total = sum(runner.reference_seconds(CHECKOUT_NOTEBOOKS).values()) / 3600
    assert abs(hours_in_readme(README.read_text()) - total) < 0.05, f"status.json adds up to {total:.2f} hours"


def test_a_wrong_total_is_caught(tmp_path: Path):
    total = sum(runner.reference_seconds(CHECKOUT_NOTEBOOKS).values()) / 3600
    wrong = README.read_text().replace(
        f"about {hours_in_readme(README.read_text())} hours", f"about {total + 1:.1f} hours"
    )
    assert abs(hours_in_readme(wrong) - total) >= 0.05
