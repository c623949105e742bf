"""``go_consumer serve``: TensorFlow Serving's REST API with hot model versions
(tests/CONTRACT.md, "Serving (`serve`)").

Each server runs on a free loopback port; most serve temporary copies of model versions, so
that versions can be added and damaged while they run.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest
import requests

from python_producer.producer.models import ZOO
from python_producer.reference.status import EDGES, Code
from tests.conftest import latest
from tests.harness import loader_models
from tests.harness.cases import BAD_REQUESTS, bad_request_body
from tests.harness.compare import compare_bodies, golden_cases, output_specs, request_signature
from tests.harness.consumers import MODELS
from tests.harness.serving import (
    SERVING,
    Server,
    copy_latest,
    damage_variables,
    go_tolerance,
    publish_version,
    wait_for_version,
)
from tests.test_unsafe_ops import unsafe_model  # noqa: F401 (a fixture)

TIMEOUT = 120
LIMIT = 1 << 20  # --max-request-bytes of the small server


pytestmark = [pytest.mark.usefixtures("go_built"), pytest.mark.slow]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A server over copies of linear's and dtypes' latest versions, --max-request-bytes 1 MiB."""
    base = tmp_path_factory.mktemp("serving")
    versions = {name: copy_latest(base, name) for name in ("linear", "dtypes")}
    with Server(base, "--max-request-bytes", str(LIMIT)) as server:
        yield server, versions


@pytest.fixture(scope="module")
def zoo():
    """A server over models/ itself (every zoo model, policy latest, default limits). It does
    not poll again, so that a version exported meanwhile does not swap a model mid-test."""
    with Server(MODELS, "--poll-interval", "24h") as server:
        yield server


def post(server: Server, path: str, body: bytes) -> requests.Response:
    return requests.post(server.url + path, data=body, timeout=TIMEOUT)


def get(server: Server, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=TIMEOUT)


def error_of(response: requests.Response) -> str:
    """The message of a TF Serving error body {"error": "..."} (and nothing else in it)."""
    assert response.headers["Content-Type"] == "application/json"
    doc = response.json()
    assert list(doc) == ["error"], doc
    return doc["error"]


def served_version(server: Server, name: str) -> int:
    """The one AVAILABLE version of a model."""
    statuses = get(server, f"/v1/models/{name}").json()["model_version_status"]
    available = [int(s["version"]) for s in statuses if s["state"] == "AVAILABLE"]
    assert len(available) == 1, statuses
    return available[0]


def assert_golden(server: Server, path: str, version_dir: Path, tolerance=None) -> int:
    """Every golden request of ``version_dir`` POSTed to ``path`` gives the golden bits."""
    cases = golden_cases(version_dir)
    assert cases, f"{version_dir} has no golden requests"
    for case, request, expected in cases:
        signature = request_signature(request)
        response = post(server, path, request)
        assert response.status_code == 200, (case, response.text[:500])
        assert response.headers["Content-Type"] == "application/json"
        specs = output_specs(version_dir, signature, "saved_model")
        comparison = compare_bodies(response.content, expected, specs)
        granted = tolerance(signature) if tolerance else None
        if granted is None:
            assert comparison.identical, f"{version_dir} {case}: {comparison.detail}"
        else:
            assert comparison.max_ulp <= granted.max_ulp, f"{case}: {comparison.detail}"
    return len(cases)


# --- the small server ----------------------------------------------------------------------


def test_models_and_versions_printed_once_at_start(small):
    server, versions = small
    lines = server.lines
    listening = [line for line in lines if "serving the REST API on http://127.0.0.1:" in line]
    assert len(listening) == 1, lines
    for name, version_dir in versions.items():
        loaded = f"go_consumer: model {name}: version {version_dir.name} loaded from {version_dir}"
        assert lines.count(loaded) == 1, lines
        assert f"{name} (version {version_dir.name})" in listening[0]


def test_golden_requests_bit_identical(small):
    server, versions = small
    for name, version_dir in versions.items():
        assert_golden(server, f"/v1/models/{name}:predict", version_dir)
        assert_golden(server, f"/v1/models/{name}/versions/{version_dir.name}:predict", version_dir)


