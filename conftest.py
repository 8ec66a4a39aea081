"""pytest settings shared by the unit tests and nbval's notebook items."""

pytest_plugins = ["course_lib.nbval_plugin"]
