"""``go_consumer serve``: TensorFlow Serving's gRPC API, queried with the official client of
``tensorflow-serving-api`` unchanged (tests/CONTRACT.md, "Serving (`serve`)").

Every golden request of every zoo model is turned into TensorProtos with ``tf.make_tensor_proto``
(tensor_content, strings in string_val) and those of ``linear`` and ``dtypes`` again with the
dtypes' repeated fields (``float_val``, ``int_val``, ...); the outputs, read back with
``tf.make_ndarray``, must carry the golden response's bits. New and damaged versions published
while the server runs are seen through ``GetModelStatus`` and ``Predict``, as test_serving.py
sees them over REST.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from python_producer.producer.models import ZOO
from python_producer.reference.model_dir import specs_from_manifest
from python_producer.reference.tfjson import decode_inputs, parse_request
from python_producer.tf_runtime import tf
from tests.conftest import latest
from tests.harness.compare import compare_tensors, golden_cases, output_specs, request_signature
from tests.harness.consumers import MODELS as MODELS_DIR
from tests.harness.decode import decode_response
from tests.harness.serving import (
    SERVING,
    Server,
    copy_latest,
    go_tolerance,
    publish_version,
    truncate_saved_model,
    wait_for_version,
)

serving_apis = pytest.importorskip(
    "tensorflow_serving.apis", reason="tensorflow-serving-api is not installed (make setup)"
)
from tensorflow_serving.apis import (  # noqa: E402
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

TIMEOUT = 120
LIMIT = 1 << 20  # --max-request-bytes of the small server
MODELS = ("linear", "dtypes")


pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A server over copies of linear's and dtypes' latest versions, --max-request-bytes 1 MiB,
    with a channel to its gRPC API."""
    base = tmp_path_factory.mktemp("serving_grpc")
    versions = {name: copy_latest(base, name) for name in MODELS}
    with Server(base, "--max-request-bytes", str(LIMIT)) as server:
        assert server.grpc_address.startswith("127.0.0.1:"), server.lines
        with grpc.insecure_channel(server.grpc_address) as channel:
            yield server, versions, channel


def prediction(channel) -> prediction_service_pb2_grpc.PredictionServiceStub:
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


def input_specs(version_dir: Path, signature: str):
    manifest = json.loads((version_dir / "manifest.json").read_text())
    return specs_from_manifest(manifest["signatures"][signature]["saved_model"]["inputs"])


def typed_proto(array: np.ndarray):
    """The TensorProto of ``array`` with its values in the dtype's repeated field (no
    tensor_content)."""
    proto = tf().make_tensor_proto(array)
    if array.dtype == object or array.dtype.kind in "SU":
        return proto  # strings are in string_val already
    for field in ("tensor_content", "half_val", "float_val", "double_val", "int_val"):
        proto.ClearField(field)
    for field in ("int64_val", "uint32_val", "uint64_val", "bool_val"):
        proto.ClearField(field)
    flat = array.ravel()
    kind = array.dtype
    if kind == np.float16:
        proto.half_val.extend(int(v) for v in flat.view(np.uint16))
    elif kind == np.float32:
        proto.float_val.extend(flat.tolist())
    elif kind == np.float64:
        proto.double_val.extend(flat.tolist())
    elif kind in (np.int8, np.int16, np.int32, np.uint8, np.uint16):
        proto.int_val.extend(int(v) for v in flat)
    elif kind == np.int64:
        proto.int64_val.extend(int(v) for v in flat)
    elif kind == np.uint32:
        proto.uint32_val.extend(int(v) for v in flat)
    elif kind == np.uint64:
        proto.uint64_val.extend(int(v) for v in flat)
    elif kind == np.bool_:
        proto.bool_val.extend(bool(v) for v in flat)
    else:
        raise AssertionError(f"no repeated field for {kind}")
    return proto


def predict_request(name: str, version_dir: Path, body: bytes, typed: bool = False):
    """The PredictRequest of a golden JSON request body."""
    signature = request_signature(body)
    arrays = decode_inputs(parse_request(body), input_specs(version_dir, signature), signature)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    for alias, array in arrays.items():
        proto = typed_proto(array) if typed else tf().make_tensor_proto(array)
        request.inputs[alias].CopyFrom(proto)
    return request


