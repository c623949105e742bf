"""Golden requests for a model nobody wrote requests for: generated from a signature's specs.

tests/CONTRACT.md, "Importing a model": for each signature, with a seed, three requests in TF
Serving's columnar REST format (``{"signature_name": KEY, "inputs": {ALIAS: ...}}``):

- ``generated_<key>_batch_1`` (``<key>`` with every character outside ``[A-Za-z0-9_-]``
  written ``_``) and ``generated_<key>_batch_<BATCH>``: a leading unknown dimension
  (the batch) of 1 and of :data:`BATCH`; every other unknown dimension is :data:`FILL`. Values
  are seeded: floats normal with deviation 1, signed integers in [-3, 3], unsigned ones in
  [0, 3], booleans fair coin flips.
- ``generated_<key>_edges``: batch :data:`BATCH`, every element taken in turn from the dtype's
  edge values (:func:`edge_values`): for floats ±0.0, the smallest subnormal, the smallest
  normal, ±1, the largest finite magnitude; for integers the minimum, -1, 0, 1 and the maximum.

A string input (an encoded image, a token) or an input of unknown rank cannot be generated
meaningfully: :func:`generate` raises for it, and the import needs ``--requests``.
"""

from __future__ import annotations

import json
import re

import numpy as np

from python_producer.reference.status import StatusError
from python_producer.reference.tfjson import (
    FLOAT_DTYPES,
    INT_DTYPES,
    TensorSpec,
    tensor_to_json,
)

#: The batch size of the larger generated requests.
BATCH = 4
#: The size given to every unknown dimension other than a leading batch dimension.
FILL = 3


def edge_values(dtype: str) -> np.ndarray:
    """The edge cases of a DataType (``DT_FLOAT``...) as a 1-D array of that dtype.

    Raises:
        StatusError: a DataType without generated values (``DT_STRING``, ``DT_COMPLEX64``...).
    """
    if dtype in FLOAT_DTYPES:
        kind = FLOAT_DTYPES[dtype]
        info = np.finfo(kind)
        tiny = info.smallest_subnormal
        values = [0.0, -0.0, tiny, -tiny, info.smallest_normal, 1.0, -1.0, info.max, -info.max]
        return np.array(values, dtype=kind)
    if dtype in INT_DTYPES:
        kind = INT_DTYPES[dtype]
        info = np.iinfo(kind)
        values = sorted({int(info.min), -1 if info.min < 0 else 0, 0, 1, int(info.max)})
        return np.array(values, dtype=kind)
    if dtype == "DT_BOOL":
        return np.array([False, True])
    raise StatusError(f"{dtype} values cannot be generated")


def _shape(spec: TensorSpec, batch: int) -> tuple[int, ...]:
    return tuple(
        (batch if i == 0 else FILL) if d < 0 else d for i, d in enumerate(spec.shape or ())
    )


def _random(spec: TensorSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if spec.dtype in FLOAT_DTYPES:
        return rng.standard_normal(shape).astype(FLOAT_DTYPES[spec.dtype])
    if spec.dtype in INT_DTYPES:
        kind = INT_DTYPES[spec.dtype]
        low = -3 if np.iinfo(kind).min < 0 else 0
        return rng.integers(low, 4, size=shape).astype(kind)
    return rng.random(shape) < 0.5


def _edges(spec: TensorSpec, shape: tuple[int, ...], offset: int) -> np.ndarray:
    values = edge_values(spec.dtype)
    count = int(np.prod(shape, dtype=np.int64))
    return np.resize(np.roll(values, -offset), count).reshape(shape)


def check_generatable(key: str, inputs: dict[str, TensorSpec]) -> None:
    """Raise :class:`StatusError` naming the first input of ``key`` that cannot be generated."""
    for alias, spec in sorted(inputs.items()):
        if spec.shape is None:
            raise StatusError(
                f'signature "{key}" input "{alias}" has unknown rank, so its requests cannot '
                "be generated; give example requests with --requests FILE"
            )
        if (
            spec.dtype not in FLOAT_DTYPES
            and spec.dtype not in INT_DTYPES
            and (spec.dtype != "DT_BOOL")
        ):
            raise StatusError(
                f'signature "{key}" input "{alias}" is {spec.dtype}, whose values cannot be '
                "generated meaningfully; give example requests with --requests FILE"
            )


def generate(key: str, inputs: dict[str, TensorSpec], seed: int) -> dict[str, str]:
    """Return ``{case name: request body}`` for signature ``key`` with input specs ``inputs``.

    Args:
        key: the signature key (written as ``signature_name``).
        inputs: the signature's input specs by alias (dtype, shape with -1 for unknown dims).
        seed: seeds numpy's ``default_rng`` for this signature.

    Raises:
        StatusError: an input that cannot be generated (see :func:`check_generatable`).
    """
    check_generatable(key, inputs)
    rng = np.random.default_rng(seed)
    aliases = sorted(inputs)
    stem = "generated_" + re.sub(r"[^A-Za-z0-9_-]", "_", key)
    cases = {}
    for batch in (1, BATCH):
        values = {a: _random(inputs[a], _shape(inputs[a], batch), rng) for a in aliases}
        cases[f"{stem}_batch_{batch}"] = _body(key, values)
    edges = {a: _edges(inputs[a], _shape(inputs[a], BATCH), i) for i, a in enumerate(aliases)}
    cases[f"{stem}_edges"] = _body(key, edges)
    return cases


def _body(key: str, values: dict[str, np.ndarray]) -> str:
    parts = ", ".join(f"{json.dumps(a)}: {tensor_to_json(v, a)}" for a, v in values.items())
    return f'{{"signature_name": {json.dumps(key)}, "inputs": {{{parts}}}}}'
