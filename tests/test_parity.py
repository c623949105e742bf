"""Every golden request through every consumer and format gives the golden bits; and a request
the producer never saw gives the same bits in Go and Java as in Python."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from python_producer.producer.models import ZOO
from tests.conftest import latest
from tests.harness.compare import compare_bodies, golden_cases, output_specs, request_signature
from tests.harness.consumers import FORMATS, MODELS, by_name, compared, reference
from tests.harness.parity import load_tolerances, run_model, signatures_in, unused_tolerances


@pytest.mark.parametrize("model_format", FORMATS)
@pytest.mark.parametrize("model", sorted(ZOO))
def test_golden_responses_bit_identical(consumer, model, model_format):
    """Every signature of every zoo model: the golden bits, or the tolerance granted per cell."""
    version_dir = latest(model)
    cells = run_model(consumer, version_dir, model_format)
    assert {c.signature for c in cells} == set(signatures_in(version_dir, "saved_model"))
    for cell in cells:
        assert cell.ok, f"{cell.model} {cell.signature}: {cell.status()}\n" + "\n".join(
            cell.failures
        )
        if cell.tolerance is None:
            assert cell.max_ulp == 0
        else:
            assert cell.max_ulp <= cell.tolerance.max_ulp


def test_tolerances_name_existing_cells():
    assert unused_tolerances(load_tolerances(), MODELS) == []


@pytest.mark.parametrize("model", sorted(ZOO))
def test_every_signature_has_golden_cases(model):
    version_dir = latest(model)
    covered = {request_signature(r) for _, r, _ in golden_cases(version_dir)}
    assert covered == set(signatures_in(version_dir, "saved_model"))


def _random_request(rng: np.random.Generator) -> str:
    """A request no producer wrote: random shapes, random float64 bit patterns included."""
    rows, cols = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    values = rng.normal(0, 10.0 ** rng.integers(-5, 6), size=(rows, cols))
    # A third of the entries are arbitrary bit patterns: subnormals, huge values, NaN, inf.
    mask = rng.random(values.shape) < 0.33
    raw = rng.integers(0, 2**64, size=values.shape, dtype=np.uint64).view(np.float64)
    values = np.where(mask, raw, values)

    def fmt(v: float) -> str:
        if np.isnan(v):
            return "NaN"
        if np.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(float(v))

    body = "[" + ", ".join("[" + ", ".join(fmt(v) for v in row) + "]" for row in values) + "]"
    if rng.random() < 0.5:
        return json.dumps({"signature_name": "serving_default", "instances": None}).replace(
            "null", body
        )
    return '{"inputs": {"x": ' + body + "}}"


@pytest.mark.parametrize("model_format", FORMATS)
@pytest.mark.parametrize("language", compared())
def test_unseen_requests_match_python(language, model_format, linear_dir):
    seed = int(os.environ.get("PARITY_SEED", np.random.SeedSequence().entropy % 2**32))
    rng = np.random.default_rng(seed)
    requests = [_random_request(rng).encode() for _ in range(20)]
    specs = output_specs(linear_dir, "serving_default", model_format)
    other = by_name(language)
    assert other.missing() is None, other.missing()
    wants = reference().serve_stdio(linear_dir, requests, model_format)
    gots = other.serve_stdio(linear_dir, requests, model_format)
    for request, want, got in zip(requests, wants, gots, strict=True):
        result = compare_bodies(got, want, specs)
        assert result.identical, (
            f"{language} differs from {reference().name} (PARITY_SEED={seed}): {result.detail}\n"
            f"request: {request[:500]!r}"
        )


def test_golden_requests_cover_both_formats(linear_dir):
    bodies = [json.loads(r) if b"NaN" not in r else None for _, r, _ in golden_cases(linear_dir)]
    keys = {k for b in bodies if b for k in b}
    assert {"instances", "inputs"} <= keys
    assert all(request_signature(r) == "serving_default" for _, r, _ in golden_cases(linear_dir))


def _leaves(value):
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


@pytest.mark.parametrize("case", ["signed_zeros", "matrix_signed_zeros"])
def test_signed_zeros_survive_a_token_typed_json_reader(consumer, case):
    """A negative zero is written ``-0.0`` (tests/CONTRACT.md, "Request and response bodies"):
    read with Python's ``json`` (which types ``-0`` as the integer 0), every float zero of every
    consumer's answer keeps the golden's sign; both cases compute negative zeros."""
    version_dir = latest("dtypes")
    golden_dir = version_dir / "golden"
    request = (golden_dir / f"{case}.request.json").read_bytes()
    golden = list(_leaves(json.loads((golden_dir / f"{case}.response.json").read_text())))
    (answer,) = consumer.serve_stdio(version_dir, [request], "saved_model")
    got = list(_leaves(json.loads(answer)))
    assert len(got) == len(golden), answer
    zeros = [i for i, v in enumerate(golden) if isinstance(v, float) and v == 0]
    assert any(np.signbit(golden[i]) for i in zeros), f"{case} computes no negative zero"
    signs = [bool(np.signbit(float(got[i]))) for i in zeros]
    assert signs == [bool(np.signbit(golden[i])) for i in zeros], answer


def test_a_repeated_member_keeps_its_last_value(consumer, linear_dir):
    """tests/CONTRACT.md, "Request and response bodies": a member name given twice counts once,
    with its last value, in every consumer (the answer is that of the last value alone)."""
    twice = b'{"instances": [[1.0]], "instances": [[2.0], [3.0]]}'
    once = b'{"instances": [[2.0], [3.0]]}'
    got, want = consumer.serve_stdio(linear_dir, [twice, once], "saved_model")
    specs = output_specs(linear_dir, "serving_default", "saved_model")
    assert compare_bodies(got, want, specs).identical, got
