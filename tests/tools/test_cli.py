"""The `course` command itself: every subcommand answers --help."""

from __future__ import annotations

import pytest

from course_lib.tools import cli


def test_every_subcommand_has_help(capsys):
    for sub in ("run", "prepare-nbval", "promote", "release", "grade", "sweep"):
        with pytest.raises(SystemExit) as exit_:
            cli.main([sub, "--help"])
        assert exit_.value.code == 0 and f"usage: course {sub}" in capsys.readouterr().out
