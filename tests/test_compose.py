"""docker-compose.yml follows the Compose specification and runs the Makefile's targets.

No Docker engine runs here, so the file is checked with check-jsonschema's built-in copy of the
Compose specification schema, and its services are checked against the Makefile, the
Dockerfile stages they name and (for ``serving``) the flags of the built ``go_consumer serve``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness.consumers import ROOT
from tests.harness.serving import SERVING

CHECK = Path(sys.executable).parent / "check-jsonschema"


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _make_targets() -> set[str]:
    done = subprocess.run(
        ["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {line.split()[0] for line in done.stdout.splitlines() if line.strip()}


def test_compose_file_is_valid():
    done = _validate(ROOT / "docker-compose.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_validator_rejects_a_broken_file(tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  producer:\n    image: 3\n    volumes: ./models\n")
    assert _validate(broken).returncode != 0


def test_services_share_models_and_run_make_targets():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, re.MULTILINE))
    targets = _make_targets()
    services = compose["services"]
    assert {"producer", "go-consumer", "serving", "java-consumer", "tests"} <= set(services)
    for name, service in services.items():
        assert service["build"]["target"] in stages, name
        assert any(v.startswith("./models:") for v in service["volumes"]), name
    assert services["producer"]["command"] == ["make", "models"]
    assert services["tests"]["command"] == ["make", "test"]
    used = set(re.findall(r"RUN make (\w+)|CMD \[\"make\", \"(\w+)\"\]", dockerfile))
    for pair in used:
        for target in filter(None, pair):
            assert target in targets, f"Dockerfile runs `make {target}`, not in the Makefile"
    assert {"models", "test", "go", "java", "setup", "build"} <= targets


def _entrypoint(dockerfile: str, stage: str) -> list[str]:
    """The exec-form ENTRYPOINT of a Dockerfile stage (empty without one)."""
    body = re.split(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE)
    stages = dict(zip(body[1::2], body[2::2], strict=True))
    found = re.findall(r"^ENTRYPOINT (\[.*\])$", stages[stage], re.MULTILINE)
    return yaml.safe_load(found[-1]) if found else []


def _serve_usage() -> str:
    """The ``go_consumer serve`` synopsis of the built binary's --help."""
    go = SERVING
    missing = go.missing()
    if missing:
        pytest.fail(missing)
    done = go.run_process(["serve", "--help"], timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    usage = done.stdout.decode()
    synopsis = re.search(r"^  go_consumer serve .*?(?=^  go_consumer )", usage, re.S | re.M)
    assert synopsis, usage
    return synopsis.group(0)


def _container_port(entry) -> int:
    """The container port of a ``ports`` entry (short syntax ``[HOST:]PUBLISHED:TARGET[/PROTO]``
    or long syntax ``{target: ...}``)."""
    if isinstance(entry, dict):
        return int(entry["target"])
    return int(str(entry).split("/")[0].rsplit(":", 1)[-1])


def test_serving_service_runs_serve_on_its_published_ports():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    serving = compose["services"]["serving"]
    assert _entrypoint(dockerfile, serving["build"]["target"]) == ["go_consumer/bin/go_consumer"]
    command = serving["command"]
    assert command[0] == "serve", command
    assert "./models:/work/models:ro" in serving["volumes"]
    assert serving["depends_on"]["producer"] == {"condition": "service_completed_successfully"}

    usage = _serve_usage()
    listed = set(re.findall(r"--[a-z][a-z-]*", usage))
    passed = [arg for arg in command[1:] if arg.startswith("--")]
    assert passed, command
    for flag in passed:
        assert flag in listed, f"serving passes {flag}, which `serve --help` does not list"
    values = dict(zip(command[1::2], command[2::2], strict=False))
    assert values["--model-base-path"] == "models"
    # Published ports are reached from outside the container: listen on every interface.
    assert values["--rest-host"] == values["--grpc-host"] == "0.0.0.0", command

    # Every port the server listens on is published (8501 REST, 8500 gRPC by default), and only
    # those.
    defaults = {
        flag: re.search(rf"\[{flag} (\d+)", usage).group(1)
        for flag in ("--rest-port", "--grpc-port")
    }
    assert defaults == {"--rest-port": "8501", "--grpc-port": "8500"}, usage
    listening = {int(values.get(flag, default)) for flag, default in defaults.items()}
    published = {_container_port(entry) for entry in serving["ports"]}
    assert published == listening == {8500, 8501}, serving["ports"]

    # The healthcheck asks the REST port's readiness route, from inside the container.
    probe = serving["healthcheck"]["test"]
    assert probe[:2] == ["CMD", "curl"] and "-f" in "".join(probe[2:-1]), probe
    rest_port = values.get("--rest-port", defaults["--rest-port"])
    assert probe[-1] == f"http://127.0.0.1:{rest_port}/readyz", probe
