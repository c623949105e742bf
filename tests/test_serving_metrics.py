"""``go_consumer serve``'s Prometheus metrics (tests/CONTRACT.md, "Metrics"): TensorFlow
Serving's names, labels and units on the REST port, behind TF Serving's own
``--monitoring_config_file``. A scrape after a known number of requests and refusals, over REST
(``requests``) and gRPC (``tensorflow-serving-api``'s stub), is parsed with the Prometheus
text parser of ``prometheus_client`` and its counts must be exactly those.
"""

from __future__ import annotations

import grpc
import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from python_producer.tf_runtime import tf
from tests.harness.serving import SERVING, Server, copy_latest

serving_apis = pytest.importorskip(
    "tensorflow_serving.apis", reason="tensorflow-serving-api is not installed (make setup)"
)
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

TIMEOUT = 120
METRICS = "/monitoring/prometheus/metrics"
ROWS = [[1.0], [2.0]]  # two rows: batched without the 1-row probe

pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


def scrape(server: Server) -> tuple[dict[tuple[str, frozenset], float], dict[str, str]]:
    """Every sample of a scrape, (name, labels) -> value, and every family's type, as
    prometheus_client's parser reads them."""
    answer = requests.get(server.url + METRICS, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["Content-Type"].startswith("text/plain"), answer.headers
    assert "_total{" not in answer.text and "_total " not in answer.text, answer.text[:2000]
    samples = {}
    types = {}
    for family in text_string_to_metric_families(answer.text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples, name: str, **labels) -> float:
    """A sample's value (0 when absent). prometheus_client's parser names a counter's sample
    NAME_total; the exposition itself writes NAME, as TF Serving does (checked below)."""
    key = frozenset(labels.items())
    return samples.get((name, key), samples.get((name + "_total", key), 0.0))


def grpc_predict(channel, model: str, rows) -> grpc.StatusCode:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs["x"].CopyFrom(tf().make_tensor_proto(np.array(rows)))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    try:
        stub.Predict(request, timeout=TIMEOUT)
    except grpc.RpcError as refused:
        return refused.code()
    return grpc.StatusCode.OK


def test_counts_after_known_requests_and_refusals(tmp_path):
    base = tmp_path / "models"
    version = copy_latest(base, "linear")
    config = tmp_path / "monitoring.config"
    config.write_text(f'prometheus_config {{\n  enable: true,\n  path: "{METRICS}"\n}}\n')
    flags = ["--monitoring_config_file", str(config), "--enable-batching"]
    with Server(base, *flags) as server, grpc.insecure_channel(server.grpc_address) as channel:
        assert f"Prometheus metrics at {METRICS}" in server.wait_for_line("serving the")
        before, _ = scrape(server)
        count = ":tensorflow:serving:request_count"
        assert value(before, count, model_name="linear", status="OK") == 0
        path = "/v1/models/linear:predict"
        ok_body = b'{"instances": [[1.0], [2.0]]}'
        for _ in range(5):
            assert requests.post(server.url + path, data=ok_body, timeout=TIMEOUT).ok
        for _ in range(2):
            bad = requests.post(server.url + path, data=b'{"instances": [["x"]]}', timeout=TIMEOUT)
            assert bad.status_code == 400
        missing = "/v1/models/nope:predict"
        assert requests.post(server.url + missing, data=ok_body, timeout=TIMEOUT).status_code == 404
        for _ in range(3):
            assert grpc_predict(channel, "linear", ROWS) == grpc.StatusCode.OK
        assert grpc_predict(channel, "linear", [[1, 2]]) == grpc.StatusCode.INVALID_ARGUMENT

        after, types = scrape(server)
        assert types[count] == "counter", types
        assert types[":tensorflow:serving:request_latency"] == "histogram", types
        assert value(after, count, model_name="linear", status="OK") == 5 + 3
        assert value(after, count, model_name="linear", status="INVALID_ARGUMENT") == 2 + 1
        assert value(after, count, model_name="nope", status="NOT_FOUND") == 1
        latency = ":tensorflow:serving:request_latency_count"
        assert value(after, latency, model_name="linear", API="predict", entrypoint="REST") == 5
        assert value(after, latency, model_name="linear", API="Predict", entrypoint="GRPC") == 3
        assert value(
            after, ":tensorflow:serving:request_latency_bucket",
            model_name="linear", API="predict", entrypoint="REST", le="+Inf",
        ) == 5  # fmt: skip
        runtime = ":tensorflow:serving:runtime_latency_count"
        assert value(after, runtime, model_name="linear", API="Predict", runtime="TF1") == 8
        assert value(
            after, ":tensorflow:cc:saved_model:load_attempt_count",
            model_path=str(version), status="success",
        ) == 1  # fmt: skip
        assert value(after, ":tensorflow:cc:saved_model:load_latency", model_path=str(version)) > 0

        # Batching: the 8 good requests of 2 rows each entered a queue and were run, merged or
        # alone, in as many session runs as processed batches.
        batching = ":tensorflow:serving:batching_session:"
        assert value(after, batching + "input_batch_size_count") == 8
        assert value(after, batching + "input_batch_size_sum") == 16
        assert value(after, batching + "processed_batch_size_sum") == 16
        runs = value(after, batching + "wrapped_run_count")
        assert 1 <= runs <= 8
        assert value(after, batching + "processed_batch_size_count") == runs
        queued = batching + "queuing_latency_count"
        assert value(after, queued, thread_pool_name="batch_threads") == 8
        assert server.stop() == 0


def test_monitoring_config_refusals(tmp_path):
    """A missing file is NOT_FOUND; one that is no MonitoringConfig, or that enables Prometheus
    with the REST API off, is a refusal naming the flag (exit status 2, one line)."""
    base = tmp_path / "models"
    copy_latest(base, "linear")
    bad = tmp_path / "bad.config"
    bad.write_text("prometheus_config { enabled: true }\n")
    good = tmp_path / "good.config"
    good.write_text("prometheus_config { enable: true }\n")
    for flags, needle in [
        (["--monitoring_config_file", str(tmp_path / "missing")], "does not exist"),
        (["--monitoring-config-file", str(bad)], "not a tensorflow.serving.MonitoringConfig"),
        (["--monitoring-config-file", str(good), "--rest-port", "off"], "--rest-port is off"),
    ]:
        done = SERVING.run_process(["serve", "--model-base-path", str(base), *flags], timeout=60)
        lines = done.stderr.decode().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (flags, done.stderr)
        assert lines[0].startswith("go_consumer: error: serve: ") and needle in lines[0], lines
