"""``classify`` and ``generate``: summaries printed on top of the generic predict path.

Both build one columnar TF Serving request and answer it with :meth:`Predictor.predict`, exactly
as ``predict`` would, then print a summary (tests/CONTRACT.md, "Command line").  Nothing here
knows a particular model, only the shape a signature must have.
"""

from __future__ import annotations

import base64
import json

from python_producer.reference.predictor import Predictor
from python_producer.reference.status import Code, StatusError
from python_producer.reference.tfjson import (
    FLOAT_DTYPES,
    INT_DTYPES,
    TensorSpec,
    decode_response,
    format_float,
)

MAX_LENGTH = 10_000


def _need(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise StatusError(f'signature "{key}" cannot be used here: expected {expected}')


def _rank(spec: TensorSpec | None) -> int | None:
    return None if spec is None or spec.shape is None else len(spec.shape)


def classify(predictor: Predictor, key: str, images: list[str]) -> str:
    """Classify encoded image files; return one line per file (tests/CONTRACT.md).

    Each line is ``<file>\\tclass_id=<c>\\tprobability=<p>``, in the order given.

    The signature must have one ``DT_STRING`` rank-1 input and the outputs ``class_id``
    (integer, rank 1) and ``probabilities`` (floating, rank 2).

    Raises:
        StatusError: the signature has another shape, or an image cannot be read.
        Exception: TensorFlow failing to run (for example an image it cannot decode).
    """
    inputs, outputs = predictor.signature(key)
    expected = (
        "one DT_STRING input of shape (-1,) and the outputs class_id (integer, shape (-1,)) and "
        "probabilities (floating, shape (-1, -1))"
    )
    _need(len(inputs) == 1, key, expected)
    ((alias, spec),) = inputs.items()
    _need(spec.dtype == "DT_STRING" and _rank(spec) == 1, key, expected)
    class_id, probabilities = outputs.get("class_id"), outputs.get("probabilities")
    _need(class_id is not None and class_id.dtype in INT_DTYPES and _rank(class_id) == 1, key,
          expected)  # fmt: skip
    _need(probabilities is not None and probabilities.dtype in FLOAT_DTYPES
          and _rank(probabilities) == 2, key, expected)  # fmt: skip
    encoded = []
    for image in images:
        try:
            with open(image, "rb") as handle:
                encoded.append({"b64": base64.b64encode(handle.read()).decode("ascii")})
        except OSError as exc:
            code = Code.NOT_FOUND if isinstance(exc, FileNotFoundError) else Code.INVALID_ARGUMENT
            raise StatusError(f"cannot read image {image}: {exc.strerror or exc}", code) from None
    body = json.dumps({"signature_name": key, "inputs": {alias: encoded}})
    answer = decode_response(predictor.predict(body, key), outputs)
    lines = []
    for i, image in enumerate(images):
        c = int(answer["class_id"][i])
        p = answer["probabilities"][i][c]
        lines.append(f"{image}\tclass_id={c}\tprobability={format_float(p)}\n")
    return "".join(lines)


def generate(predictor: Predictor, key: str, prefix: str, length: int) -> bytes:
    """Continue ``prefix`` by ``length`` characters; return ``prefix + continuation + b"\\n"``.

    The signature must have the inputs ``prefix`` (``DT_STRING``, rank 1) and ``length``
    (``DT_INT32`` scalar) and the output ``continuation`` (``DT_STRING``, rank 1).

    Raises:
        StatusError: the signature has another shape, or ``length`` is not in 0..10000.
    """
    if not 0 <= length <= MAX_LENGTH:
        raise StatusError(f"--length must be between 0 and {MAX_LENGTH}, got {length}")
    inputs, outputs = predictor.signature(key)
    expected = (
        "the inputs prefix (DT_STRING, shape (-1,)) and length (DT_INT32, shape ()) and the "
        "output continuation (DT_STRING, shape (-1,))"
    )
    _need(set(inputs) == {"prefix", "length"}, key, expected)
    _need(inputs["prefix"].dtype == "DT_STRING" and _rank(inputs["prefix"]) == 1, key, expected)
    _need(inputs["length"].dtype == "DT_INT32" and _rank(inputs["length"]) == 0, key, expected)
    out = outputs.get("continuation")
    _need(out is not None and out.dtype == "DT_STRING" and _rank(out) == 1, key, expected)
    body = json.dumps({"signature_name": key, "inputs": {"prefix": [prefix], "length": length}})
    answer = decode_response(predictor.predict(body, key), {"continuation": out})
    continuation = answer["continuation"][0]
    return prefix.encode("utf-8", "surrogateescape") + bytes(continuation) + b"\n"
