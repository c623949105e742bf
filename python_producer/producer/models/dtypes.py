"""A test model (no training) whose signatures exercise every dtype and shape rule of the contract.

It holds no learned weights: each output is a fixed, exactly defined function of its input, so
any difference between consumers is a codec or runtime difference, not numerics.

Signatures:

- ``serving_default``: one rank-1 ``[-1]`` input per dtype, aliases ``f16``, ``f32``, ``f64``,
  ``i8``, ``i16``, ``i32``, ``i64``, ``u8``, ``u16``, ``flag`` (bool), ``text`` (string);
  outputs ``<alias>_out`` of the same dtype and shape: floats ``x * -2``, integers ``~x``
  (bitwise invert, defined for every value), bool ``not x``, string ``x + "|" + x``; plus
  ``text_bytes`` (string, ``x`` reversed byte-wise, written as ``{"b64": ...}`` because of its
  ``_bytes`` suffix).
- ``matrix``: inputs ``a`` float32 ``[-1, 3]`` and ``b`` float64 ``[-1]``; outputs
  ``scaled`` float64 ``[-1, 3]`` (``a * b``), ``total`` float64 ``[-1]`` (row sums of
  ``scaled``) and ``argmax`` int64 ``[-1]``: several inputs of different rank and dtype,
  several outputs.
- ``scalars``: inputs ``a`` float32 ``[]`` and ``n`` int64 ``[]``; outputs ``sum`` float64
  ``[]`` and ``n_squared`` int64 ``[]`` (columnar format only: row format needs a batch
  dimension).
- ``unknown_rank``: input ``x`` float32 of unknown rank; output ``y = x * 3`` (same shape).
- ``half_matrix``: input ``x`` float16 ``[-1, 2]``; output ``y`` float16 ``[-1, 2]`` (``x @
  [[1, 2], [3, 4]]`` in float16).
"""

from __future__ import annotations

from dataclasses import dataclass

from python_producer import tf_runtime
from python_producer.producer.export import CommandRunner, ExportWriter

#: alias -> TensorFlow dtype name of the ``serving_default`` inputs.
SCALAR_DTYPES = {
    "f16": "float16",
    "f32": "float32",
    "f64": "float64",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "flag": "bool",
    "text": "string",
}


@dataclass(frozen=True)
class DTypesConfig:
    """No training; ``epochs`` and ``seed`` exist only for the zoo's common interface."""

    epochs: int = 0
    seed: int = 0


def build_module():
    """Return the ``tf.Module`` holding every signature (see the module docstring)."""
    tf = tf_runtime.tf()

    def spec(alias, dtype, shape):
        return tf.TensorSpec(shape, getattr(tf, dtype), name=alias)

    class DTypesModel(tf.Module):
        """Exact functions of every dtype; no variables but one, for the checkpoint."""

        def __init__(self):
            super().__init__(name="dtypes")
            self.half_weights = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float16)

        @tf.function(input_signature=[spec(a, d, [None]) for a, d in SCALAR_DTYPES.items()])
        def every_dtype(self, f16, f32, f64, i8, i16, i32, i64, u8, u16, flag, text):
            out = {f"{a}_out": x * -2 for a, x in (("f16", f16), ("f32", f32), ("f64", f64))}
            for alias, x in (("i8", i8), ("i16", i16), ("i32", i32), ("i64", i64), ("u8", u8),
                             ("u16", u16)):  # fmt: skip
                out[f"{alias}_out"] = tf.bitwise.invert(x)
            out["flag_out"] = tf.logical_not(flag)
            out["text_out"] = tf.strings.join([text, text], separator="|")
            out["text_bytes"] = tf.strings.reduce_join(
                tf.reverse(tf.strings.bytes_split(text), axis=[1]), axis=1
            )
            return out

        @tf.function(
            input_signature=[spec("a", "float32", [None, 3]), spec("b", "float64", [None])]
        )
        def matrix(self, a, b):
            scaled = tf.cast(a, tf.float64) * b[:, None]
            return {
                "scaled": scaled,
                "total": tf.reduce_sum(scaled, axis=1),
                "argmax": tf.argmax(scaled, axis=1),
            }

        @tf.function(input_signature=[spec("a", "float32", []), spec("n", "int64", [])])
        def scalars(self, a, n):
            return {"sum": tf.cast(a, tf.float64) + tf.cast(n, tf.float64), "n_squared": n * n}

        @tf.function(input_signature=[spec("x", "float32", None)])
        def unknown_rank(self, x):
            return {"y": x * 3.0}

        @tf.function(input_signature=[spec("x", "float16", [None, 2])])
        def half_matrix(self, x):
            return {"y": tf.matmul(x, self.half_weights)}

    return DTypesModel()


