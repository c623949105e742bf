"""The ``soak`` command in every consumer (tests/CONTRACT.md, "Memory soak").

Only the contract is checked here (fields, counts, refusals); the memory figures themselves
are measured by ``make bench`` (tests/harness/memory.py), never asserted in a unit test.
"""

from __future__ import annotations

import json

import pytest

from tests.harness.consumers import CONSUMERS, MODELS
from tests.harness.memory import REQUEST

KEYS = [
    "runtime",
    "tensorflow_version",
    "model",
    "signature",
    "format",
    "predictions",
    "predictions_rss_kib",
    "predictions_seconds",
    "load_cycles",
    "load_cycles_rss_kib",
    "load_cycles_seconds",
]


@pytest.fixture(params=CONSUMERS, ids=lambda c: c.name)
def consumer(request):
    missing = request.param.missing()
    assert missing is None, missing
    return request.param


def test_soak_reports_the_contracts_fields(consumer):
    # A real process: the resident set size is the process's own.
    done = consumer.run_process(
        ["soak", "--model", str(MODELS / "linear"), "--predictions", "30", "--load-cycles", "2"],
        stdin=REQUEST,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    result = json.loads(done.stdout)
    assert list(result) == KEYS
    assert result["runtime"] == consumer.name
    assert result["tensorflow_version"] == "2.21.0"
    assert result["model"].startswith(str(MODELS / "linear"))
    assert (result["signature"], result["format"]) == ("serving_default", "saved_model")
    assert (result["predictions"], result["load_cycles"]) == (30, 2)
    for pair in (result["predictions_rss_kib"], result["load_cycles_rss_kib"]):
        assert len(pair) == 2 and all(isinstance(v, int) and v > 10_000 for v in pair), pair
    assert result["predictions_seconds"] >= 0 and result["load_cycles_seconds"] > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--predictions", "0"], "--predictions"),
        (["--load-cycles", "-3"], "--load-cycles"),
        (["--predictions", "many"], "--predictions"),
    ],
)
def test_soak_refuses_bad_counts(consumer, args, needle):
    done = consumer.run(["soak", "--model", str(MODELS / "linear"), *args], stdin=REQUEST)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines


def test_soak_refuses_a_bad_request_before_the_loop(consumer):
    done = consumer.run(
        ["soak", "--model", str(MODELS / "linear"), "--predictions", "100000000"],
        stdin=b'{"instances": [["abc"]]}',
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and "DT_DOUBLE" in lines[0], lines
    assert done.stdout == b""
