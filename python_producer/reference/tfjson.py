"""TensorFlow Serving REST predict JSON <-> numpy tensors, exactly as tests/CONTRACT.md defines.

The format is TF Serving's REST API (https://www.tensorflow.org/tfx/serving/api_rest): row format
(``instances``) and columnar format (``inputs``), ``{"b64": ...}`` for binary strings, bare
``NaN``/``Infinity``/``-Infinity`` tokens.  This module is pure numpy (no TensorFlow import) so
the harness can use it to compare responses by value bits.

Every refusal raises :class:`StatusError` with a one-line message that names what was wrong and
what the signature expects.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import sys
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from python_producer.reference.status import StatusError, excerpt


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a signature.

    Attributes:
        alias: the key in the SignatureDef's ``inputs``/``outputs`` map.
        name: the graph tensor name, e.g. ``serving_default_x:0``.
        dtype: the ``DataType`` enum name, e.g. ``DT_DOUBLE``.
        shape: dims with ``-1`` for unknown, or ``None`` for unknown rank.
    """

    alias: str
    name: str
    dtype: str
    shape: tuple[int, ...] | None

    def to_json(self) -> dict:
        """Return ``{"dtype", "shape", "name"}`` (manifest.json and ``inspect --json``)."""
        return {
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
            "name": self.name,
        }

    def describe(self) -> str:
        """Return ``alias (DT_X, shape [..])`` for error messages."""
        return f"{self.alias} ({self.dtype}, shape {format_shape(self.shape)})"


FLOAT_DTYPES = {"DT_HALF": np.float16, "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64}
INT_DTYPES = {
    "DT_INT8": np.int8,
    "DT_INT16": np.int16,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_UINT8": np.uint8,
    "DT_UINT16": np.uint16,
    "DT_UINT32": np.uint32,
    "DT_UINT64": np.uint64,
}
SUPPORTED_DTYPES = {**FLOAT_DTYPES, **INT_DTYPES, "DT_BOOL": np.bool_, "DT_STRING": np.object_}

_INT_LITERAL = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonNumber(str):
    """A JSON number kept as its literal text, so it can be rounded once to the target dtype."""


def first_line(exc: BaseException) -> str:
    """The first non-blank line of an exception's text, stripped; its type's name if none."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    return lines[0] if lines else type(exc).__name__


def format_shape(shape: tuple[int, ...] | None) -> str:
    """Format a shape for messages: ``[-1, 2]``, or ``unknown rank``."""
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join(str(d) for d in shape) + "]"


#: The deepest nesting of arrays and objects a body may have (the top-level value is level 1);
#: Jackson's default ``maxNestingDepth`` (tests/CONTRACT.md, "Limits").
MAX_DEPTH = 1000
#: The default of ``--max-request-bytes``: 64 MiB, TF Serving's REST default body limit.
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024


def _depth(doc: object) -> int:
    """Nesting depth of arrays and objects in a parsed document, found without recursion."""
    deepest = 0
    stack = [(doc, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, list):
            children = value
        elif isinstance(value, dict):
            children = value.values()
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, list | dict))
    return deepest


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _too_deep() -> StatusError:
    return StatusError(f"invalid JSON: nesting deeper than {MAX_DEPTH} levels")


#: The longest number literal a body may hold (tests/CONTRACT.md, "Limits").
MAX_NUMBER_CHARS = 100_000


def _number(literal: str) -> JsonNumber:
    if len(literal) > MAX_NUMBER_CHARS:
        raise StatusError(
            f"invalid JSON: a number literal of {len(literal)} characters is longer than the "
            f"limit of {MAX_NUMBER_CHARS}"
        )
    return JsonNumber(literal)


def loads(text: str | bytes) -> object:
    """Parse JSON keeping every number as a :class:`JsonNumber` literal.

    The nesting limit :data:`MAX_DEPTH` is enforced with the interpreter's recursion limit
    (``json``'s C scanner counts each array and object against it) raised just enough to
    parse 1000 levels, so that no body can exhaust the stack, and checked exactly afterwards.

    Raises:
        StatusError: the text is not one valid JSON value, is not UTF-8, or nests deeper
            than :data:`MAX_DEPTH`.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StatusError(f"invalid JSON: body is not valid UTF-8 ({exc.reason})") from None
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + MAX_DEPTH + 50)
    try:
        doc = json.loads(
            text,
            parse_float=_number,
            parse_int=_number,
            parse_constant=JsonNumber,
        )
    except json.JSONDecodeError as exc:
        raise StatusError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _too_deep() from None
    finally:
        sys.setrecursionlimit(limit)
    if _depth(doc) > MAX_DEPTH:
        raise _too_deep()
    _refuse_lone_surrogates(text)
    return doc


#: A ``\\uXXXX`` escape of U+D800–U+DFFF that is an escape (after an even run of backslashes).
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u([dD][89a-fA-F][0-9a-fA-F]{2})")


def _refuse_lone_surrogates(text: str) -> None:
    """Refuse a surrogate escape that is not a high one followed at once by a low one
    (tests/CONTRACT.md, "Limits": RFC 8259 §8.2), in body order. ``text`` is valid JSON, so
    backslashes only occur inside strings."""
    if "\\u" not in text:
        return
    matches = list(_SURROGATE_ESCAPE.finditer(text))
    i = 0
    while i < len(matches):
        unit = int(matches[i].group(1), 16)
        following = matches[i + 1] if i + 1 < len(matches) else None
        if (
            unit < 0xDC00
            and following is not None
            and following.end() - 6 == matches[i].end()
            and int(following.group(1), 16) >= 0xDC00
        ):
            i += 2
            continue
        raise StatusError(
            f"invalid JSON: a string holds a lone surrogate escape \\u{unit:04X}; a \\u escape "
            "of U+D800-U+DFFF must be a high surrogate followed by a low one"
        )


# --- decoding -------------------------------------------------------------------------------


_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?)([0-9]+))?\Z")
#: Significant digits kept of a long literal (plus one sticky digit): more than the 767 that
#: deciding a float64 tie can need, so rounding is unchanged.
_KEPT_DIGITS = 800
#: Decimal exponents beyond which every float dtype overflows or rounds to zero.
_EXP_OVERFLOW, _EXP_UNDERFLOW = 310, -330


