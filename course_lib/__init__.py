"""Helpers for the image-classification course: data, runtime defaults, plots, theory references.

Importing `course_lib` (before TensorFlow) applies the course's CPU speed default:
oneDNN kernels on (`TF_ENABLE_ONEDNN_OPTS=1`) unless you set the variable yourself.
In a Jupyter kernel it then imports TensorFlow with its C++ start-up lines silenced.
See `course_lib.runtime`.
"""

from importlib.metadata import PackageNotFoundError, version

from course_lib.runtime import apply_defaults, import_tensorflow_quietly

apply_defaults()
import_tensorflow_quietly()

try:
    __version__ = version("course-lib")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "unknown"
