"""The load test's machinery (tests/CONTRACT.md, "Load test"): loadgen, the Python baseline
server and the checks, on a small load. Speeds are measured by ``make bench``, never asserted.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import latest
from tests.harness import loadtest
from tests.harness.consumers import MODELS, ROOT
from tests.harness.serving import Server

pytestmark = pytest.mark.slow

REQUESTS = 200  # 10 of them malformed


@pytest.fixture(scope="module")
def runs():
    if not loadtest.LOADGEN.exists():
        pytest.fail(f"{loadtest.LOADGEN} is not built; run `make go`")
    return loadtest.load_test(
        MODELS, ["linear"], concurrency=(1, 8), requests=REQUESTS, log=lambda *_: None
    )


def test_every_server_and_protocol_answers_the_reference_bits(runs):
    done, problems = runs
    assert problems == []
    cells = {(r["server"], r["protocol"], r["concurrency"]) for r in done}
    assert cells == {
        (s, p, c) for s in loadtest.SERVERS for p in loadtest.PROTOCOLS for c in (1, 8)
    }
    for run in done:
        assert run["requests"] == REQUESTS
        assert (run["ok"], run["failed"]) == (REQUESTS - REQUESTS // 20, 0), run
        assert (run["refused"], run["unexpected"]) == (REQUESTS // 20, 0), run
        assert run["rps"] > 0 and run["latency_us"]["p99"] >= run["latency_us"]["median"] > 0


def test_targets_and_markdown_come_from_the_runs(runs):
    done, problems = runs
    found = loadtest.targets(done)
    assert {(t["target"], t["protocol"]) for t in found} == {
        ("go_vs_python", "grpc"),
        ("go_vs_python", "rest"),
    }  # sine was not run, so no batching target
    doc = {
        "environment": {"tensorflow": "2.21.0", "cpus": 2, "machine": "x86_64"},
        "requests": REQUESTS,
        "malformed_fraction": 0.05,
        "runs": done,
        "targets": found,
        "problems": problems,
    }
    text = loadtest.markdown(doc)
    assert text.count("| linear | grpc |") == 6 and text.count("| linear | rest |") == 6


@pytest.fixture(scope="module")
def linear_plan():
    return loadtest.make_plan(latest("linear"))


def test_a_wrong_answer_is_caught(linear_plan):
    from python_producer import tf_runtime

    tf = tf_runtime.tf()
    from tensorflow_serving.apis import predict_pb2

    plan = linear_plan
    alias = next(iter(plan.expected[0]))
    right = predict_pb2.PredictResponse()
    right.outputs[alias].CopyFrom(tf.make_tensor_proto(plan.expected[0][alias]))
    wrong = predict_pb2.PredictResponse()
    nudged = plan.expected[0][alias].copy()
    nudged.flat[0] = np.nextafter(nudged.flat[0], np.inf)
    wrong.outputs[alias].CopyFrom(tf.make_tensor_proto(nudged))

    def report(response) -> dict:
        answer = base64.b64encode(response.SerializeToString()).decode()
        return {"answer_kind": "grpc_base64", "answers": [answer]}

    assert loadtest.check_answers(plan, report(right)) == []
    assert "differs" in loadtest.check_answers(plan, report(wrong))[0]
    body = {"answer_kind": "rest_body", "answers": [plan.expected_bodies[0]]}
    assert loadtest.check_answers(plan, body) == []
    body["answers"] = [plan.expected_bodies[0].replace("-", "", 1)]
    assert loadtest.check_answers(plan, body) != []


def test_check_counts_failures_and_missed_refusals():
    clean = {"ok": 19, "failed": 0, "well_formed": 19, "refused": 1, "unexpected": 0}
    assert loadtest.check({**clean, "malformed": 1, "errors": []}) == []
    bad = {**clean, "ok": 18, "failed": 1, "refused": 0, "unexpected": 1, "malformed": 1}
    found = loadtest.check({**bad, "errors": ["well-formed request 3: HTTP 500"]})
    assert "1 well-formed request(s) failed" in found
    assert "1 malformed request(s) not refused" in found
    assert "well-formed request 3: HTTP 500" in found


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--protocol", "udp"], '--protocol "udp": expected rest or grpc'),
        (["--requests", "0"], "--requests 0: expected at least 1"),
        (["--concurrency", "-1"], "--concurrency -1: expected at least 1"),
        (["--malformed-fraction", "1.5"], "--malformed-fraction 1.5: expected a number in [0, 1)"),
        (["--plan", "/nonexistent.json"], "cannot read --plan"),
    ],
)
def test_loadgen_refuses_bad_flags(flags, needle, tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"well_formed": [{"rest": "{}", "grpc": ""}], "malformed": []}))
    base = ["--address", "127.0.0.1:1", "--model", "m", "--plan", str(plan)]
    done = subprocess.run(
        [str(loadtest.LOADGEN), *base, *flags], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr


def test_python_server_refuses_an_unknown_model():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.harness.python_server",
            "--model-base-path",
            str(MODELS),
            "--model-name",
            "no_such_model",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2
    assert "no_such_model has no complete version" in done.stderr.strip().splitlines()[-1]


def test_python_server_stops_on_sigterm():
    server = Server(
        MODELS,
        "--model-name",
        "linear",
        command=[sys.executable, "-m", "tests.harness.python_server"],
        cwd=ROOT,
    )
    assert server.address and server.grpc_address
    assert server.stop() == 0
    assert server.lines[-1] == "stopped"