def _bounded_literal(literal: str) -> str | float:
    """Rewrite a JSON number as ``[-]0.DIGITSeN`` with at most :data:`_KEPT_DIGITS` + 1
    significant digits, or return ``±inf`` / ``±0.0`` when its exponent alone decides it, so
    that parsing it takes time linear in its length (tests/CONTRACT.md, "Values")."""
    match = _NUMBER.match(literal)
    if match is None:  # not a JSON number: let float() refuse it
        return literal
    sign, whole, fraction, exp_sign, exp_digits = match.groups()
    digits = whole + (fraction or "")
    significant = digits.lstrip("0")
    negative = -1.0 if sign else 1.0
    if not significant:
        return negative * 0.0
    exp_digits = (exp_digits or "0").lstrip("0") or "0"
    if len(exp_digits) > 6:
        return negative * (0.0 if exp_sign == "-" else math.inf)
    exponent = int(exp_digits) * (-1 if exp_sign == "-" else 1)
    # value = 0.SIGNIFICANT * 10**scale
    scale = exponent + len(whole) - (len(digits) - len(significant))
    if scale > _EXP_OVERFLOW:
        return negative * math.inf
    if scale < _EXP_UNDERFLOW:
        return negative * 0.0
    significant = significant.rstrip("0")
    if len(significant) > _KEPT_DIGITS:
        significant = significant[:_KEPT_DIGITS] + "1"  # the rest is not zero: a sticky digit
    return f"{sign}0.{significant}e{scale}"


