"""docker-compose.yml follows the Compose specification and runs the Makefile's targets.

No Docker engine runs here, so the file is checked with check-jsonschema's built-in copy of the
Compose specification schema, and its services are checked against the Makefile and the
Dockerfile stages they name.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.harness.consumers import ROOT

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
    assert {"producer", "go-consumer", "java-consumer", "tests"} <= set(services)
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
