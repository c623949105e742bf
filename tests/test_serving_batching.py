"""``go_consumer serve --enable-batching``: concurrent requests are merged into one session run
and split back, and every answer stays bit-identical to the golden one (tests/CONTRACT.md,
"Serving (`serve`)", "Batching").

Every golden request of ``linear``, ``sine`` and ``dtypes`` is sent several times, over REST and
gRPC, from 16 threads at once; the access log's ``batch=ROWS/REQUESTS`` field shows that runs
were merged.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from python_producer.tf_runtime import tf
from tests.conftest import latest
from tests.harness.compare import (
    compare_bodies,
    compare_tensors,
    golden_cases,
    output_specs,
    request_signature,
)
from tests.harness.decode import decode_response
from tests.harness.serving import SERVING, Server, copy_latest

grpc = pytest.importorskip("grpc")
pytest.importorskip(
    "tensorflow_serving.apis", reason="tensorflow-serving-api is not installed (make setup)"
)
from tensorflow_serving.apis import prediction_service_pb2_grpc  # noqa: E402

from tests.test_serving_grpc import predict_request  # noqa: E402

TIMEOUT = 120
MODELS = ("linear", "sine", "dtypes")
THREADS = 16
REPEAT = 3  # each golden request is sent this many times per API
BATCH = re.compile(r" batch=(\d+)/(\d+)$")


pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


@pytest.fixture(scope="module")
def batching(tmp_path_factory):
    """A server with batching on over copies of the models' latest versions. The batch timeout
    is long (20 ms) so that concurrent requests are merged."""
    base = tmp_path_factory.mktemp("serving_batching")
    versions = {name: copy_latest(base, name) for name in MODELS}
    flags = ["--enable-batching", "--max-batch-size", "32", "--batch-timeout-micros", "20000"]
    flags += ["--num-batch-threads", "4", "--max-enqueued-batches", "1000"]
    with Server(base, *flags) as server:
        assert "batching: --max-batch-size 32 --batch-timeout-micros 20000" in server.stderr
        yield server, versions
        assert server.stop() == 0, server.stderr  # the batches drained, every version closed
        assert server.lines[-1] == "go_consumer: stopped", server.lines[-5:]


def _rest(
    server: Server, name: str, version_dir: Path, case: str, body: bytes, expected: bytes
) -> str | None:
    response = requests.post(f"{server.url}/v1/models/{name}:predict", data=body, timeout=TIMEOUT)
    if response.status_code != 200:
        return f"REST {name} {case}: {response.status_code} {response.text[:300]}"
    specs = output_specs(version_dir, request_signature(body), "saved_model")
    comparison = compare_bodies(response.content, expected, specs)
    return None if comparison.identical else f"REST {name} {case}: {comparison.detail}"


_local = threading.local()


def _stub(server: Server):
    """One gRPC channel per thread."""
    if getattr(_local, "address", None) != server.grpc_address:
        _local.channel = grpc.insecure_channel(server.grpc_address)
        _local.address = server.grpc_address
    return prediction_service_pb2_grpc.PredictionServiceStub(_local.channel)


def _grpc(
    server: Server, name: str, version_dir: Path, case: str, body: bytes, expected: bytes
) -> str | None:
    signature = request_signature(body)
    try:
        response = _stub(server).Predict(predict_request(name, version_dir, body), timeout=TIMEOUT)
    except grpc.RpcError as error:
        return f"gRPC {name} {case}: {error.code()} {error.details()}"
    got = {alias: tf().make_ndarray(proto) for alias, proto in response.outputs.items()}
    want = decode_response(expected, output_specs(version_dir, signature, "saved_model"))
    comparison = compare_tensors(got, want)
    return None if comparison.identical else f"gRPC {name} {case}: {comparison.detail}"


def test_concurrent_golden_requests_bit_identical_and_merged(batching):
    server, versions = batching
    tasks = []
    for name, version_dir in versions.items():
        cases = golden_cases(version_dir)
        assert cases, f"{version_dir} has no golden requests"
        for case, body, expected in cases:
            for api in (_rest, _grpc):
                tasks += [(api, name, version_dir, case, body, expected)] * REPEAT
    before = len(server.lines)
    with ThreadPoolExecutor(THREADS) as pool:
        failures = [f for f in pool.map(lambda t: t[0](server, *t[1:]), tasks) if f]
    assert not failures, "\n".join(failures[:20])

    def predict_lines() -> list[str]:
        lines = server.lines[before:]
        return [ln for ln in lines if ":predict 200 " in ln or "/Predict OK " in ln]

    # An access line is written just after its answer is sent: wait for the last ones.
    deadline = time.monotonic() + 30
    while len(access := predict_lines()) < len(tasks) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(access) == len(tasks), server.lines[before:][:20]
    merged = []
    for line in access:
        match = BATCH.search(line)  # absent for a signature that cannot be merged
        if match and int(match.group(2)) > 1:
            merged.append(line)
    assert merged, "no merged run:\n" + "\n".join(access[:20])
    print(f"{len(merged)} of {len(access)} predict requests answered by a merged run")


def test_batching_flags_refused_without_enable_batching(tmp_path):

    result = subprocess.run(
        [
            *SERVING.argv,
            "serve",
            "--model-base-path",
            str(latest("linear").parent.parent),
            "--max-batch-size",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == "go_consumer: error: serve: --max-batch-size needs --enable-batching\n"
