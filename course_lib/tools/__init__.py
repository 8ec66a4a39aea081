"""The machinery that runs, checks and grades the course: the `course` command and its pytest plugin.

Nothing in the teaching library (`course_lib` outside this folder) imports from here.
"""