def test_status_available(small):
    server, versions = small
    for name, version_dir in versions.items():
        want = {
            "model_version_status": [
                {
                    "version": version_dir.name,
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }
        for path in (f"/v1/models/{name}", f"/v1/models/{name}/versions/{version_dir.name}"):
            response = get(server, path)
            assert response.status_code == 200
            assert response.json() == want


def _shape(tensor_shape: dict):
    if tensor_shape.get("unknown_rank"):
        return None
    return [int(d["size"]) for d in tensor_shape.get("dim", [])]


def assert_metadata_matches_inspect(server: Server, name: str, version_dir: Path) -> None:
    response = get(server, f"/v1/models/{name}/versions/{version_dir.name}/metadata")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["model_spec"] == {"name": name, "signature_name": "", "version": version_dir.name}
    defs_map = doc["metadata"]["signature_def"]
    assert defs_map["@type"] == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    defs = defs_map["signature_def"]

    done = SERVING.run(["inspect", "--model", str(version_dir), "--json"])
    assert done.returncode == 0, done.stderr.decode()
    (serve,) = [m for m in json.loads(done.stdout)["meta_graphs"] if m["tags"] == ["serve"]]
    signatures = serve["signatures"]
    assert sorted(defs) == sorted(signatures)
    for key, sig in signatures.items():
        assert defs[key]["method_name"] == sig["method_name"], key
        for side in ("inputs", "outputs"):
            got = {
                alias: {"dtype": t["dtype"], "shape": _shape(t["tensor_shape"]), "name": t["name"]}
                for alias, t in defs[key][side].items()
            }
            assert got == sig[side], (key, side)


def test_metadata_matches_inspect(small):
    server, versions = small
    for name, version_dir in versions.items():
        assert_metadata_matches_inspect(server, name, version_dir)
    assert get(server, "/v1/models/linear/metadata").json()["model_spec"]["version"] == (
        versions["linear"].name
    )


def test_not_found_is_404(small):
    server, versions = small
    linear = versions["linear"].name
    for response, needle in [
        (post(server, "/v1/models/nope:predict", b'{"instances": [[1.0]]}'), "nope"),
        (post(server, "/v1/models/linear/versions/999:predict", b'{"instances": [[1.0]]}'), "999"),
        (get(server, "/v1/models/nope"), "nope"),
        (get(server, "/v1/models/linear/versions/999"), "999"),
        (get(server, "/v1/models/nope/metadata"), "nope"),
        (get(server, "/v1/models/linear/versions/999/metadata"), "999"),
        (
            post(
                server, "/v1/models/linear:predict", b'{"signature_name": "nope", "inputs": [[1]]}'
            ),
            'signature "nope" not found',
        ),
        (
            post(
                server,
                f"/v1/models/linear/versions/{linear}:predict",
                b'{"signature_name": "x", "instances": [[1.0]]}',
            ),
            'signature "x" not found',
        ),
    ]:
        assert response.status_code == 404, response.text
        assert needle in error_of(response)


def test_bad_requests_are_400(small):
    server, _ = small
    for body, needle in [
        (b"", "invalid JSON"),
        (b"{", "invalid JSON"),
        (b'{"instances": [[1.0]], "extra": 1}', 'unknown key "extra"'),
        (b'{"instances": [["a"]]}', "DT_DOUBLE"),
        (b'{"instances": []}', "empty"),
        (b'{"instances": [[1.0]], "inputs": [[1.0]]}', "exactly one of"),
        (b'{"inputs": [[1.0]]}\xff', "UTF-8"),
    ]:
        response = post(server, "/v1/models/linear:predict", body)
        assert response.status_code == 400, (body, response.text)
        assert needle in error_of(response)
    # Wrong method or path, as TF Serving: 400 under /v1/, 404 elsewhere.
    assert get(server, "/v1/models/linear:predict").status_code == 400
    assert "Malformed request" in error_of(get(server, "/v1/models/linear:predict"))
    assert get(server, "/healthz").status_code == 404


def _padded(limit: int) -> bytes:
    """A valid linear request of exactly ``limit`` bytes (trailing spaces are allowed)."""
    body = b'{"instances": [[1.0, 2.0]]}'
    return body + b" " * (limit - len(body))


def test_size_limit_is_413(small):
    server, _ = small
    assert post(server, "/v1/models/linear:predict", _padded(LIMIT)).status_code == 200
    response = post(server, "/v1/models/linear:predict", _padded(LIMIT + 1))
    assert response.status_code == 413
    assert error_of(response) == (
        f"request is larger than the limit of {LIMIT} bytes (--max-request-bytes)"
    )


def raw_request(server: Server, head: bytes, body: bytes = b"", wait: float = 0) -> bytes:
    """Send bytes on a fresh connection and return everything the server answers."""
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(head + body)
        if wait:
            time.sleep(wait)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_declared_length_over_limit_is_refused_before_reading(small):
    server, _ = small
    head = (
        b"POST /v1/models/linear:predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (LIMIT * 1000)
    )
    answer = raw_request(server, head)  # no body sent at all: it is never read
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"(--max-request-bytes)" in answer


def test_one_access_line_per_request(small):
    server, versions = small
    path = f"/v1/models/linear/versions/{versions['linear'].name}"
    response = get(server, path)
    line = server.wait_for_line(rf"access: GET {path} 200 ")
    parts = line.split()
    assert parts[:3] == ["go_consumer:", "access:", "GET"]
    assert parts[3:6] == [path, "200", str(len(response.content))]
    assert parts[6].endswith("ms") and float(parts[6][:-2]) >= 0
    response = post(server, "/v1/models/nope:predict", b"{}")
    server.wait_for_line(r"access: POST /v1/models/nope:predict 404 \d+ [0-9.]+ms$")


# --- every zoo model, every refusal ----------------------------------------------------------


def test_every_golden_request_of_every_zoo_model(zoo):
    for name in sorted(ZOO):
        version = served_version(zoo, name)
        version_dir = MODELS / name / str(version)
        granted = go_tolerance(name)
        assert_golden(zoo, f"/v1/models/{name}/versions/{version}:predict", version_dir, granted)
        assert_metadata_matches_inspect(zoo, name, version_dir)


def test_refusals_match_the_cli(zoo):
    """Every model case of bad_requests.json: the server refuses what ``predict`` refuses, with
    the same message and the HTTP status of the case's code (tests/cases/messages.json).
    (That the messages are the contract's is test_bad_requests.py's part.)"""
    checked = 0
    for case in BAD_REQUESTS:
        if "model" not in case or case.get("args") or case.get("body_padding"):
            continue
        version = served_version(zoo, case["model"])
        body = bad_request_body(case)
        cli = SERVING.run(
            ["predict", "--model", str(MODELS / case["model"]), "--version", str(version)],
            stdin=body,
        )
        response = post(zoo, f"/v1/models/{case['model']}/versions/{version}:predict", body)
        if cli.returncode == 0:
            assert response.status_code == 200, (case["id"], response.text[:300])
            continue
        message = error_of(response)
        assert cli.stderr.decode() == f"go_consumer: error: {message}\n", case["id"]
        expected = EDGES[Code[case["code"]]].http_status
        assert response.status_code == expected, (case["id"], response.status_code)
        checked += 1
    assert checked >= 50


def test_default_limit_is_64_mib(zoo):
    (case,) = [c for c in BAD_REQUESTS if c["id"] == "request_over_default_limit"]
    head = (
        b"POST /v1/models/linear:predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(bad_request_body(case))
    )
    answer = raw_request(zoo, head)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    for needle in case["stderr_contains"]:
        assert needle.encode() in answer


# --- hot versions ----------------------------------------------------------------------------


def wait_for_status(server: Server, name: str, version: int, predicate, timeout: float = 60):
    """Poll GET /v1/models/NAME until ``predicate(status of version)`` holds; return every
    version's status (a dict of the JSON). A model the server has not seen yet (404) has none."""

    def statuses():
        doc = get(server, f"/v1/models/{name}").json()
        return {int(s["version"]): s for s in doc.get("model_version_status", [])}

    return wait_for_version(server, statuses, version, predicate, timeout)


def test_hot_versions(tmp_path):
    base = tmp_path / "models"
    first = copy_latest(base, "linear")
    v1 = int(first.name)
    with Server(base, "--poll-interval", "100ms") as server:
        assert served_version(server, "linear") == v1

        # A new version (here another model's, so that its answers tell it apart) takes over.
        sine = latest("sine")
        publish_version(sine, base / "linear", v1 + 1)
        statuses = wait_for_status(server, "linear", v1 + 1, lambda s: s["state"] == "AVAILABLE")
        wait_for_status(server, "linear", v1, lambda s: s["state"] == "END")
        assert statuses[v1 + 1]["status"] == {"error_code": "OK", "error_message": ""}
        assert_golden(server, "/v1/models/linear:predict", sine)
        gone = post(server, f"/v1/models/linear/versions/{v1}:predict", b'{"instances": [[1.0]]}')
        assert gone.status_code == 404
        server.wait_for_line(rf"model linear: version {v1 + 1} loaded from ")
        server.wait_for_line(rf"model linear: version {v1} unloading")

        # A damaged version is reported and never replaces the working one.
        publish_version(first, base / "linear", v1 + 2, damage=damage_variables)
        statuses = wait_for_status(server, "linear", v1 + 2, lambda s: s["state"] == "END")
        status = statuses[v1 + 2]["status"]
        assert status["error_code"] == "INVALID_ARGUMENT"
        assert "does not match manifest.json" in status["error_message"]
        assert statuses[v1 + 1]["state"] == "AVAILABLE"
        assert served_version(server, "linear") == v1 + 1
        assert_golden(server, "/v1/models/linear:predict", sine)
        one = get(server, f"/v1/models/linear/versions/{v1 + 2}").json()
        assert one["model_version_status"][0]["status"] == status

        # A later good version still takes over.
        publish_version(first, base / "linear", v1 + 3)
        wait_for_status(server, "linear", v1 + 3, lambda s: s["state"] == "AVAILABLE")
        assert_golden(server, "/v1/models/linear:predict", first)
        assert server.stop() == 0


def test_unsafe_version_is_reported_and_never_served(tmp_path, unsafe_model):  # noqa: F811
    base = tmp_path / "models"
    first = copy_latest(base, "linear")
    v1 = int(first.name)
    with Server(base, "--poll-interval", "100ms", "--skip-verification") as server:
        publish_version(unsafe_model, base / "linear", v1 + 1)
        statuses = wait_for_status(server, "linear", v1 + 1, lambda s: s["state"] == "END")
        message = statuses[v1 + 1]["status"]["error_message"]
        assert message.startswith("op PrintV2 ") and "--allow-op PrintV2" in message
        assert statuses[v1]["state"] == "AVAILABLE"
        assert_golden(server, "/v1/models/linear:predict", first)
        assert server.stop() == 0


def test_loader_ops_are_checked_for_every_version(tmp_path):
    """A version whose main_op writes a file is reported with its refusal and never served
    (the file is not written); a table from its own asset is served with no flag. The writer
    arrives while the server runs (a model that cannot load at start stops the start)."""
    base = tmp_path / "models"
    target, secret = tmp_path / "written", tmp_path / "secret"
    (base / "vocab").mkdir(parents=True)
    loader_models.tf2_table_from_own_asset(base / "vocab", secret, target)
    shutil.rmtree(base / "vocab" / "vocab-source")
    writer = tmp_path / "staging" / "writer"
    writer.mkdir(parents=True)
    loader_models.main_op_writes(writer, secret, target)
    with Server(base, "--poll-interval", "100ms", "--skip-verification") as server:
        shutil.move(writer, base / "writer")
        statuses = wait_for_status(server, "writer", 1, lambda s: s["state"] == "END")
        assert statuses[1]["status"] == {
            "error_code": "INVALID_ARGUMENT",
            "error_message": WRITE_FILE_REFUSAL,
        }
        assert post(server, "/v1/models/writer:predict", b'{"instances": [1.0]}').status_code == 404
        wait_for_status(server, "vocab", 1, lambda s: s["state"] == "AVAILABLE")
        answer = post(server, "/v1/models/vocab:predict", b'{"instances": ["banana", "kiwi"]}')
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [1, -1]}
        # A model that never loaded is listed with its failure, and leaves the server ready.
        models = get(server, "/v1/models").json()["models"]
        listed = {m["name"]: m["model_version_status"] for m in models}
        assert listed["writer"][0]["state"] == "END" and listed["vocab"][0]["state"] == "AVAILABLE"
        assert get(server, "/readyz").json() == {"ready": True}
        assert server.stop() == 0
    assert not target.exists()


WRITE_FILE_REFUSAL = (
    'op WriteFile (node "WriteFile" in the graph) is not allowed: it can read or write files or '
    "reach outside the process; pass --allow-op WriteFile to accept it"
)


def test_start_waits_for_every_model_and_refuses_one_that_cannot_load(tmp_path):
    """TF Serving's start-up gating: the ports open only once every initial model has a
    version available; a model with none is one error line, UNAVAILABLE's exit status, and no
    port was ever opened (no "serving" line)."""
    base = tmp_path / "models"
    copy_latest(base, "linear")
    (base / "writer").mkdir()
    loader_models.main_op_writes(base / "writer", tmp_path / "secret", tmp_path / "written")
    done = SERVING.run_process(
        ["serve", "--model-base-path", str(base), "--skip-verification", "--rest-port", "0",
         "--grpc-port", "0"],
        timeout=TIMEOUT,
    )  # fmt: skip
    lines = done.stderr.decode().splitlines()
    assert done.returncode == EDGES[Code.UNAVAILABLE].exit_status, done.stderr
    assert lines[-1] == (
        "go_consumer: error: serve: cannot start: model writer has no version available: "
        f"version 1 failed to load: {WRITE_FILE_REFUSAL}"
    )
    assert not [ln for ln in lines if "serving the" in ln], lines
    assert not (tmp_path / "written").exists()

    # A --model-name folder without any version is the same error (TF Serving waits forever).
    (base / "empty").mkdir()
    done = SERVING.run_process(
        ["serve", "--model-base-path", str(base), "--model-name", "linear", "--model-name",
         "empty", "--rest-port", "0", "--grpc-port", "0"],
        timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == EDGES[Code.UNAVAILABLE].exit_status, done.stderr
    assert done.stderr.decode().splitlines()[-1] == (
        "go_consumer: error: serve: cannot start: model empty has no version available: "
        f"{base / 'empty'} holds no version folder the policy latest selects"
    )


def test_readiness_and_the_list_of_models(small):
    """GET /readyz is 200 while serving; GET /v1/models lists every model with its versions,
    each as GET /v1/models/NAME gives them (TF Serving has neither)."""
    server, versions = small
    ready = get(server, "/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    assert ready.headers["Content-Type"] == "application/json"
    listed = get(server, "/v1/models")
    assert listed.status_code == 200
    models = listed.json()["models"]
    assert [m["name"] for m in models] == sorted(versions)
    for m in models:
        assert (
            m["model_version_status"]
            == (get(server, f"/v1/models/{m['name']}").json()["model_version_status"])
        )
    # Another method is a malformed request: 404 outside /v1/, 400 under it.
    assert post(server, "/readyz", b"").status_code == 404
    assert post(server, "/v1/models", b"").status_code == 400


def test_an_encoded_slash_is_part_of_the_model_name(small):
    """Routing is on the raw path segments: ``linear%2Fversions%2FN`` names no model, and never
    reaches linear's version N."""
    server, versions = small
    version = versions["linear"].name
    for path in (
        f"/v1/models/linear%2Fversions%2F{version}:predict",
        f"/v1/models/linear%2F{version}:predict",
    ):
        answer = post(server, path, b'{"instances": [[1.0]]}')
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
    # A version segment is digits on the raw path: an encoded "/" in it is a malformed path.
    path = f"/v1/models/linear/versions/{version}%2F..%2F{version}:predict"
    answer = post(server, path, b'{"instances": [[1.0]]}')
    assert answer.status_code == 400 and "Malformed request" in answer.text, answer.text[:300]
    answer = get(server, f"/v1/models/linear%2Fversions%2F{version}")
    assert answer.status_code == 404, answer.text[:300]
    assert "linear/versions/" in answer.json()["error"], answer.text[:300]


def test_specific_and_all_policies(tmp_path):
    base = tmp_path / "models"
    first = copy_latest(base, "linear")
    v1 = int(first.name)
    publish_version(latest("sine"), base / "linear", v1 + 1)
    with Server(base, "--model-version-policy", "all") as server:
        assert {
            s["state"] for s in get(server, "/v1/models/linear").json()["model_version_status"]
        } == {"AVAILABLE"}
        assert_golden(server, f"/v1/models/linear/versions/{v1}:predict", first)
        assert_golden(server, "/v1/models/linear:predict", latest("sine"))  # the highest
    with Server(base, "--model-version-policy", "specific", "--versions", str(v1)) as server:
        assert served_version(server, "linear") == v1
        assert_golden(server, "/v1/models/linear:predict", first)


# --- operations --------------------------------------------------------------------------------


def _slow_request(server: Server, body: bytes):
    """Open a connection and send a predict request's head and half its body; return the
    socket and the rest of the body."""
    host, port = server.address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    head = (
        b"POST /v1/models/linear:predict HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    half = len(body) // 2
    sock.sendall(head + body[:half])
    return sock, body[half:]


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return status, rest[:length]


def test_sigterm_finishes_the_request_in_flight_and_exits_0(tmp_path):
    base = tmp_path / "models"
    version_dir = copy_latest(base, "linear")
    case, request, expected = golden_cases(version_dir)[0]
    server = Server(base)
    try:
        sock, rest = _slow_request(server, request)
        server.wait_for_line(r"serving the REST API")
        time.sleep(0.5)  # the request is in its handler, reading the body
        server.process.send_signal(signal.SIGTERM)
        server.wait_for_line(r"shutting down")
        # No new connection is accepted once shutting down.
        host, port = server.address.rsplit(":", 1)
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=5).close()
        assert server.process.poll() is None, "exited with a request in flight"
        sock.sendall(rest)
        status, body = _read_response(sock)
        sock.close()
        assert status == 200, body
        specs = output_specs(version_dir, request_signature(request), "saved_model")
        assert compare_bodies(body, expected, specs).identical, case
        assert server.wait(timeout=60) == 0
        assert server.lines[-1] == "go_consumer: stopped", server.stderr
    finally:
        server.kill()


def test_deadline_is_504(tmp_path):
    base = tmp_path / "models"
    version_dir = copy_latest(base, "linear")
    _, request, _ = golden_cases(version_dir)[0]
    with Server(base, "--request-timeout", "500ms") as server:
        sock, _ = _slow_request(server, request)  # the rest of the body never comes
        start = time.monotonic()
        status, body = _read_response(sock)
        sock.close()
        assert status == 504, body
        assert "--request-timeout" in json.loads(body)["error"]
        assert time.monotonic() - start < 5
        # The server goes on answering.
        assert post(server, "/v1/models/linear:predict", request).status_code == 200
        assert server.stop() == 0


def test_refusals_at_start_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for args, needle in [
        ([], "--model-base-path DIR is required"),
        (["--model-base-path", str(empty)], "no model under --model-base-path"),
        (["--model-base-path", str(MODELS), "--model-name", "nope"], "--model-name nope"),
        (
            ["--model-base-path", str(MODELS), "--model-version-policy", "x"],
            "--model-version-policy",
        ),
        (["--model-base-path", str(MODELS), "--max-request-bytes", "0"], "--max-request-bytes"),
    ]:
        done = SERVING.run_process(["serve", *args], timeout=60)
        lines = done.stderr.decode().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith("go_consumer: error: ") and needle in lines[0]
