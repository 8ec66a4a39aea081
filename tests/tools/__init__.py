"""Tests of `course_lib.tools`, one file per subsystem (a package: its module names cannot clash with others)."""
