"""Each language stays idiomatic: ruff for Python, gofmt for Go (go vet runs in `make test-go`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.harness.consumers import ROOT

RUFF = str(Path(sys.executable).parent / "ruff")


def test_ruff_check():
    done = subprocess.run(
        [RUFF, "check", "python_producer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_ruff_format():
    done = subprocess.run(
        [RUFF, "format", "--check", "python_producer", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_gofmt():
    gofmt = shutil.which("gofmt")
    assert gofmt, "gofmt is not on PATH"
    done = subprocess.run(
        [gofmt, "-l", "go_consumer"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout == "", f"not gofmt-formatted:\n{done.stdout}"
