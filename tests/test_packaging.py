"""Packaging: the lock file pins every dependency within pyproject's ranges; one version; one command."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import course_lib

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _locked() -> dict[str, str]:
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def test_lock_pins_every_dependency_within_its_range():
    locked = _locked()
    extras = [text for group in PROJECT["optional-dependencies"].values() for text in group]
    for text in PROJECT["dependencies"] + extras:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(locked[name]), f"{name}=={locked[name]} is outside {requirement}"


def test_version_comes_from_the_package_metadata():
    assert course_lib.__version__ == importlib.metadata.version("course-lib") == PROJECT["version"]


def test_the_course_command_is_declared():
    assert PROJECT["scripts"]["course"] == "course_lib.tools.cli:main"


def test_no_teaching_module_imports_the_machinery():
    lessons = [p for p in (ROOT / "course_lib").rglob("*.py") if "tools" not in p.relative_to(ROOT).parts]
    offenders = [str(p.relative_to(ROOT)) for p in lessons if "course_lib.tools" in p.read_text()]
    assert offenders == []
