"""`python -m course_lib.tools` is the `course` command."""

import sys

from course_lib.tools.cli import main

sys.exit(main())
