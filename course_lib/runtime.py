"""Runtime defaults (set before TensorFlow is imported) and a report of the environment.

`TF_ENABLE_ONEDNN_OPTS=1`: oneDNN kernels made the course's CNN training 1.45-1.8x faster
on a 2-core AMD Zen 3 CPU, where TensorFlow leaves them off by default. Set the variable
to 0 before importing course_lib to turn it off. `TF_CPP_MIN_LOG_LEVEL=3` hides
TensorFlow's C++ log lines, which otherwise clutter notebook outputs.
"""

from __future__ import annotations

import os
import platform
import sys
import warnings

ONEDNN = "TF_ENABLE_ONEDNN_OPTS"
DEFAULTS = {ONEDNN: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def apply_defaults() -> None:
    """Set the course's TensorFlow environment defaults, keeping any value the user set.

    Once TensorFlow is loaded the oneDNN variable is left alone (too late to matter, and
    `speed_setting` would report a setting that is not in force).
    """
    too_late = "tensorflow" in sys.modules and ONEDNN not in os.environ
    if too_late:
        warnings.warn(
            "TensorFlow was imported before course_lib, so the oneDNN speed default cannot take effect. "
            "Import course_lib first (or set TF_ENABLE_ONEDNN_OPTS=1 before starting Python).",
            stacklevel=3,
        )
    for name, value in DEFAULTS.items():
        if not (too_late and name == ONEDNN):
            os.environ.setdefault(name, value)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr closed, in a Jupyter kernel only.

    TensorFlow 2.19+ writes its absl start-up lines from C++ at import time, straight to file
    descriptor 2 and whatever `TF_CPP_MIN_LOG_LEVEL` says; a notebook would keep them as a stderr
    output. Its Python logger is set to errors only, which drops advice such as "tf.function
    retracing" (normal when a notebook builds one model after another). Outside a kernel nothing
    changes (the course command and the tests see everything as usual).
    """
    if "tensorflow" in sys.modules or "ipykernel" not in sys.modules:
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    tensorflow.get_logger().setLevel("ERROR")


def onednn_enabled() -> bool:
    """True if TensorFlow's oneDNN CPU kernels are switched on for this process.

    Once TensorFlow is loaded this is its own answer: with the variable unset it decides by the
    CPU (on for CPUs with AVX-512 VNNI/BF16 or AMX, off on the others). Before, the variable says.
    """
    if "tensorflow" in sys.modules:
        from tensorflow.python.util import _pywrap_util_port  # what TensorFlow decided; no public API says

        return bool(_pywrap_util_port.IsMklEnabled())
    return os.environ.get(ONEDNN, "") == "1"


def speed_setting() -> str:
    """One line saying whether oneDNN is on, and how to change it."""
    value = os.environ.get(ONEDNN, "unset: TensorFlow decides by the CPU")
    state = "on" if onednn_enabled() else "off"
    return f"oneDNN CPU kernels: {state} ({ONEDNN}={value}; course default 1, set it before importing course_lib)"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (via Keras) so a run repeats exactly on the same machine."""
    import keras

    keras.utils.set_random_seed(seed)


def environment_report() -> dict[str, str]:
    """Versions, hardware and settings a student needs to check before starting."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu cores": str(os.cpu_count()),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": ", ".join(g.name for g in gpus) or "none (CPU only)",
        "speed": speed_setting(),
    }
