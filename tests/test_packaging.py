"""environment.yml and pyproject.toml must name the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {r.strip() for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    pip_section = re.findall(r"^\s+- (.+)$", (ROOT / "environment.yml").read_text().split("- pip:")[1], re.MULTILINE)
    listed = {r.strip() for r in pip_section if not r.startswith("-e")}
    assert {_name(r) for r in listed} == {_name(r) for r in wanted}
    assert listed == wanted, "the version bounds differ too"
