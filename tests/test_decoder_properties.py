"""Property tests (Hypothesis) of the Python reference request decoder,
python_producer.reference.tfjson.

The shared case list (tests/cases/bad_requests.json) pins the refusals every consumer must give;
these properties search beyond it for the reference implementation:

- any bytes, and any JSON document, given as a predict body for a signature either decode to
  tensors that match the signature (dtype, rank, known dims, one batch size) or are refused
  with :class:`StatusError` and a one-line message: never another exception;
- any tensor of any supported dtype, written as the contract writes outputs, reads back with
  the same bits (a NaN as a NaN: JSON's one ``NaN`` token carries no sign or payload).
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from python_producer.reference.status import StatusError
from python_producer.reference.tfjson import (
    SUPPORTED_DTYPES,
    TensorSpec,
    decode_inputs,
    loads,
    parse_request,
    tensor_from_json,
    tensor_to_json,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Signatures of the zoo's shapes: one input, several inputs of several dtypes, scalars,
#: unknown rank, strings.
SIGNATURES = {
    "linear": {"x": TensorSpec("x", "x:0", "DT_DOUBLE", (-1, 1))},
    "matrix": {
        "a": TensorSpec("a", "a:0", "DT_FLOAT", (-1, 3)),
        "b": TensorSpec("b", "b:0", "DT_DOUBLE", (-1,)),
    },
    "scalars": {
        "a": TensorSpec("a", "a:0", "DT_FLOAT", ()),
        "n": TensorSpec("n", "n:0", "DT_INT64", ()),
    },
    "mixed": {
        "f16": TensorSpec("f16", "f16:0", "DT_HALF", (-1,)),
        "i8": TensorSpec("i8", "i8:0", "DT_INT8", (-1,)),
        "u16": TensorSpec("u16", "u16:0", "DT_UINT16", (-1,)),
        "flag": TensorSpec("flag", "flag:0", "DT_BOOL", (-1,)),
        "text": TensorSpec("text", "text:0", "DT_STRING", (-1,)),
    },
    "unknown_rank": {"x": TensorSpec("x", "x:0", "DT_FLOAT", None)},
}

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.builds(lambda s: {"b64": s}, st.sampled_from(["AAAA", "!!", "", "aGk="]))
)
_json = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["x", "a", "b", "n", "f16", "i8", "text", "z"]), inner)
    ),
    max_leaves=24,
)
_tensor_like = st.recursive(
    st.integers(-300, 70000) | st.floats(width=32) | st.booleans() | st.text(max_size=3),
    lambda inner: st.lists(inner, min_size=1, max_size=3),
    max_leaves=16,
)


def _check(body: bytes, signature: str) -> None:
    """Decode ``body`` for ``signature``: either tensors matching it or a StatusError."""
    specs = SIGNATURES[signature]
    try:
        request = parse_request(body)
        tensors = decode_inputs(request, specs, signature)
    except StatusError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return
    assert set(tensors) == set(specs)
    batch = set()
    for alias, array in tensors.items():
        spec = specs[alias]
        assert array.dtype == np.dtype(SUPPORTED_DTYPES[spec.dtype]), (alias, array.dtype)
        if spec.shape is not None:
            assert array.ndim == len(spec.shape), (alias, array.shape)
            for got, want in zip(array.shape, spec.shape, strict=True):
                assert want == -1 or got == want, (alias, array.shape, spec.shape)
            if spec.shape and spec.shape[0] == -1:
                batch.add(array.shape[0])
    assert len(batch) <= 1, batch


@SETTINGS
@given(st.binary(max_size=200), st.sampled_from(sorted(SIGNATURES)))
def test_any_bytes_decode_or_are_refused(body, signature):
    _check(body, signature)


@SETTINGS
@given(
    _json,
    st.sampled_from(["instances", "inputs"]),
    st.sampled_from(sorted(SIGNATURES)),
)
def test_any_json_document_decodes_or_is_refused(value, key, signature):
    _check(json.dumps({key: value}).encode(), signature)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(["x", "a", "b", "n", "f16", "i8", "u16", "flag", "text"]),
                    _tensor_like, min_size=1),
    st.sampled_from(sorted(SIGNATURES)),
)  # fmt: skip
def test_near_miss_columnar_requests_decode_or_are_refused(inputs, signature):
    _check(json.dumps({"inputs": inputs}).encode(), signature)


_NUMERIC = sorted(d for d in SUPPORTED_DTYPES if d != "DT_STRING")


@st.composite
def _tensors(draw):
    dtype = draw(st.sampled_from(_NUMERIC + ["DT_STRING"]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    if dtype == "DT_STRING":
        flat = draw(st.lists(st.binary(max_size=6), min_size=int(np.prod(shape)),
                             max_size=int(np.prod(shape))))  # fmt: skip
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return dtype, array.reshape(shape)
    return dtype, draw(hnp.arrays(np.dtype(SUPPORTED_DTYPES[dtype]), shape))


@SETTINGS
@given(_tensors())
def test_written_tensors_read_back_with_the_same_bits(dtype_and_array):
    dtype, array = dtype_and_array
    spec = TensorSpec("y_bytes" if dtype == "DT_STRING" else "y", "y:0", dtype, array.shape)
    text = tensor_to_json(array, spec.alias)
    back = tensor_from_json(loads(text), spec)
    assert back.shape == array.shape
    if dtype == "DT_STRING":
        assert back.tolist() == array.tolist()
        return
    if dtype in ("DT_HALF", "DT_FLOAT", "DT_DOUBLE"):
        # JSON has one NaN token: sign and payload of a NaN are not carried (the contract
        # compares NaNs as NaN); every other value keeps its bits, -0.0 included.
        nan = np.isnan(array)
        assert np.array_equal(np.isnan(back), nan), (text, array, back)
        array, back = np.where(nan, 0, array), np.where(nan, 0, back)
    assert back.tobytes() == array.tobytes(), (text, array, back)


@st.composite
def _valid_requests(draw):
    """A columnar request that fits a signature of known rank, and the arrays it holds."""
    signature = draw(st.sampled_from(sorted(k for k, v in SIGNATURES.items() if all(
        s.shape is not None for s in v.values()))))  # fmt: skip
    batch = draw(st.integers(1, 3))
    arrays = {}
    for alias, spec in SIGNATURES[signature].items():
        shape = tuple(
            batch if i == 0 and d == -1 else (draw(st.integers(1, 2)) if d == -1 else d)
            for i, d in enumerate(spec.shape)
        )
        if spec.dtype == "DT_STRING":
            flat = draw(st.lists(st.binary(max_size=5), min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape))))  # fmt: skip
            array = np.empty(len(flat), dtype=object)
            array[:] = flat
            arrays[alias] = array.reshape(shape)
        else:
            arrays[alias] = draw(hnp.arrays(np.dtype(SUPPORTED_DTYPES[spec.dtype]), shape))
    return signature, arrays


@SETTINGS
@given(_valid_requests())
def test_valid_requests_decode_to_their_values(signature_and_arrays):
    signature, arrays = signature_and_arrays
    specs = SIGNATURES[signature]

    def written(alias: str) -> str:  # strings as {"b64": ...}, the way "_bytes" outputs are
        suffix = "_bytes" if specs[alias].dtype == "DT_STRING" else ""
        return tensor_to_json(arrays[alias], alias + suffix)

    body = '{"inputs": {' + ", ".join(f"{json.dumps(a)}: {written(a)}" for a in arrays) + "}}"
    tensors = decode_inputs(parse_request(body.encode()), specs, signature)
    _check(body.encode(), signature)
    for alias, array in arrays.items():
        back = tensors[alias]
        assert back.shape == array.shape
        if specs[alias].dtype == "DT_STRING":
            assert back.tolist() == array.tolist()
            continue
        if array.dtype.kind == "f":
            nan = np.isnan(array)
            assert np.array_equal(np.isnan(back), nan)
            array, back = np.where(nan, 0, array), np.where(nan, 0, back)
        assert back.tobytes() == array.tobytes(), (alias, array, back)