def assert_golden_grpc(
    channel,
    name: str,
    version_dir: Path,
    typed: bool = False,
    version: int | None = None,
    pin: bool = False,
    tolerance=None,
    rest: Server | None = None,
) -> int:
    """Every golden request of ``version_dir`` through ``Predict`` of model ``name`` gives the
    golden bits (or stays within ``tolerance(signature)``'s ULP when it grants any). The answer
    must come from ``version`` (default: the folder's own number); ``pin`` names that version in
    the request. With ``rest``, the same request to that server's REST API must answer the very
    same bits. Returns the number of cases."""
    stub = prediction(channel)
    version = int(version_dir.name) if version is None else version
    cases = golden_cases(version_dir)
    assert cases, f"{version_dir} has no golden requests"
    for case, body, expected in cases:
        signature = request_signature(body)
        request = predict_request(name, version_dir, body, typed)
        if pin:
            request.model_spec.version.value = version
        response = stub.Predict(request, timeout=TIMEOUT)
        assert response.model_spec.name == name
        assert response.model_spec.version.value == version, case
        assert response.model_spec.signature_name == signature
        specs = output_specs(version_dir, signature, "saved_model")
        for alias, proto in response.outputs.items():
            if specs[alias] == "DT_STRING":
                assert not proto.tensor_content, (case, alias)
            else:  # TF Serving's AsProtoTensorContent
                assert (
                    proto.tensor_content
                    or not proto.tensor_shape.dim
                    or any(d.size == 0 for d in proto.tensor_shape.dim)
                ), (case, alias)
        got = {alias: tf().make_ndarray(proto) for alias, proto in response.outputs.items()}
        want = decode_response(expected, specs)
        comparison = compare_tensors(got, want)
        granted = tolerance(signature) if tolerance else None
        if granted is None:
            assert comparison.identical, f"{version_dir} {case}: {comparison.detail}"
        else:
            assert comparison.max_ulp <= granted.max_ulp, f"{case}: {comparison.detail}"
        if rest is not None:
            path = f"/v1/models/{name}/versions/{version}:predict"
            answer = requests.post(rest.url + path, data=body, timeout=TIMEOUT)
            assert answer.status_code == 200, (case, answer.text[:300])
            same = compare_tensors(got, decode_response(answer.content, specs))
            assert same.identical, f"{version_dir} {case}: gRPC != REST: {same.detail}"
    return len(cases)


@pytest.mark.parametrize("typed", [False, True], ids=["tensor_content", "repeated_fields"])
def test_golden_requests_bit_identical(small, typed):
    _, versions, channel = small
    for name, version_dir in versions.items():
        assert assert_golden_grpc(channel, name, version_dir, typed) > 0


def test_specific_version_and_output_filter(small):
    _, versions, channel = small
    version_dir = versions["dtypes"]
    _, body, expected = golden_cases(version_dir)[0]
    request = predict_request("dtypes", version_dir, body)
    request.model_spec.version.value = int(version_dir.name)
    specs = output_specs(version_dir, request.model_spec.signature_name, "saved_model")
    keep = sorted(specs)[:1]
    request.output_filter.extend(keep)
    response = prediction(channel).Predict(request, timeout=TIMEOUT)
    assert sorted(response.outputs) == keep
    want = decode_response(expected, specs)
    got = {a: tf().make_ndarray(p) for a, p in response.outputs.items()}
    assert compare_tensors(got, {a: want[a] for a in keep}).identical


def _shape(proto) -> list[int] | None:
    if proto.unknown_rank:
        return None
    return [d.size for d in proto.dim]


def test_metadata_matches_inspect(small):
    _, versions, channel = small
    for name, version_dir in versions.items():
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = name
        response = prediction(channel).GetModelMetadata(request, timeout=TIMEOUT)
        assert response.model_spec.name == name
        assert response.model_spec.version.value == int(version_dir.name)
        assert list(response.metadata) == ["signature_def"]
        defs = get_model_metadata_pb2.SignatureDefMap()
        assert response.metadata["signature_def"].Unpack(defs)

        done = SERVING.run(["inspect", "--model", str(version_dir), "--json"])
        assert done.returncode == 0, done.stderr.decode()
        (serve,) = [m for m in json.loads(done.stdout)["meta_graphs"] if m["tags"] == ["serve"]]
        signatures = serve["signatures"]
        assert sorted(defs.signature_def) == sorted(signatures)
        for key, sig in signatures.items():
            got_def = defs.signature_def[key]
            assert got_def.method_name == sig["method_name"], key
            for side in ("inputs", "outputs"):
                got = {
                    alias: {
                        "dtype": _dtype_name(t.dtype),
                        "shape": _shape(t.tensor_shape),
                        "name": t.name,
                    }
                    for alias, t in getattr(got_def, side).items()
                }
                assert got == sig[side], (name, key, side)


