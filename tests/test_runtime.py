"""Runtime defaults set before TensorFlow loads: the course's value, the user's value kept, the warning if too late."""

from __future__ import annotations

import subprocess
import sys


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {"PATH": "/usr/bin:/bin", **env}
    return subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)


def test_importing_course_lib_turns_onednn_on_and_quiets_the_cpp_log():
    out = _python(
        "import os, course_lib; print(os.environ['TF_ENABLE_ONEDNN_OPTS'], os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    )
    assert out.stdout.split() == ["1", "3"]


def test_a_value_the_user_set_is_kept():
    out = _python("import os, course_lib; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])", TF_ENABLE_ONEDNN_OPTS="0")
    assert out.stdout.strip() == "0"
    report = _python("from course_lib import runtime; print(runtime.speed_setting())", TF_ENABLE_ONEDNN_OPTS="0")
    assert report.stdout.startswith("oneDNN CPU kernels: off (TF_ENABLE_ONEDNN_OPTS=0;")


def test_with_the_variable_unset_the_report_says_what_tensorflow_chose_for_this_cpu():
    out = _python(
        "import tensorflow, warnings; warnings.simplefilter('ignore'); from course_lib import runtime; "
        "print(runtime.speed_setting())",
        TF_CPP_MIN_LOG_LEVEL="0",
    )
    tensorflow_says_on = "oneDNN custom operations are on" in out.stderr  # its own start-up line
    assert out.stdout.startswith(f"oneDNN CPU kernels: {'on' if tensorflow_says_on else 'off'} (")
    assert "TF_ENABLE_ONEDNN_OPTS=unset: TensorFlow decides by the CPU" in out.stdout


def test_tensorflow_imported_first_gets_a_warning_saying_what_to_do():
    out = _python(
        "import os, tensorflow, warnings; warnings.simplefilter('always'); import course_lib; "
        "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset'))"
    )
    assert "TensorFlow was imported before course_lib" in out.stderr and "Import course_lib first" in out.stderr
    assert out.stdout.split()[-1] == "unset", (
        "set after TensorFlow loaded, the variable would claim a setting not in force"
    )


def test_in_a_kernel_tensorflow_loads_without_its_start_up_lines_and_without_python_warnings():
    kernel = "import sys, types; sys.modules['ipykernel'] = types.ModuleType('ipykernel'); "
    quiet = _python(kernel + "import course_lib, tensorflow as tf; print(tf.get_logger().level)")
    assert "oneDNN custom operations" not in quiet.stderr and "absl" not in quiet.stderr
    assert quiet.stdout.split()[-1] == "40", "TensorFlow's Python logger is set to errors only"
    outside = _python("import course_lib, tensorflow")  # the course command and the tests see everything
    assert "oneDNN custom operations" in outside.stderr
