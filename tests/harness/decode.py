"""The harness's own reader of predict responses, apart from the reference consumer it judges.

A response (tests/CONTRACT.md, "Request and response bodies") is read with the standard
``json`` module, numbers kept as their literal text, and turned into numpy arrays of the output
dtypes: a float literal is rounded once, exactly, to its dtype (Python's ``float`` for float64;
for float32 and float16 the nearest value by exact rational comparison, ties to even), an
integer literal is read exactly and checked against its dtype's range, strings become bytes
(``{"b64": ...}`` decoded). Anything else raises :class:`ResponseError`.
"""

from __future__ import annotations

import base64
import json
from fractions import Fraction

import numpy as np

#: DataType name -> numpy dtype, for the dtypes a response may hold.
NUMPY_DTYPES = {
    "DT_HALF": np.float16,
    "DT_FLOAT": np.float32,
    "DT_DOUBLE": np.float64,
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_UINT16": np.uint16,
    "DT_UINT32": np.uint32,
    "DT_UINT64": np.uint64,
    "DT_BOOL": np.bool_,
    "DT_STRING": object,
}
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class ResponseError(ValueError):
    """A body that is not a predict response for the given output dtypes."""


class _Literal(str):
    """A JSON number kept as its text."""


def _dtype_of(spec) -> str:
    return spec if isinstance(spec, str) else spec.dtype


def _round(literal: str, np_type: type) -> np.floating:
    """The value of ``np_type`` nearest the decimal ``literal`` (ties to even)."""
    if literal in _NON_FINITE:
        return np_type(_NON_FINITE[literal])
    with np.errstate(over="ignore"):
        guess = np_type(float(literal))  # within one step of the answer (double rounding)
    if np_type is np.float64 or not np.isfinite(guess):
        return guess
    exact = Fraction(literal)
    bits = np.uint16 if np_type is np.float16 else np.uint32
    candidates = [
        np.nextafter(guess, np_type(-np.inf)),
        guess,
        np.nextafter(guess, np_type(np.inf)),
    ]
    finite = [c for c in candidates if np.isfinite(c)]
    return min(finite, key=lambda c: (abs(Fraction(float(c)) - exact), int(c.view(bits)) % 2))


def _leaf(value, dtype: str, alias: str):
    kind = NUMPY_DTYPES[dtype]
    if dtype == "DT_STRING":
        if isinstance(value, str) and not isinstance(value, _Literal):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"}:
            return base64.b64decode(value["b64"], validate=True)
        raise ResponseError(f"output {alias}: {value!r} is not a string")
    if dtype == "DT_BOOL":
        if isinstance(value, bool):
            return value
        raise ResponseError(f"output {alias}: {value!r} is not true/false")
    if not isinstance(value, _Literal):
        raise ResponseError(f"output {alias}: {value!r} is not a number")
    if np.dtype(kind).kind == "f":
        return _round(value, kind)
    if any(c in value for c in ".eE") or value in _NON_FINITE:
        raise ResponseError(f"output {alias}: {value} is not an integer")
    number, info = int(value), np.iinfo(kind)
    if not info.min <= number <= info.max:
        raise ResponseError(f"output {alias}: {value} is out of range for {dtype}")
    return number


def _shape(value) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _tensor(value, dtype: str, alias: str) -> np.ndarray:
    shape = _shape(value)
    flat: list = []

    def walk(v, depth: int) -> None:
        if depth == len(shape):
            if isinstance(v, list):
                raise ResponseError(f"output {alias}: ragged nested lists")
            flat.append(_leaf(v, dtype, alias))
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            raise ResponseError(f"output {alias}: ragged nested lists")
        for item in v:
            walk(item, depth + 1)

    walk(value, 0)
    kind = NUMPY_DTYPES[dtype]
    array = np.empty(len(flat), dtype=kind)
    for i, item in enumerate(flat):
        array[i] = item
    return array.reshape(shape)


def decode_response(body: bytes | str, specs: dict) -> dict[str, np.ndarray]:
    """Read a predict response into ``{alias: array}`` with the output dtypes of ``specs``.

    Args:
        body: the response, ``{"predictions": ...}`` or ``{"outputs": ...}``.
        specs: output alias -> its DataType name (or an object with a ``dtype`` attribute).

    Raises:
        ResponseError: not JSON, not such a response, a missing or extra output, or a value
            that does not fit its dtype.
    """
    try:
        doc = json.loads(body, parse_float=_Literal, parse_int=_Literal, parse_constant=_Literal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResponseError(f"not JSON: {exc}") from None
    if (
        not isinstance(doc, dict)
        or len(doc) != 1
        or next(iter(doc)) not in ("predictions", "outputs")
    ):
        raise ResponseError("not a predict response")
    ((key, value),) = doc.items()
    dtypes = {alias: _dtype_of(spec) for alias, spec in specs.items()}
    if len(dtypes) == 1:
        ((alias, dtype),) = dtypes.items()
        return {alias: _tensor(value, dtype, alias)}
    if key == "outputs":
        if not isinstance(value, dict) or set(value) != set(dtypes):
            raise ResponseError(f"outputs are not {sorted(dtypes)}")
        return {a: _tensor(value[a], d, a) for a, d in dtypes.items()}
    if not isinstance(value, list) or not all(
        isinstance(r, dict) and set(r) == set(dtypes) for r in value
    ):
        raise ResponseError(f"predictions are not rows of {sorted(dtypes)}")
    return {a: _tensor([row[a] for row in value], d, a) for a, d in dtypes.items()}


def output_dtypes(manifest: dict, signature: str, model_format: str) -> dict[str, str]:
    """Output alias -> DataType name of a signature's ``saved_model`` or ``frozen`` entry."""
    entry = manifest["signatures"][signature][model_format]
    return {alias: e["dtype"] for alias, e in entry["outputs"].items()}