def _dtype_name(enum_value: int) -> str:
    from tensorflow.core.framework import types_pb2

    return types_pb2.DataType.Name(enum_value)


def test_status_available(small):
    _, versions, channel = small
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    for name, version_dir in versions.items():
        for version in (None, int(version_dir.name)):
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = name
            if version is not None:
                request.model_spec.version.value = version
            response = stub.GetModelStatus(request, timeout=TIMEOUT)
            (status,) = response.model_version_status
            assert status.version == int(version_dir.name)
            assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
            assert status.status.error_code == 0
            assert status.status.error_message == ""


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_not_found(small):
    _, versions, channel = small
    stub = prediction(channel)
    status_stub = model_service_pb2_grpc.ModelServiceStub(channel)
    _, body, _ = golden_cases(versions["linear"])[0]

    def predict(mutate):
        request = predict_request("linear", versions["linear"], body)
        mutate(request)
        return lambda: stub.Predict(request, timeout=TIMEOUT)

    def metadata(name, version=None):
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
        request.model_spec.name = name
        if version:
            request.model_spec.version.value = version
        return lambda: stub.GetModelMetadata(request, timeout=TIMEOUT)

    def status(name, version=None):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        if version:
            request.model_spec.version.value = version
        return lambda: status_stub.GetModelStatus(request, timeout=TIMEOUT)

    for call, needle in [
        (predict(lambda r: setattr(r.model_spec, "name", "nope")), "nope"),
        (predict(lambda r: r.model_spec.version.__setattr__("value", 999)), "999"),
        (predict(lambda r: setattr(r.model_spec, "version_label", "stable")), "stable"),
        (predict(lambda r: setattr(r.model_spec, "signature_name", "nope")), '"nope" not found'),
        # A 1 MB name: the message is cut (tests/CONTRACT.md, "Errors"), so it fits the status
        # metadata and the client sees NOT_FOUND rather than a reset stream.
        (
            predict(lambda r: setattr(r.model_spec, "signature_name", "n" * 1_000_000)),
            "... (1000000 characters)",
        ),
        (predict(lambda r: setattr(r.model_spec, "name", "m" * 1_000_000)), "(1000000 characters)"),
        (metadata("nope"), "nope"),
        (metadata("linear", 999), "999"),
        (status("nope"), "nope"),
        (status("linear", 999), "999"),
    ]:
        code, details = _code(call)
        assert code == grpc.StatusCode.NOT_FOUND, (needle, details[:300])
        assert needle in details and len(details) < 2000, details[:300]


def test_invalid_argument_before_tensorflow(small):
    server, versions, channel = small
    stub = prediction(channel)
    linear = versions["linear"]
    signature = "serving_default"
    (alias,) = input_specs(linear, signature)
    ok = np.array([[1.0, 2.0, 3.0]], dtype=np.float64)

    def request(**inputs):
        r = predict_pb2.PredictRequest()
        r.model_spec.name = "linear"
        for a, proto in inputs.items():
            r.inputs[a].CopyFrom(proto)
        return r

    make = tf().make_tensor_proto
    short_content = make(ok)
    short_content.tensor_content = short_content.tensor_content[:-1]
    too_many = typed_proto(ok)
    too_many.double_val.append(4.0)
    filtered = request(**{alias: make(ok)})
    filtered.output_filter.append("nope")
    no_name = request(**{alias: make(ok)})
    no_name.model_spec.name = ""
    cases = [
        (request(**{alias: make(ok.astype(np.float32))}), "DT_FLOAT"),  # wrong dtype
        (request(**{alias: make(np.array([1.0, 2.0]))}), "rank"),  # wrong rank
        (request(**{alias: make(ok), "extra": make(ok)}), "unknown input"),
        (request(), "missing input"),
        (request(**{alias: short_content}), "tensor_content"),
        (request(**{alias: too_many}), "double_val"),
        (filtered, "nope"),
        (no_name, "model name"),
    ]
    for req, needle in cases:
        code, details = _code(lambda req=req: stub.Predict(req, timeout=TIMEOUT))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (needle, details)
        assert needle in details, details
    for fields in ([], ["nope"]):
        req = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=fields)
        req.model_spec.name = "linear"
        code, _ = _code(lambda req=req: stub.GetModelMetadata(req, timeout=TIMEOUT))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
    # dtypes: the batched inputs must agree on their batch size (the columnar rule).
    dtypes_dir = versions["dtypes"]
    _, body, _ = golden_cases(dtypes_dir)[0]
    req = predict_request("dtypes", dtypes_dir, body)
    longer = tf().make_ndarray(req.inputs["f64"])
    req.inputs["f64"].CopyFrom(make(np.concatenate([longer, longer[:1]])))
    code, details = _code(lambda: stub.Predict(req, timeout=TIMEOUT))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert "batch size mismatch" in details
    # The server goes on answering.
    assert assert_golden_grpc(channel, "linear", linear, typed=False) > 0
    assert not any("panic" in line for line in server.lines)


