"""Comparing responses by value bits: parse with the signature's dtypes, then compare bytes.

The distance between two floats is counted in units in the last place (ULP) on the ordered
integer line of their bit patterns (so ``+0`` and ``-0`` are 0 ULP apart but not identical);
NaN equals NaN only when both are NaN.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.harness.decode import ResponseError, decode_response, output_dtypes

_INT_VIEW = {2: np.int16, 4: np.int32, 8: np.int64}


@dataclass
class Comparison:
    """Result of comparing one response with the expected one.

    Attributes:
        identical: every output has the same shape and the same bits.
        max_ulp: largest float distance in ULP (0 for non-float outputs that match,
            ``math.inf`` for a shape, NaN or non-float mismatch).
        detail: a human-readable reason when not identical.
    """

    identical: bool
    max_ulp: float
    detail: str = ""


def _ordered(bits: np.ndarray, width: int) -> np.ndarray:
    """Map IEEE bit patterns (as signed ints) onto a line where adjacent floats differ by 1."""
    as_int = bits.astype(object)
    sign_bit = 1 << (8 * width - 1)
    return np.array([v if v >= 0 else -(v + sign_bit) for v in as_int.ravel()], dtype=object)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return the largest ULP distance between two float arrays of the same shape and dtype."""
    if a.size == 0:
        return 0.0
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if np.any(nan_a != nan_b):
        return math.inf
    view = _INT_VIEW[a.dtype.itemsize]
    keep = ~nan_a.ravel()
    oa = _ordered(a.view(view), a.dtype.itemsize)[keep]
    ob = _ordered(b.view(view), b.dtype.itemsize)[keep]
    if oa.size == 0:
        return 0.0
    return float(max(abs(x - y) for x, y in zip(oa, ob, strict=True)))


def _first(got: np.ndarray, want: np.ndarray) -> str:
    """``; first difference at [i, j]: got X, want Y (N ULP)`` for two same-shape arrays."""
    for index in np.ndindex(want.shape):
        g, w = got[index], want[index]
        if want.dtype.kind == "f":
            if (np.isnan(g) and np.isnan(w)) or g.tobytes() == w.tobytes():
                continue
            ulp = ulp_distance(np.array([g]), np.array([w]))
            where = ", ".join(str(i) for i in index)
            return f"; first difference at [{where}]: got {g!s}, want {w!s} ({ulp:g} ULP)"
        if g != w:
            where = ", ".join(str(i) for i in index)
            return f"; first difference at [{where}]: got {g!r}, want {w!r}"
    return ""


def compare_tensors(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> Comparison:
    """Compare two ``{alias: array}`` maps bit for bit."""
    if set(got) != set(want):
        return Comparison(False, math.inf, f"outputs {sorted(got)} != {sorted(want)}")
    worst, details = 0.0, []
    for alias in sorted(want):
        g, w = got[alias], want[alias]
        if g.shape != w.shape or g.dtype != w.dtype:
            return Comparison(False, math.inf, f"{alias}: {g.dtype}{g.shape} != {w.dtype}{w.shape}")
        if w.dtype == object:
            if list(g.ravel()) != list(w.ravel()):
                return Comparison(False, math.inf, f"{alias}: strings differ{_first(g, w)}")
            continue
        same = g.tobytes() == w.tobytes() or (
            w.dtype.kind == "f"
            and np.array_equal(np.isnan(g), np.isnan(w))
            and g[~np.isnan(g)].tobytes() == w[~np.isnan(w)].tobytes()
        )
        if w.dtype.kind == "f":
            ulp = ulp_distance(g, w)
            worst = max(worst, ulp)
            if not same:
                details.append(f"{alias}: max {ulp:g} ULP{_first(g, w)}")
        elif not same:
            return Comparison(False, math.inf, f"{alias}: values differ{_first(g, w)}")
    return Comparison(not details, worst, "; ".join(details))


def compare_bodies(got: bytes | str, want: bytes | str, specs: dict) -> Comparison:
    """Parse two response bodies with the output dtypes ``specs`` (alias -> DataType name, see
    :func:`output_specs`) and compare them bit for bit."""
    try:
        want_t = decode_response(want, specs)
    except ResponseError as exc:
        return Comparison(False, math.inf, f"expected body unreadable: {exc}")
    try:
        got_t = decode_response(got, specs)
    except ResponseError as exc:
        text = got.decode("utf-8", "replace") if isinstance(got, bytes) else got
        return Comparison(False, math.inf, f"{exc}; body: {text[:300]}")
    return compare_tensors(got_t, want_t)


def output_specs(version_dir: Path, signature: str, model_format: str) -> dict[str, str]:
    """Return output alias -> DataType name of ``signature`` from the version's manifest."""
    manifest = json.loads((version_dir / "manifest.json").read_text())
    return output_dtypes(manifest, signature, model_format)


def golden_cases(version_dir: Path) -> list[tuple[str, bytes, bytes]]:
    """Return ``(case, request body, expected response body)`` for every golden file pair."""
    cases = []
    for request in sorted((version_dir / "golden").glob("*.request.json")):
        case = request.name.removesuffix(".request.json")
        response = request.with_name(f"{case}.response.json")
        cases.append((case, request.read_bytes(), response.read_bytes()))
    return cases


def request_signature(body: bytes) -> str:
    """Return the request's ``signature_name`` or ``serving_default``."""
    doc = json.loads(body)
    return doc.get("signature_name") or "serving_default"
