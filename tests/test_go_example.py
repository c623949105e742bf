"""examples/go-service: a program outside go_consumer/ that embeds the Go library (its own
module, ``replace``-d onto go_consumer/), built with its Makefile and run against models/linear.

It serves the library's REST API (``serving.Server``) under /v1/ on its own ``http.ServeMux``,
adds one route of its own (GET /example/signatures/NAME, from the manager's loaded version),
prints ``listening on HOST:PORT`` on stdout and exits 0 on SIGTERM.  The tests of this module
share one process, in file order: the last one stops it.
"""

from __future__ import annotations

import json
import re
import selectors
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import latest
from tests.harness.consumers import MODELS, ROOT

EXAMPLE = ROOT / "examples" / "go-service"
BINARY = EXAMPLE / "bin" / "go-service"
BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
TIMEOUT = 120
GOLDEN = "seed_example_rows"

pytestmark = pytest.mark.slow


class Service:
    """The running example: its process, its address (HOST:PORT) and its stderr file."""

    def __init__(self, version_dir: Path, cwd: Path):
        self.version_dir = version_dir
        self.stderr_path = cwd / "go-service.stderr"
        with self.stderr_path.open("wb") as stderr:
            # From another folder with a bare environment: the rpath finds the C library.
            self.process = subprocess.Popen(
                [str(BINARY), "--model-base-path", str(MODELS), "--model-name", "linear"]
                + ["--port", "0", "--poll-interval", "0"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=cwd,
                env=BARE_ENV,
            )
        self.line = self._first_line(TIMEOUT)
        match = re.fullmatch(r"listening on (127\.0\.0\.1:\d+)", self.line)
        assert match, f"unexpected first line {self.line!r}:\n{self.stderr}"
        self.url = f"http://{match.group(1)}"

    def _first_line(self, timeout: float) -> str:
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.process.kill()
                self.process.wait(timeout=30)
                pytest.fail(f"go-service printed nothing within {timeout} s:\n{self.stderr}")
        line = self.process.stdout.readline().decode("utf-8", "replace").rstrip("\n")
        if not line:
            self.process.wait(timeout=30)
            pytest.fail(f"go-service exited ({self.process.returncode}):\n{self.stderr}")
        return line

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.kill()
            self.process.stdout.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    version_dir = latest("linear")
    done = subprocess.run(
        ["make", "-C", str(EXAMPLE)], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, f"make -C {EXAMPLE} failed:\n{(done.stdout + done.stderr)[-4000:]}"
    running = Service(version_dir, tmp_path_factory.mktemp("go-service"))
    yield running
    running.stop()


def test_predict_answers_the_golden_response(service):
    golden = service.version_dir / "golden"
    request = (golden / f"{GOLDEN}.request.json").read_bytes()
    expected = json.loads((golden / f"{GOLDEN}.response.json").read_bytes())
    response = requests.post(
        f"{service.url}/v1/models/linear:predict", data=request, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == expected


def _shape(tensor_shape: dict):
    if tensor_shape.get("unknown_rank"):
        return None
    return [int(d["size"]) for d in tensor_shape.get("dim", [])]


def test_own_route_lists_the_served_signatures(service):
    """GET /example/signatures/linear agrees with the library's metadata endpoint."""
    version = service.version_dir.name
    response = requests.get(f"{service.url}/example/signatures/linear", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    doc = response.json()

    metadata = requests.get(f"{service.url}/v1/models/linear/metadata", timeout=TIMEOUT).json()
    assert metadata["model_spec"]["version"] == version
    defs = metadata["metadata"]["signature_def"]["signature_def"]
    want = {
        key: {
            "method_name": sig["method_name"],
            **{
                side: {
                    alias: {
                        "tensor": t["name"],
                        "dtype": t["dtype"],
                        "shape": _shape(t["tensor_shape"]),
                    }
                    for alias, t in sig[side].items()
                }
                for side in ("inputs", "outputs")
            },
        }
        for key, sig in defs.items()
        if not key.startswith("__")
    }
    assert doc == {
        "model": "linear",
        "version": int(version),
        "available_versions": [int(version)],
        "signatures": want,
    }
    assert doc["signatures"]["serving_default"]["inputs"]["x"]["dtype"] == "DT_DOUBLE"

    missing = requests.get(f"{service.url}/example/signatures/nope", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Servable not found for request: Latest(nope)"}


def test_sigterm_exits_0(service):
    assert service.stop() == 0, service.stderr
    lines = service.stderr.splitlines()
    loaded = f"go-service: model linear: version {service.version_dir.name} loaded from "
    assert any(line.startswith(loaded) for line in lines), lines
    assert lines[-1] == "go-service: stopped", lines