def _round_to_float(literal: str, np_type: type) -> np.floating:
    """Round a decimal literal directly to ``np_type`` (round-half-even), never via another width.

    float64 uses Python's correctly rounded ``float()``.  Narrower types start from the float64
    value and settle the rare double-rounding case with exact rational arithmetic.  A magnitude
    at or beyond ``max + ulp(max) / 2`` rounds to infinity, as IEEE 754 overflow does.  The
    literal is first bounded by :func:`_bounded_literal`.
    """
    bounded = _bounded_literal(literal)
    if isinstance(bounded, float):
        return np_type(bounded)
    literal = bounded
    wide = float(literal)
    if np_type is np.float64:
        return np.float64(wide)
    exact = Fraction(literal)
    if exact == 0:
        return np_type(wide)  # keeps the sign of -0.0
    sign = -1 if exact < 0 else 1
    magnitude = abs(exact)
    finfo = np.finfo(np_type)
    top = finfo.max
    limit = (
        Fraction(float(top))
        + (Fraction(float(top)) - Fraction(float(np.nextafter(top, np_type(0))))) / 2
    )
    if magnitude >= limit:
        return np_type(sign * np.inf)
    with np.errstate(over="ignore"):
        candidate = np_type(min(abs(wide), float(top)))
    if Fraction(float(candidate)) == magnitude:
        return np_type(sign * candidate)
    if Fraction(float(candidate)) < magnitude:
        below = candidate
    else:
        below = np.nextafter(candidate, np_type(0))
    if below == top:
        return np_type(sign * top)
    above = np.nextafter(below, np_type(np.inf))
    d_below = magnitude - Fraction(float(below))
    d_above = Fraction(float(above)) - magnitude
    if d_below < d_above:
        chosen = below
    elif d_above < d_below:
        chosen = above
    else:  # a tie: the one with an even significand
        bits = below.view(np.uint16 if np_type is np.float16 else np.uint32)
        chosen = below if int(bits) % 2 == 0 else above
    return np_type(sign * chosen)


#: A decimal literal in text that is not JSON (tests/CONTRACT.md, "Decimal numbers in text input").
DECIMAL_LITERAL = re.compile(
    r"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?\Z"
)


def parse_decimal(text: str, np_type: type = np.float32) -> np.floating:
    """Read a decimal literal of a CSV field or a flag, rounded once, correctly, to ``np_type``.

    The literal is ``[+-]?([0-9]+(.[0-9]*)?|.[0-9]+)([eE][+-]?[0-9]+)?`` (tests/CONTRACT.md,
    "Decimal numbers in text input"): no ``_``, no hexadecimal, no ``inf``/``nan``, no white
    space. It is rounded as a JSON number is (:func:`_round_to_float`, round-half-even, in time
    linear in its length).

    Returns:
        the value; ``±inf`` when the literal is beyond the dtype's range (a caller that needs a
        finite value refuses it).

    Raises:
        ValueError: ``text`` is not such a literal.
    """
    match = DECIMAL_LITERAL.match(text)
    if match is None:
        raise ValueError(f"not a decimal literal: {excerpt(text)}")
    sign, whole, fraction, bare_fraction, exponent = match.groups()
    fraction = fraction or bare_fraction or ""
    json_form = (
        ("-" if sign == "-" else "")
        + ((whole or "").lstrip("0") or "0")
        + ("." + fraction if fraction else "")
        + ("e" + exponent if exponent else "")
    )
    with np.errstate(over="ignore"):
        return _round_to_float(json_form, np_type)


def _element(value: object, spec: TensorSpec) -> object:
    """Convert one JSON leaf to a Python/numpy scalar of ``spec.dtype``."""
    dtype = spec.dtype

    def wrong(what: str) -> StatusError:
        return StatusError(f"input {spec.describe()}: expected a {_kind(dtype)} value, got {what}")

    if dtype in FLOAT_DTYPES:
        if not isinstance(value, JsonNumber):
            raise wrong(_describe_json(value))
        if value in _NONFINITE:
            return FLOAT_DTYPES[dtype](_NONFINITE[value])
        result = _round_to_float(value, FLOAT_DTYPES[dtype])
        if np.isinf(result):
            raise StatusError(
                f"input {spec.describe()}: number {excerpt(value)} is out of range for {dtype}"
            )
        return result
    if dtype in INT_DTYPES:
        if not isinstance(value, JsonNumber) or value in _NONFINITE:
            raise wrong(_describe_json(value))
        if not _INT_LITERAL.match(value):
            raise wrong(f"the non-integer number {excerpt(value)}")
        info = np.iinfo(INT_DTYPES[dtype])
        # No dtype has more than 20 digits: a longer literal is out of range unconverted.
        number = int(value) if len(value.lstrip("-")) <= 20 else None
        if number is None or not info.min <= number <= info.max:
            raise StatusError(
                f"input {spec.describe()}: integer {excerpt(value)} is out of range for "
                f"{dtype} [{info.min}, {info.max}]"
            )
        return number
    if dtype == "DT_BOOL":
        if not isinstance(value, bool):
            raise wrong(_describe_json(value))
        return value
    if dtype == "DT_STRING":
        if isinstance(value, str) and not isinstance(value, JsonNumber):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except (binascii.Error, ValueError):
                raise StatusError(
                    f'input {spec.describe()}: invalid base64 in {{"b64": ...}}'
                ) from None
        raise wrong(_describe_json(value))
    raise StatusError(f"input {spec.describe()}: dtype {dtype} is not supported")