def test_size_limit_is_resource_exhausted(small):
    _, _, channel = small
    big = np.zeros((LIMIT // 8 // 3 + 10, 3), dtype=np.float64)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "linear"
    request.inputs["x"].CopyFrom(tf().make_tensor_proto(big))
    assert request.ByteSize() > LIMIT
    code, details = _code(lambda: prediction(channel).Predict(request, timeout=TIMEOUT))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, details


def test_one_access_line_per_call(small):
    server, versions, channel = small
    before = len([line for line in server.lines if "access: gRPC " in line])
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "linear"
    model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, timeout=TIMEOUT)
    line = server.wait_for_line(r"access: gRPC /tensorflow.serving.ModelService/GetModelStatus OK")
    assert len([ln for ln in server.lines if "access: gRPC " in ln]) == before + 1, line


def test_deadline_exceeded_and_rest_off(tmp_path):
    """--request-timeout bounds a Predict; --rest-port off serves the gRPC API alone."""
    version_dir = copy_latest(tmp_path, "linear")
    _, body, _ = golden_cases(version_dir)[0]
    with Server(tmp_path, "--request-timeout", "1ns", "--rest-port", "off") as server:
        assert server.address == "" and server.grpc_address, server.lines
        assert "REST" not in server.wait_for_line("serving the gRPC API on")
        with grpc.insecure_channel(server.grpc_address) as channel:
            request = predict_request("linear", version_dir, body)
            code, details = _code(lambda: prediction(channel).Predict(request, timeout=TIMEOUT))
            assert code == grpc.StatusCode.DEADLINE_EXCEEDED, details
            assert "--request-timeout" in details
        assert server.stop() == 0


# --- every zoo model -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zoo():
    """One server over models/ itself (every zoo model, policy latest, default limits) and a
    channel to its gRPC API. It does not poll again, so that a version exported meanwhile does
    not swap a model mid-test."""
    with Server(MODELS_DIR, "--poll-interval", "24h") as server:
        with grpc.insecure_channel(server.grpc_address) as channel:
            yield server, channel


def statuses(channel, name: str) -> dict[int, get_model_status_pb2.ModelVersionStatus]:
    """GetModelStatus of every version of a model: version -> ModelVersionStatus."""
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    stub = model_service_pb2_grpc.ModelServiceStub(channel)
    response = stub.GetModelStatus(request, timeout=TIMEOUT)
    return {s.version: s for s in response.model_version_status}


AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE
END = get_model_status_pb2.ModelVersionStatus.END


def served_version(channel, name: str) -> int:
    """The one AVAILABLE version of a model."""
    available = [v for v, s in statuses(channel, name).items() if s.state == AVAILABLE]
    assert len(available) == 1, statuses(channel, name)
    return available[0]


def test_every_golden_request_of_every_zoo_model(zoo):
    """Strings and bytes (charlm, digits' PNGs, dtypes), scalars, unknown rank: every golden
    request of every model, pinned to the served version, gives the golden bits (within what
    tests/tolerances.json grants the Go SavedModel cell, if anything), and exactly the bits of
    the same server's REST answer."""
    server, channel = zoo
    counts = {}
    for name in sorted(ZOO):
        version = served_version(channel, name)
        version_dir = MODELS_DIR / name / str(version)
        counts[name] = assert_golden_grpc(
            channel, name, version_dir, pin=True, tolerance=go_tolerance(name), rest=server
        )
    assert set(counts) == set(ZOO) and all(counts.values()), counts


# --- hot versions --------------------------------------------------------------------------


def _pinned(request, version: int):
    """The PredictRequest naming ``version`` in its model_spec."""
    request.model_spec.version.value = version
    return request


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "skip_verification"])
def test_hot_and_bad_versions(tmp_path, verify):
    """A new complete version takes over without a restart; a damaged one is reported END with
    its error and never replaces the working one (test_serving.py's test_hot_versions, over
    gRPC). The damage (saved_model.pb cut short) is refused by verification against
    manifest.json, or, with --skip-verification, by TensorFlow failing to load it."""
    base = tmp_path / "models"
    first = copy_latest(base, "linear")
    v1 = int(first.name)
    sine = latest("sine")  # another model's version, so that its answers tell it apart
    flags = ["--poll-interval", "100ms", "--rest-port", "off"]
    if not verify:
        flags.append("--skip-verification")
    with Server(base, *flags) as server:
        with grpc.insecure_channel(server.grpc_address) as channel:

            def wait(version: int, state: int):
                return wait_for_version(
                    server, lambda: statuses(channel, "linear"), version, lambda s: s.state == state
                )

            assert served_version(channel, "linear") == v1
            assert_golden_grpc(channel, "linear", first)

            # A new complete version: AVAILABLE, and Predict without a version answers from it.
            publish_version(sine, base / "linear", v1 + 1)
            found = wait(v1 + 1, AVAILABLE)
            assert found[v1 + 1].status.error_code == 0  # OK
            assert found[v1 + 1].status.error_message == ""
            wait(v1, END)
            assert served_version(channel, "linear") == v1 + 1
            assert_golden_grpc(channel, "linear", sine, version=v1 + 1)
            code, details = _code(
                lambda: prediction(channel).Predict(
                    _pinned(predict_request("linear", first, golden_cases(first)[0][1]), v1),
                    timeout=TIMEOUT,
                )
            )
            assert code == grpc.StatusCode.NOT_FOUND, details

            # A corrupt version (saved_model.pb cut short): END with its error, never served.
            publish_version(first, base / "linear", v1 + 2, damage=truncate_saved_model)
            found = wait(v1 + 2, END)
            bad = found[v1 + 2].status
            assert bad.error_code == 3, bad  # tensorflow.error.Code INVALID_ARGUMENT, not OK
            # "saved_model.pb: N bytes, manifest.json says M" or "... is not a SavedModel: ..."
            assert "saved_model.pb" in bad.error_message, bad
            assert found[v1 + 1].state == AVAILABLE
            assert served_version(channel, "linear") == v1 + 1
            assert_golden_grpc(channel, "linear", sine, version=v1 + 1)
            request = get_model_status_pb2.GetModelStatusRequest()
            request.model_spec.name = "linear"
            request.model_spec.version.value = v1 + 2
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            (one,) = stub.GetModelStatus(request, timeout=TIMEOUT).model_version_status
            assert one.state == END and one.status == bad
            code, details = _code(
                lambda: prediction(channel).Predict(
                    _pinned(predict_request("linear", sine, golden_cases(sine)[0][1]), v1 + 2),
                    timeout=TIMEOUT,
                )
            )
            assert code == grpc.StatusCode.NOT_FOUND, details

            # A later good version still takes over.
            publish_version(first, base / "linear", v1 + 3)
            wait(v1 + 3, AVAILABLE)
            assert_golden_grpc(channel, "linear", first, version=v1 + 3)
        server.wait_for_line(rf"model linear: version {v1 + 1} loaded from ")
        server.wait_for_line(rf"model linear: version {v1 + 2} failed to load: .*saved_model\.pb")
        assert server.stop() == 0


