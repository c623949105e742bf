"""``go_consumer serve`` run with TensorFlow Serving's own command line (tests/CONTRACT.md,
"TensorFlow Serving's flags"): ``--port``, ``--rest_api_port``, ``--model_name``,
``--model_base_path`` and the rest with TF Serving's meanings; gzip request bodies and CORS as
TF Serving's HTTP server answers them.
"""

from __future__ import annotations

import gzip
import socket

import grpc
import numpy as np
import pytest
import requests

from python_producer.tf_runtime import tf
from tests.harness.serving import SERVING, Server, copy_latest

serving_apis = pytest.importorskip(
    "tensorflow_serving.apis", reason="tensorflow-serving-api is not installed (make setup)"
)
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

TIMEOUT = 120
BODY = b'{"instances": [[1.0], [2.0]]}'

pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tf_servings_command_line_runs_unchanged(tmp_path):
    """``--port=P --rest_api_port=R --model_name=NAME --model_base_path=DIR`` (DIR the folder of
    one model's versions, named NAME, as TF Serving takes it) serves that model on both ports,
    answering what the project's own flags would."""
    version = copy_latest(tmp_path / "elsewhere", "linear")
    grpc_port, rest_port = free_port(), free_port()
    flags = [
        f"--port={grpc_port}",
        f"--rest_api_port={rest_port}",
        "--model_name=regression",
        f"--model_base_path={version.parent}",
        "--file_system_poll_wait_seconds=0",
        "--rest_api_timeout_in_ms=20000",
        "--enable_batching",
    ]
    with Server(None, *flags) as server:
        line = server.wait_for_line("serving the")
        assert f"http://127.0.0.1:{rest_port}" in line and f"127.0.0.1:{grpc_port}" in line, line
        assert "regression (version " in line and "batching:" in line, line
        answer = requests.post(
            f"http://127.0.0.1:{rest_port}/v1/models/regression:predict", data=BODY, timeout=TIMEOUT
        )
        assert answer.status_code == 200, answer.text
        expected = answer.json()["predictions"]
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "regression"
        request.inputs["x"].CopyFrom(tf().make_tensor_proto(np.array([[1.0], [2.0]])))
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            response = stub.Predict(request, timeout=TIMEOUT)
        assert tf().make_ndarray(response.outputs["y"]).tolist() == expected
        assert server.stop() == 0


def test_port_zero_means_none(tmp_path):
    """TF Serving's 0 is "no server" (the project's --rest-port 0 takes a free port)."""
    version = copy_latest(tmp_path / "models", "linear")
    flags = ["--port=0", f"--rest_api_port={free_port()}", f"--model_base_path={version.parent}"]
    with Server(None, *flags) as server:
        line = server.wait_for_line("serving the")
        assert "gRPC" not in line and "default (version " in line, line
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (["--port", "8500", "--grpc-port", "8500"], "--grpc-port and TensorFlow Serving's --port"),
        (["--model_name", "x"], "--model_name needs --model_base_path"),
        (["--rest_api_port", "-1"], "invalid --rest_api_port"),
        (["--file_system_poll_wait_seconds", "-1"], "invalid --file_system_poll_wait_seconds"),
        (["--rest_api_timeout_in_ms", "0"], "invalid --rest_api_timeout_in_ms"),
    ],
)
def test_tf_flag_refusals(tmp_path, flags, needle):
    copy_latest(tmp_path, "linear")
    base = [] if "--model_name" in flags else ["--model-base-path", str(tmp_path)]
    done = SERVING.run_process(["serve", *base, *flags], timeout=60)
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1, (flags, done.stderr)
    assert needle in lines[0], lines


def test_gzip_bodies_and_cors(tmp_path):
    """A gzip body (Content-Encoding: gzip) is answered as the plain one, the size limit bounding
    the decompressed bytes; with --rest_api_enable_cors_support every answer carries TF
    Serving's CORS headers, and a preflight needs an http(s) Origin."""
    copy_latest(tmp_path, "linear")
    flags = ["--rest_api_enable_cors_support", "--max-request-bytes", "1000"]
    with Server(tmp_path, *flags) as server:
        path = server.url + "/v1/models/linear:predict"
        plain = requests.post(path, data=BODY, timeout=TIMEOUT)
        zipped = requests.post(
            path, data=gzip.compress(BODY), headers={"Content-Encoding": "gzip"}, timeout=TIMEOUT
        )
        assert zipped.status_code == 200 and zipped.content == plain.content
        assert plain.headers["Access-Control-Allow-Origin"] == "*"
        assert plain.headers["Access-Control-Allow-Methods"] == "POST, GET"
        assert plain.headers["Access-Control-Allow-Headers"] == "Content-Type"

        bomb = gzip.compress(b'{"instances": [' + b" " * 5000 + b"[1.0]]}")
        assert len(bomb) < 1000
        over = requests.post(path, data=bomb, headers={"Content-Encoding": "gzip"}, timeout=TIMEOUT)
        assert over.status_code == 413, over.text
        broken = requests.post(
            path, data=b"not gzip", headers={"Content-Encoding": "gzip"}, timeout=TIMEOUT
        )
        assert broken.status_code == 400 and "gzip" in broken.json()["error"], broken.text

        origin = {"Origin": "https://app.example"}
        preflight = requests.options(path, headers=origin, timeout=TIMEOUT)
        assert preflight.status_code == 200 and preflight.content == b""
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        refused = requests.options(path, timeout=TIMEOUT)
        assert refused.status_code == 400
        assert refused.json() == {"error": "Origin header is missing in CORS preflight"}
        assert server.stop() == 0


def test_batching_parameters_file(tmp_path):
    """--batching_parameters_file: TF Serving's BatchingParameters text sets the batching
    parameters (the start line shows them); a field this server does not implement is refused,
    not ignored."""
    copy_latest(tmp_path / "models", "linear")
    params = tmp_path / "batching.config"
    params.write_text(
        "max_batch_size { value: 4 }\nbatch_timeout_micros { value: 500 }\n"
        "num_batch_threads { value: 1 }\nmax_enqueued_batches { value: 7 }\n"
    )
    flags = ["--enable_batching", "--batching_parameters_file", str(params)]
    with Server(tmp_path / "models", *flags) as server:
        line = server.wait_for_line("serving the")
        assert (
            "batching: --max-batch-size 4 --batch-timeout-micros 500 --num-batch-threads 1 "
            "--max-enqueued-batches 7" in line
        ), line
        answer = requests.post(server.url + "/v1/models/linear:predict", data=BODY, timeout=TIMEOUT)
        assert answer.status_code == 200 and "batch=" in server.wait_for_line("access: POST")
        assert server.stop() == 0
    params.write_text("allowed_batch_sizes: 8\n")
    done = SERVING.run_process(
        ["serve", "--model-base-path", str(tmp_path / "models"), *flags], timeout=60
    )
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert "allowed_batch_sizes is not supported" in lines[0], lines