def _kind(dtype: str) -> str:
    if dtype in FLOAT_DTYPES:
        return f"{dtype} number"
    if dtype in INT_DTYPES:
        return f"{dtype} integer"
    if dtype == "DT_BOOL":
        return "DT_BOOL true/false"
    return f'{dtype} string or {{"b64": ...}}'


def _describe_json(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, JsonNumber):
        return f"the number {excerpt(value)}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "a list"


def _is_b64(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def tensor_from_json(value: object, spec: TensorSpec) -> np.ndarray:
    """Build the tensor for ``spec`` from nested JSON lists, checking shape and dtype.

    Args:
        value: nested lists (rank = depth) of JSON leaves, as returned by :func:`loads`.
        spec: the SignatureDef entry it must match.

    Returns:
        a numpy array of the dtype's numpy type (``object`` of ``bytes`` for DT_STRING).

    Raises:
        StatusError: ragged lists, wrong rank, a dim that contradicts a known dim, wrong dtype.
    """
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    flat: list[object] = []
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth == len(shape):
            if isinstance(item, list):
                raise StatusError(f"input {spec.describe()}: ragged nested lists")
            flat.append(_element(item, spec))
            continue
        if not isinstance(item, list) or len(item) != shape[depth]:
            raise StatusError(f"input {spec.describe()}: ragged nested lists")
        stack.extend((child, depth + 1) for child in reversed(item))
    check_shape(tuple(shape), spec)
    np_type = SUPPORTED_DTYPES[spec.dtype]
    if spec.dtype == "DT_STRING":
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.array(flat, dtype=np_type).reshape(shape)


def check_shape(shape: tuple[int, ...], spec: TensorSpec) -> None:
    """Raise :class:`StatusError` if ``shape`` contradicts the signature's rank or known dims."""
    if spec.shape is None:
        return
    if len(shape) != len(spec.shape):
        raise StatusError(
            f"input {spec.describe()}: expected rank {len(spec.shape)}, got rank {len(shape)} "
            f"with shape {format_shape(shape)}"
        )
    for axis, (got, want) in enumerate(zip(shape, spec.shape, strict=True)):
        if want >= 0 and got != want:
            raise StatusError(
                f"input {spec.describe()}: dimension {axis} is {got}, expected {want}"
            )


def _expected(specs: dict[str, TensorSpec]) -> str:
    return ", ".join(specs[a].describe() for a in sorted(specs))


def _check_aliases(given: set[str], specs: dict[str, TensorSpec], signature: str) -> None:
    for alias in sorted(given - set(specs)):
        raise StatusError(
            f'unknown input "{excerpt(alias)}" for signature "{excerpt(signature)}"; '
            f"expected inputs: {_expected(specs)}"
        )
    for alias in sorted(set(specs) - given):
        raise StatusError(
            f'missing input "{alias}" for signature "{excerpt(signature)}"; expected inputs: '
            f"{_expected(specs)}"
        )


@dataclass
class Request:
    """A decoded predict request.

    Attributes:
        signature_name: the request's ``signature_name`` or ``None``.
        row_format: ``True`` for ``instances``, ``False`` for ``inputs``.
        body: the raw ``instances`` list or ``inputs`` value.
    """

    signature_name: str | None
    row_format: bool
    body: object


def parse_request(text: str | bytes) -> Request:
    """Parse the top level of a predict request body (signature not yet known).

    Raises:
        StatusError: invalid JSON, not an object, unknown keys, both or neither of
            ``instances``/``inputs``, non-string ``signature_name``.
    """
    doc = loads(text)
    if not isinstance(doc, dict):
        raise StatusError(
            f'request must be a JSON object with "instances" or "inputs", got {_describe_json(doc)}'
        )
    for key in sorted(doc):
        if key not in ("signature_name", "instances", "inputs"):
            raise StatusError(
                f'unknown key "{excerpt(key)}" in request; expected "signature_name" and one of '
                f'"instances" or "inputs"'
            )
    if ("instances" in doc) == ("inputs" in doc):
        raise StatusError('request must have exactly one of "instances" or "inputs"')
    signature_name = doc.get("signature_name")
    if signature_name is not None and (
        not isinstance(signature_name, str) or isinstance(signature_name, JsonNumber)
    ):
        raise StatusError('"signature_name" must be a string')
    if "instances" in doc:
        return Request(signature_name, True, doc["instances"])
    return Request(signature_name, False, doc["inputs"])


def decode_inputs(
    request: Request, specs: dict[str, TensorSpec], signature: str
) -> dict[str, np.ndarray]:
    """Turn a parsed request into one tensor per input alias, following TF Serving's rules.

    Raises:
        StatusError: see :func:`tensor_from_json`, plus empty or malformed ``instances`` and
            missing or extra input aliases.
    """
    single = len(specs) == 1
    if request.row_format:
        instances = request.body
        if not isinstance(instances, list):
            raise StatusError(f'"instances" must be a list, got {_describe_json(instances)}')
        if not instances:
            raise StatusError(
                f'"instances" is empty; expected at least one instance of {_expected(specs)}'
            )
        (only,) = specs if single else (None,)
        keyed = [isinstance(i, dict) and not (single and _is_b64(i)) for i in instances]
        if single and not any(keyed):
            columns = {only: instances}
        else:
            if not all(keyed):
                raise StatusError(
                    "each instance must be an object keyed by input alias; expected inputs: "
                    + _expected(specs)
                )
            for instance in instances:
                _check_aliases(set(instance), specs, signature)
            columns = {alias: [inst[alias] for inst in instances] for alias in specs}
    else:
        body = request.body
        if isinstance(body, dict) and not (single and _is_b64(body)):
            _check_aliases(set(body), specs, signature)
            columns = body
        elif single:
            columns = {next(iter(specs)): body}
        else:
            raise StatusError(
                '"inputs" must be an object keyed by input alias; expected inputs: '
                + _expected(specs)
            )
    tensors = {alias: tensor_from_json(columns[alias], specs[alias]) for alias in specs}
    if not request.row_format:
        _check_batch_sizes(tensors, specs)
    return tensors


def _check_batch_sizes(tensors: dict[str, np.ndarray], specs: dict[str, TensorSpec]) -> None:
    """Inputs whose shape starts with -1 must agree on dimension 0 (CONTRACT "Batch size")."""
    first = None
    for alias in sorted(specs):
        shape, array = specs[alias].shape, tensors[alias]
        if not shape or shape[0] != -1 or array.ndim == 0:
            continue
        if first is None:
            first = alias
        elif array.shape[0] != tensors[first].shape[0]:
            raise StatusError(
                f'batch size mismatch: input "{first}" has {tensors[first].shape[0]} rows but '
                f'input "{alias}" has {array.shape[0]}; inputs whose shape starts with -1 must '
                "have the same batch size"
            )


# --- encoding -------------------------------------------------------------------------------


def format_float(value: np.floating) -> str:
    """Write a floating value as tests/CONTRACT.md, "Numbers in text", defines.

    The digits are the shortest that read back to ``value`` in its own dtype (numpy's Dragon4
    in ``unique`` mode, for float16, float32 and float64 alike); they are laid out as
    ECMAScript's ``Number::toString`` lays out its digits ``s`` and exponent ``n``, except that
    a whole number keeps ``.0``: ``3.0``, ``123.45``, ``0.000123``, ``1e+21``, ``1e-7``.
    NaN, the infinities and the zeros are ``NaN``, ``Infinity``, ``-Infinity``, ``0.0`` and
    ``-0.0``.

    Args:
        value: a numpy float16, float32 or float64 scalar (a Python float is a float64).

    Returns:
        The number's text, ASCII.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if not isinstance(value, np.floating):
        value = np.float64(value)
    mantissa, exponent = np.format_float_scientific(value, unique=True, trim="-").split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "")
    return sign + layout_decimal(digits, int(exponent) + 1)


def layout_decimal(digits: str, n: int) -> str:
    """Lay out the decimal ``0.<digits> × 10**n`` as tests/CONTRACT.md, "Numbers in text", says.

    Args:
        digits: the significant digits ``s`` (``k`` of them, the first and last not zero).
        n: the decimal exponent with ``s × 10**(n − k)`` the value.

    Returns:
        ECMAScript's ``Number::toString`` layout of ``s`` and ``n``, with ``.0`` after a whole
        number.
    """
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k) + ".0"
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    fraction = "." + digits[1:] if k > 1 else ""
    return f"{digits[0]}{fraction}e{'+' if n >= 1 else '-'}{abs(n - 1)}"


def _leaf_formatter(array: np.ndarray, alias: str):
    kind = array.dtype.kind
    if kind == "f":
        return format_float
    if kind in "iu":
        return lambda v: str(int(v))
    if kind == "b":
        return lambda v: "true" if v else "false"
    if kind in "OSU":
        as_b64 = alias.endswith("_bytes")

        def fmt(v: object) -> str:
            raw = v if isinstance(v, bytes) else str(v).encode("utf-8")
            if not as_b64:
                try:
                    return json.dumps(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    pass
            return '{"b64": "' + base64.b64encode(raw).decode("ascii") + '"}'

        return fmt
    raise StatusError(f'output "{alias}" has unsupported numpy dtype {array.dtype}')


def _nested(array: np.ndarray, fmt) -> str:
    if not isinstance(array, np.ndarray):  # an element of an object (DT_STRING) array
        return fmt(array)
    if array.ndim == 0:
        return fmt(array[()])
    return "[" + ", ".join(_nested(sub, fmt) for sub in array) + "]"


def tensor_to_json(array: np.ndarray, alias: str) -> str:
    """Write a tensor as nested JSON arrays with shortest round-trip numbers (see CONTRACT.md)."""
    return _nested(array, _leaf_formatter(array, alias))


def encode_response(outputs: dict[str, np.ndarray], row_format: bool) -> str:
    """Write the response body: ``{"predictions": ...}`` (row) or ``{"outputs": ...}``.

    Raises:
        StatusError: row format with outputs that do not share a leading batch dimension.
    """
    aliases = sorted(outputs)
    if not row_format:
        if len(aliases) == 1:
            return '{"outputs": ' + tensor_to_json(outputs[aliases[0]], aliases[0]) + "}"
        parts = (json.dumps(a) + ": " + tensor_to_json(outputs[a], a) for a in aliases)
        return '{"outputs": {' + ", ".join(parts) + "}}"
    if len(aliases) == 1:
        only = outputs[aliases[0]]
        if only.ndim == 0:
            raise StatusError(
                f'output "{aliases[0]}" is a scalar; row format needs a batch dimension'
            )
        return '{"predictions": ' + tensor_to_json(only, aliases[0]) + "}"
    batch = {outputs[a].shape[0] if outputs[a].ndim else None for a in aliases}
    if len(batch) != 1 or None in batch:
        raise StatusError(
            'outputs do not share a batch dimension; use the columnar "inputs" format'
        )
    fmts = {a: _leaf_formatter(outputs[a], a) for a in aliases}
    rows = []
    for i in range(batch.pop()):
        parts = (json.dumps(a) + ": " + _nested(outputs[a][i], fmts[a]) for a in aliases)
        rows.append("{" + ", ".join(parts) + "}")
    return '{"predictions": [' + ", ".join(rows) + "]}"


def decode_response(text: str | bytes, specs: dict[str, TensorSpec]) -> dict[str, np.ndarray]:
    """Parse a response body back into typed tensors (the harness compares these by bits).

    Raises:
        StatusError: the body is not a predictions/outputs response for these output specs.
    """
    doc = loads(text)
    if (
        not isinstance(doc, dict)
        or len(doc) != 1
        or next(iter(doc)) not in ("predictions", "outputs")
    ):
        raise StatusError(f"not a predict response: {str(text)[:200]}")
    (key,) = doc
    request = Request(None, key == "predictions", doc[key])
    if key == "predictions" and len(specs) == 1:
        request = Request(None, False, doc[key])
    return decode_inputs(request, specs, "<response>")
