"""The binaries run on their own: from any directory, with no environment variables, reading
the request from stdin, and they report the TensorFlow runtime they loaded."""

from __future__ import annotations

import subprocess

import pytest

from tests.harness.compare import compare_bodies, output_specs
from tests.harness.consumers import ROOT, by_name

BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


@pytest.mark.parametrize("language", ["go", "java"])
def test_predict_from_tmp_with_bare_environment(language, linear_dir, tmp_path):
    consumer = by_name(language)
    request = (linear_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    expected = (linear_dir / "golden" / "seed_example_rows.response.json").read_bytes()
    done = consumer.run(
        ["predict", "--model", str(linear_dir.parent.resolve())],
        stdin=request,
        cwd=tmp_path,
        env=BARE_ENV,
    )
    assert done.returncode == 0, done.stderr.decode()
    result = compare_bodies(
        done.stdout, expected, output_specs(linear_dir, "serving_default", "saved_model")
    )
    assert result.identical, result.detail


def test_go_binary_links_the_wheel_library_through_its_rpath():
    binary = ROOT / "go_consumer" / "bin" / "go_consumer"
    done = subprocess.run(
        ["ldd", str(binary)], capture_output=True, text=True, env=BARE_ENV, check=True
    )
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if "=>" in line}
    for lib in ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2"):
        assert lib in lines, done.stdout
        assert str(ROOT / "go_consumer" / "lib") in lines[lib] or "/../lib/" in lines[lib], lines[
            lib
        ]


@pytest.mark.parametrize("language", ["python", "go", "java"])
def test_version_reports_the_pinned_runtime(language):
    done = by_name(language).run(["version"])
    assert done.returncode == 0, done.stderr.decode()
    line = done.stdout.decode().strip()
    assert line.startswith(by_name(language).prog + " ")
    assert line.endswith("TensorFlow 2.21.0"), line


@pytest.mark.parametrize("language", ["python", "go", "java"])
def test_native_log_dropped_unless_asked_for(language, linear_dir):
    request = (linear_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    args = ["predict", "--model", str(linear_dir)]
    quiet = by_name(language).run(args, stdin=request, env=BARE_ENV)
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr.decode()
    loud = by_name(language).run(args, stdin=request, env=dict(BARE_ENV, POLYGLOT_NATIVE_LOG="1"))
    assert loud.returncode == 0, loud.stderr.decode()
    assert b"absl::InitializeLog" in loud.stderr, loud.stderr.decode()
    assert loud.stdout == quiet.stdout