def golden_requests() -> dict[str, dict | str]:
    """Edge values of every dtype, in row and columnar format, for every signature."""
    every = {
        "f16": [0.0, -0.0, 1.0, 65504.0, 6e-08, 0.1, 1e-4, 2049.0],
        "f32": [1.5, -2.75, 3.4028234663852886e38, 1e-45, 0.1, 16777217.0, -0.0, 7.0],
        "f64": [0.1, -1e-300, 1.7976931348623157e308, 5e-324, 2.0, -3.0, 123456.789, 0.0],
        "i8": [-128, 127, 0, -1, 1, 5, -7, 100],
        "i16": [-32768, 32767, 0, -1, 1, 300, -300, 12345],
        "i32": [-2147483648, 2147483647, 0, -1, 1, 65536, -65536, 7],
        "i64": [-9223372036854775808, 9223372036854775807, 9007199254740993, -9007199254740993,
                0, 1, -1, 4611686018427387904],
        "u8": [0, 255, 1, 128, 127, 2, 3, 4],
        "u16": [0, 65535, 1, 32768, 32767, 2, 3, 4],
        "flag": [True, False, True, True, False, False, True, False],
        "text": ["", "ascii", "caf\u00e9", "\u65e5\u672c\u8a9e", {"b64": "/wD+"}, "a|b",
                 "tab\there", "\U0001f600"],
    }  # fmt: skip
    columnar = {alias: values[:4] for alias, values in every.items()}
    return {
        "every_dtype_rows": {
            "instances": [{alias: values[i] for alias, values in every.items()} for i in range(8)]
        },
        "every_dtype_columnar": {"inputs": columnar},
        "float_specials": (
            '{"inputs": {"f16": [NaN, Infinity, -Infinity, 65519.99], '
            '"f32": [NaN, Infinity, -Infinity, 1e-46], '
            '"f64": [NaN, Infinity, -Infinity, 1e-400], '
            '"i8": [0, 0, 0, 0], "i16": [0, 0, 0, 0], "i32": [0, 0, 0, 0], '
            '"i64": [0, 0, 0, 0], "u8": [0, 0, 0, 0], "u16": [0, 0, 0, 0], '
            '"flag": [true, true, false, false], "text": ["", "", "", ""]}}'
        ),
        "matrix_rows": {
            "signature_name": "matrix",
            "instances": [
                {"a": [1.0, 2.0, 3.0], "b": 0.5},
                {"a": [-1.0, 0.1, 1e30], "b": -2.0},
                {"a": [7.0, 7.0, 7.0], "b": 1e-10},
            ],
        },
        "matrix_columnar": {
            "signature_name": "matrix",
            "inputs": {"a": [[0.25, 0.5, 0.75]], "b": [3.0]},
        },
        "scalars": {"signature_name": "scalars", "inputs": {"a": 0.1, "n": 3037000499}},
        "unknown_rank_rank3_rows": {
            "signature_name": "unknown_rank",
            "instances": [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]],
        },
        "unknown_rank_scalar_columnar": {"signature_name": "unknown_rank", "inputs": 0.1},
        "unknown_rank_rank1_columnar": {
            "signature_name": "unknown_rank",
            "inputs": {"x": [1.0, -2.5, 1e38]},
        },
        "half_matrix": {
            "signature_name": "half_matrix",
            "instances": [[1.0, 0.5], [0.1, 0.2], [1000.0, 10000.0], [-0.0, 6e-08]],
        },
        # Signed zeros in every float dtype, as inputs and as computed outputs: x * -2 turns
        # 0.0 into -0.0 and -0.0 into 0.0; a negative row times a zero is -0.0 (float64), while
        # TensorFlow's sum of such a row, and -0.0 @ M in float16, are +0.0 (the reduction
        # starts from +0.0).
        "signed_zeros": {
            "inputs": {
                "f16": [-0.0, 0.0, -6e-08, 1.0],
                "f32": [-0.0, 0.0, -1e-45, 1.0],
                "f64": [-0.0, 0.0, -5e-324, 1.0],
                **{a: [0, 0, 0, 0] for a in ("i8", "i16", "i32", "i64", "u8", "u16")},
                "flag": [False, False, False, False],
                "text": ["", "", "", ""],
            }
        },
        "matrix_signed_zeros": {
            "signature_name": "matrix",
            "instances": [
                {"a": [-0.73645407, -0.16290995, -0.48211932], "b": 0.0},
                {"a": [0.88253897, 0.58035004, -1.4628890], "b": -0.0},
                {"a": [-0.0, 0.0, -0.0], "b": -1.0},
                {"a": [-0.0, -0.0, -0.0], "b": 2.0},
            ],
        },
        "half_matrix_signed_zeros": {
            "signature_name": "half_matrix",
            "inputs": {"x": [[-0.0, -0.0], [0.0, -0.0], [-6e-08, 0.0]]},
        },
    }


def export(models_dir, config: DTypesConfig, run_command: CommandRunner) -> str:
    """Publish the next version of ``models_dir/dtypes`` (nothing to train)."""
    module = build_module()
    with ExportWriter(models_dir, "dtypes", run_command) as writer:
        print(f"exporting dtypes -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        tf = tf_runtime.tf()
        with tf.summary.create_file_writer(str(writer.path / "summaries")).as_default(step=0):
            tf.summary.text("signatures", __doc__.split("Signatures:")[1].strip())
        writer.save_model(
            module,
            {
                "serving_default": module.every_dtype.get_concrete_function(),
                "matrix": module.matrix.get_concrete_function(),
                "scalars": module.scalars.get_concrete_function(),
                "unknown_rank": module.unknown_rank.get_concrete_function(),
                "half_matrix": module.half_matrix.get_concrete_function(),
            },
            {"model": module},
        )
        writer.write_golden(golden_requests())
        return str(writer.publish())
