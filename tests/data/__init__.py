"""Tests of `course_lib.data`, one file per module (a package: its module names cannot clash with others)."""
