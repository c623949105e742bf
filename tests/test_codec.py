"""The Python reference codec: exact numbers both ways, TF Serving's row/columnar rules."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from python_producer.reference.status import StatusError
from python_producer.reference.tfjson import (
    TensorSpec,
    _round_to_float,
    decode_inputs,
    decode_response,
    encode_response,
    format_float,
    parse_decimal,
    parse_request,
    tensor_to_json,
)
from tests.harness.consumers import ROOT

X = {"x": TensorSpec("x", "x:0", "DT_DOUBLE", (-1, -1))}


def test_shortest_float64_round_trips():
    values = np.array([0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, 1e23, 2e-3])
    text = tensor_to_json(values, "y")
    assert text == "[0.1, 0.3333333333333333, 5e-324, 1.7976931348623157e+308, -0.0, 1e+23, 0.002]"
    back = decode_response(
        '{"outputs": ' + text + "}", {"y": TensorSpec("y", "y:0", "DT_DOUBLE", (-1,))}
    )["y"]
    assert back.tobytes() == values.tobytes()


def test_float32_written_shortest_for_its_width():
    values = np.array([0.1, 16777217.0, 3.4028235e38], dtype=np.float32)
    assert tensor_to_json(values, "y") == "[0.1, 16777216.0, 3.4028235e+38]"


def test_float32_parsing_rounds_directly():
    # 1 + 2^-24 + 2^-60 rounds up in float32 directly, but via float64 it first becomes the
    # midpoint 1 + 2^-24 and would then round (half-even) down to 1.0.
    literal = "1.000000059604644776261" + "4" * 10
    direct = _round_to_float(literal, np.float32)
    assert direct == np.float32(1.0000001)
    assert np.float32(float(literal)) == np.float32(1.0)


def test_int64_exact_beyond_2_53():
    spec = {"n": TensorSpec("n", "n:0", "DT_INT64", (-1,))}
    request = parse_request('{"inputs": {"n": [9007199254740993, -9223372036854775808]}}')
    tensor = decode_inputs(request, spec, "s")["n"]
    assert tensor.tolist() == [9007199254740993, -9223372036854775808]
    assert encode_response({"n": tensor}, False) == (
        '{"outputs": [9007199254740993, -9223372036854775808]}'
    )
    with pytest.raises(StatusError, match="out of range"):
        decode_inputs(parse_request('{"inputs": [9223372036854775808]}'), spec, "s")


def test_nonfinite_tokens_both_ways():
    tensor = decode_inputs(parse_request('{"inputs": [[NaN, Infinity, -Infinity]]}'), X, "s")["x"]
    assert np.isnan(tensor[0, 0]) and tensor[0, 1] == np.inf and tensor[0, 2] == -np.inf
    assert encode_response({"y": tensor}, True) == '{"predictions": [[NaN, Infinity, -Infinity]]}'


def test_strings_text_and_b64():
    spec = {"s": TensorSpec("s", "s:0", "DT_STRING", (-1,))}
    tensor = decode_inputs(parse_request('{"instances": ["h\\u00e9", {"b64": "/w=="}]}'), spec, "k")
    assert list(tensor["s"]) == ["hé".encode(), b"\xff"]
    assert (
        encode_response({"s": tensor["s"]}, False) == '{"outputs": ["h\\u00e9", {"b64": "/w=="}]}'
    )
    assert encode_response({"s_bytes": tensor["s"]}, False) == (
        '{"outputs": [{"b64": "aMOp"}, {"b64": "/w=="}]}'
    )


def test_several_outputs_row_and_columnar():
    outputs = {"b": np.array([1, 2], dtype=np.int32), "a": np.array([[0.5], [1.5]])}
    assert encode_response(outputs, True) == (
        '{"predictions": [{"a": [0.5], "b": 1}, {"a": [1.5], "b": 2}]}'
    )
    assert encode_response(outputs, False) == '{"outputs": {"a": [[0.5], [1.5]], "b": [1, 2]}}'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"instances": [[1.0], [2.0, 3.0]]}', "ragged"),
        ('{"inputs": [[1.5e400]]}', "out of range"),
        ('{"inputs": {"x": [[1]], "y": [[2]]}}', 'unknown input "y"'),
        ('{"instances": []}', "empty"),
        ('{"inputs": [1.0]}', "rank 2"),
    ],
)
def test_refusals(body, message):
    with pytest.raises(StatusError, match=message):
        decode_inputs(parse_request(body), X, "serving_default")


def test_float32_random_bits_round_trip():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=2000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)]
    text = '{"outputs": ' + tensor_to_json(values, "y") + "}"
    back = decode_response(text, {"y": TensorSpec("y", "y:0", "DT_FLOAT", (-1,))})["y"]
    assert back.tobytes() == values.tobytes()
    assert struct.pack("<f", back[0]) == struct.pack("<f", values[0])


@pytest.mark.parametrize(
    ("literal", "np_type", "expected"),
    [
        ("3.4028235e38", np.float32, np.finfo(np.float32).max),
        ("-3.4028235e38", np.float32, -np.finfo(np.float32).max),
        ("340282356779733661637539395458142568448", np.float32, np.inf),  # max + ulp/2: overflow
        ("65504", np.float16, np.finfo(np.float16).max),
        ("65519.99", np.float16, np.finfo(np.float16).max),
        ("65520", np.float16, np.inf),
        ("-0.0", np.float32, np.float32(-0.0)),
        ("1e-50", np.float32, np.float32(0.0)),
    ],
)
def test_narrow_float_rounding_at_the_edges(literal, np_type, expected):
    got = _round_to_float(literal, np_type)
    assert got.dtype == np_type
    assert got.tobytes() == np_type(expected).tobytes()


def test_overflow_of_narrow_dtype_is_refused():
    spec = {"h": TensorSpec("h", "h:0", "DT_HALF", (-1,))}
    with pytest.raises(StatusError, match="out of range"):
        decode_inputs(parse_request('{"inputs": [65520]}'), spec, "s")


NUMBER_TEXT = json.loads((ROOT / "tests" / "cases" / "number_text.json").read_text())
_NP_TYPES = {"DT_HALF": np.float16, "DT_FLOAT": np.float32, "DT_DOUBLE": np.float64}


def _from_bits(dtype: str, bits: str):
    np_type = _NP_TYPES[dtype]
    width = np.dtype(np_type).itemsize
    return np.frombuffer(int(bits, 16).to_bytes(width, "little"), dtype=np_type)[0]


@pytest.mark.parametrize("case", NUMBER_TEXT["format"], ids=lambda c: f"{c['dtype']}-{c['text']}")
def test_numbers_in_text(case):
    """tests/CONTRACT.md, "Numbers in text": the same cases every language's unit tests run."""
    value = _from_bits(case["dtype"], case["bits"])
    assert format_float(value) == case["text"]
    assert tensor_to_json(np.array([value]), "y") == f"[{case['text']}]"


@pytest.mark.parametrize(
    "case", NUMBER_TEXT["parse_float32"]["accepted"], ids=lambda c: c["literal"]
)
def test_decimal_literals_round_once_to_float32(case):
    value = parse_decimal(case["literal"], np.float32)
    if case["bits"] is None:
        assert np.isinf(value)
    else:
        assert value.tobytes() == _from_bits("DT_FLOAT", case["bits"]).tobytes()


@pytest.mark.parametrize("literal", NUMBER_TEXT["parse_float32"]["refused"], ids=ascii)
def test_decimal_literals_outside_the_pattern_are_refused(literal):
    with pytest.raises(ValueError):
        parse_decimal(literal, np.float32)
