"""Lazy access to TensorFlow, so the codec and the CLI's argument checks start fast.

TensorFlow 2.21's native library logs through absl before absl is initialised, which ignores
``TF_CPP_MIN_LOG_LEVEL``; so :func:`quiet_native_stderr` points file descriptor 2 at
``/dev/null`` and keeps Python's ``sys.stderr`` on a duplicate of the original, so that stderr
carries only this program's messages (tests/CONTRACT.md, "Command line").  Set
``POLYGLOT_NATIVE_LOG=1`` to keep TensorFlow's native log lines.
"""

from __future__ import annotations

import os
import sys
from functools import cache

#: The TensorFlow version the whole project is pinned to (Python, Go and Java).
PINNED_TF_VERSION = "2.21.0"


def quiet_native_stderr() -> None:
    """Send native (C/C++) writes to fd 2 to ``/dev/null``; Python's ``sys.stderr`` keeps working.

    Does nothing when ``POLYGLOT_NATIVE_LOG=1`` or when fd 2 was already redirected.
    """
    if os.environ.get("POLYGLOT_NATIVE_LOG") == "1" or getattr(quiet_native_stderr, "done", False):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    quiet_native_stderr.done = True


def set_environment() -> None:
    """Put the contract's TensorFlow settings into the environment unless already set.

    They take effect only if set before ``tensorflow`` is first imported, by any module (for
    example ``tensorflow_serving``): native logging off, and the contract's numeric
    configuration (tests/CONTRACT.md, "Runtime"), oneDNN's fused kernels off, so that a
    SavedModel and its frozen graph give the same bits.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@cache
def tf():
    """Import and return the ``tensorflow`` module with its logging silenced."""
    set_environment()
    import tensorflow

    tensorflow.get_logger().setLevel("ERROR")
    # The contract's numeric configuration for function calls (tests/CONTRACT.md, "Runtime").
    tensorflow.config.optimizer.set_experimental_options({"constant_folding": False})
    return tensorflow


def session_config(intra_op_threads: int = 0, inter_op_threads: int = 0):
    """Return the ``tf.compat.v1.ConfigProto`` every session of this project is made with.

    Grappler's constant folding is off (tests/CONTRACT.md, "Runtime": it rewrites ``x / c``
    into ``x * (1 / c)`` where ``c`` is constant, which differs between a function call, a
    SavedModel session and a frozen graph); every other option is TensorFlow's default.

    Args:
        intra_op_threads, inter_op_threads: ``intra_op_parallelism_threads`` and
            ``inter_op_parallelism_threads``; 0 leaves the choice to TensorFlow.
    """
    tensorflow = tf()
    from tensorflow.core.protobuf import rewriter_config_pb2

    config = tensorflow.compat.v1.ConfigProto(
        intra_op_parallelism_threads=intra_op_threads,
        inter_op_parallelism_threads=inter_op_threads,
    )
    config.graph_options.rewrite_options.constant_folding = rewriter_config_pb2.RewriterConfig.OFF
    return config


def tf_version() -> str:
    """Return the version of the TensorFlow runtime actually loaded, e.g. ``2.21.0``."""
    return tf().__version__


def saved_model_pb2():
    """Return ``tensorflow.core.protobuf.saved_model_pb2`` (SavedModel, MetaGraphDef protos)."""
    tf()
    from tensorflow.core.protobuf import saved_model_pb2 as module

    return module


def meta_graph_pb2():
    """Return ``tensorflow.core.protobuf.meta_graph_pb2`` (MetaGraphDef, SignatureDef protos)."""
    tf()
    from tensorflow.core.protobuf import meta_graph_pb2 as module

    return module


def types_pb2():
    """Return ``tensorflow.core.framework.types_pb2`` (the ``DataType`` enum)."""
    tf()
    from tensorflow.core.framework import types_pb2 as module

    return module


def dtype_enum(name: str) -> int:
    """Return the ``DataType`` enum value for a name such as ``DT_DOUBLE``."""
    return types_pb2().DataType.Value(name)
