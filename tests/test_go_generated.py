"""The committed Go code of TensorFlow Serving's protocol (go_consumer/internal/tfspb/) is what
`make -C go_consumer protos` generates today, and `check-protos` fails when it is not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness.consumers import ROOT

TFSPB = ROOT / "go_consumer" / "internal" / "tfspb"
# The venv of this interpreter, whose tensorflow-serving-api and grpcio-tools generate the code.
VENV = Path(sys.executable).parent.parent


def check_protos(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "-C", "go_consumer", "check-protos", f"VENV={VENV}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_committed_tfspb_is_current():
    done = check_protos()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "go_consumer/internal/tfspb is current" in done.stdout


def test_check_protos_fails_on_an_altered_copy(tmp_path):
    copy = tmp_path / "tfspb"
    shutil.copytree(TFSPB, copy)
    altered = copy / "apis" / "predict.pb.go"
    altered.write_text(altered.read_text().replace("package apis", "package apis // edited", 1))
    done = check_protos(f"TFSPB_DIR={copy}")
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert f"error: {copy} is stale; run make -C go_consumer protos" in lines, done.stderr
    assert f"(generated)/apis/predict.pb.go and {altered} differ" in done.stderr