# --- health --------------------------------------------------------------------------------

HEALTH_SERVICES = ("", "tensorflow.serving.PredictionService", "tensorflow.serving.ModelService")


def test_health_service_is_serving(small):
    """grpc.health.v1.Health, queried with grpcio-health-checking's stub: SERVING for the
    server and TF Serving's two services; any other name is NOT_FOUND."""
    _, _, channel = small
    stub = health_pb2_grpc.HealthStub(channel)
    for name in HEALTH_SERVICES:
        answer = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, name
    with pytest.raises(grpc.RpcError) as refused:
        stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=TIMEOUT)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_watcher_sees_not_serving_at_shutdown_and_never_holds_it_up(tmp_path):
    """A Watch stream gets SERVING, then NOT_SERVING at SIGTERM, then its end; the server still
    stops gracefully with status 0 (grpc-go's own health server would keep the stream, and so
    the graceful stop, open)."""
    copy_latest(tmp_path, "linear")
    with Server(tmp_path) as server, grpc.insecure_channel(server.grpc_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
        assert next(stream).status == health_pb2.HealthCheckResponse.SERVING
        server.process.send_signal(signal.SIGTERM)
        assert next(stream).status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert list(stream) == []
        assert server.process.wait(timeout=TIMEOUT) == 0, server.stderr
