"""``go_consumer serve --model_config_file``: TensorFlow Serving's ModelServerConfig (several
models with their own folders, version policies including ``latest { num_versions }``, and
version labels), labels over REST (``/labels/LABEL``) and gRPC (``ModelSpec.version_label``),
TF Serving's rule that a label points at an available version, the file read again while
serving, and ``ModelService.HandleReloadConfigRequest`` through tensorflow-serving-api's stub
(tests/CONTRACT.md, "Model config file").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests

from python_producer.tf_runtime import tf
from tests.conftest import latest
from tests.harness.serving import SERVING, Server, copy_latest, publish_version

serving_apis = pytest.importorskip(
    "tensorflow_serving.apis", reason="tensorflow-serving-api is not installed (make setup)"
)
from tensorflow_serving.apis import (  # noqa: E402
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2  # noqa: E402

TIMEOUT = 120
BODY = b'{"instances": [[1.0], [2.0]]}'

pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


def config_text(models: list[tuple[str, Path, str, dict[str, int]]]) -> str:
    """A ModelServerConfig in text format: (name, base_path, policy text, labels) per model."""
    entries = []
    for name, path, policy, labels in models:
        label_text = "".join(
            f' version_labels {{ key: "{k}" value: {v} }}' for k, v in labels.items()
        )
        entries.append(
            f'  config {{ name: "{name}" base_path: "{path}" model_platform: "tensorflow"'
            f" model_version_policy {{ {policy} }}{label_text} }}"
        )
    return "model_config_list {\n" + "\n".join(entries) + "\n}\n"


def predict(server: Server, path: str) -> requests.Response:
    return requests.post(server.url + path, data=BODY, timeout=TIMEOUT)


def answer_of(version_dir: Path) -> list:
    """The linear-shaped answer of a version to BODY, as predict gives it."""
    done = SERVING.run_process(
        ["predict", "--model", str(version_dir), "--input", "-"], stdin=BODY, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["predictions"]


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """models/linear with two versions: linear's latest as V and sine's latest as V+1 (their
    answers tell them apart), and sine elsewhere."""
    base = tmp_path_factory.mktemp("config")
    first = copy_latest(base / "a", "linear")
    second = publish_version(latest("sine"), first.parent, int(first.name) + 1)
    sine = copy_latest(base / "b", "sine")
    return base, first, second, sine


def test_models_policies_and_labels(two_versions, tmp_path):
    base, first, second, sine = two_versions
    v1, v2 = int(first.name), int(second.name)
    config = tmp_path / "models.config"
    labels = {"stable": v1, "canary": v2}
    config.write_text(
        config_text([
            ("regression", first.parent, "latest { num_versions: 2 }", labels),
            ("wave", sine.parent, "latest {}", {}),
        ])
    )  # fmt: skip
    flags = ["--model_config_file", str(config), "--rest-port", "0", "--grpc-port", "0"]
    with Server(None, *flags) as server:
        assert "models and policies of" in server.wait_for_line("serving the")
        statuses = requests.get(server.url + "/v1/models/regression", timeout=TIMEOUT).json()
        assert [(s["version"], s["state"]) for s in statuses["model_version_status"]] == [
            (str(v2), "AVAILABLE"),
            (str(v1), "AVAILABLE"),
        ]
        stable = predict(server, "/v1/models/regression/labels/stable:predict")
        canary = predict(server, "/v1/models/regression/labels/canary:predict")
        assert stable.status_code == canary.status_code == 200, stable.text + canary.text
        assert stable.json()["predictions"] == answer_of(first)
        assert canary.json()["predictions"] == answer_of(second)
        by_label = requests.get(server.url + "/v1/models/regression/labels/stable", timeout=TIMEOUT)
        assert [s["version"] for s in by_label.json()["model_version_status"]] == [str(v1)]
        metadata = requests.get(
            server.url + "/v1/models/regression/labels/canary/metadata", timeout=TIMEOUT
        )
        assert metadata.json()["model_spec"]["version"] == str(v2)
        unknown = predict(server, "/v1/models/regression/labels/nope:predict")
        assert unknown.status_code == 404
        assert unknown.json() == {"error": "Unrecognized servable version label: nope"}
        assert predict(server, "/v1/models/wave:predict").status_code == 200

        with grpc.insecure_channel(server.grpc_address) as channel:
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "regression"
            request.model_spec.version_label = "canary"
            rows = np.array([[1.0], [2.0]], dtype=np.float32)  # canary is sine's: DT_FLOAT
            request.inputs["x"].CopyFrom(tf().make_tensor_proto(rows))
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            response = stub.Predict(request, timeout=TIMEOUT)
            assert response.model_spec.version.value == v2
            got = tf().make_ndarray(response.outputs["y"])
            want = np.array(canary.json()["predictions"], dtype=np.float32)
            assert got.tobytes() == want.tobytes()

            models = model_service_pb2_grpc.ModelServiceStub(channel)
            status_request = get_model_status_pb2.GetModelStatusRequest()
            status_request.model_spec.name = "regression"
            status_request.model_spec.version_label = "stable"
            answered = models.GetModelStatus(status_request, timeout=TIMEOUT)
            assert [s.version for s in answered.model_version_status] == [v1]

            # HandleReloadConfigRequest: "wave" left out is unloaded, "stable" moves to V+1.
            reload = model_management_pb2.ReloadConfigRequest()
            reload.config.CopyFrom(model_server_config_pb2.ModelServerConfig())
            entry = reload.config.model_config_list.config.add()
            entry.name, entry.base_path = "regression", str(first.parent)
            entry.model_platform = "tensorflow"
            entry.model_version_policy.latest.num_versions = 2
            entry.version_labels["stable"] = v2
            reloaded = models.HandleReloadConfigRequest(reload, timeout=TIMEOUT)
            assert reloaded.status.error_code == 0, reloaded.status
        assert predict(server, "/v1/models/wave:predict").status_code == 404
        moved = predict(server, "/v1/models/regression/labels/stable:predict")
        assert moved.json()["predictions"] == answer_of(second)
        server.wait_for_line("model wave: no longer in the model config; unloading")
        assert server.stop() == 0


def test_a_label_on_an_unavailable_version_stops_the_start(two_versions, tmp_path):
    """TF Serving's rule: a label may only point at an available version, unless
    --allow_version_labels_for_unavailable_models (then only a new label may)."""
    _, first, _, _ = two_versions
    config = tmp_path / "models.config"
    config.write_text(config_text([("regression", first.parent, "latest {}", {"stable": 99})]))
    done = SERVING.run_process(
        ["serve", "--model_config_file", str(config), "--rest-port", "0", "--grpc-port", "0"],
        timeout=TIMEOUT,
    )
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2, done.stderr
    assert lines[-1] == (
        f"go_consumer: error: serve: cannot start: --model-config-file {config}: Request to "
        "assign label stable to version 99 of model regression, which is not currently "
        "available for inference"
    )
    flags = ["--model_config_file", str(config), "--allow_version_labels_for_unavailable_models"]
    with Server(None, *flags, "--rest-port", "0", "--grpc-port", "0") as server:
        answer = predict(server, "/v1/models/regression/labels/stable:predict")
        assert answer.status_code == 404, answer.text  # version 99 is not served
        assert server.stop() == 0


def test_the_config_file_is_read_again(two_versions, tmp_path):
    """--model_config_file_poll_wait_seconds: a model added to the file is loaded, and one
    taken out is unloaded, while the server runs."""
    _, first, _, sine = two_versions
    config = tmp_path / "models.config"
    config.write_text(config_text([("regression", first.parent, "latest {}", {})]))
    flags = ["--model_config_file", str(config), "--model_config_file_poll_wait_seconds", "1"]
    with Server(None, *flags, "--rest-port", "0", "--grpc-port", "0") as server:
        assert predict(server, "/v1/models/wave:predict").status_code == 404
        staged = tmp_path / "models.config.new"  # replaced in one step, as a deploy tool does
        staged.write_text(config_text([("wave", sine.parent, "latest {}", {})]))
        staged.replace(config)
        deadline = time.monotonic() + 60
        while predict(server, "/v1/models/wave:predict").status_code != 200:
            assert time.monotonic() < deadline, server.stderr
            time.sleep(0.2)
        server.wait_for_line("model regression: no longer in the model config; unloading")
        assert predict(server, "/v1/models/regression:predict").status_code == 404
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("text", "flags", "needle"),
    [
        ("model_config_list {}", [], "model_config_list has no config"),
        ("nonsense", [], "not a tensorflow.serving.ModelServerConfig"),
        (None, ["--model-base-path", "x"], "--model-base-path cannot be combined"),
    ],
)
def test_config_refusals(tmp_path, text, flags, needle):
    config = tmp_path / "models.config"
    if text is not None:
        config.write_text(text)
    else:
        config.write_text('model_config_list { config { name: "a" base_path: "/x" } }')
    done = SERVING.run_process(["serve", "--model-config-file", str(config), *flags], timeout=60)
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert needle in lines[0], lines
