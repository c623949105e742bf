"""The binaries run on their own: from any directory, with no environment variables, reading
the request from stdin, and they report the TensorFlow runtime they loaded."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import latest
from tests.harness.compare import compare_bodies, output_specs
from tests.harness.consumers import ROOT, by_name, names

BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


@pytest.mark.parametrize("language", names("standalone"))
def test_predict_from_tmp_with_bare_environment(language, linear_dir, tmp_path):
    consumer = by_name(language)
    request = (linear_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    expected = (linear_dir / "golden" / "seed_example_rows.response.json").read_bytes()
    done = consumer.run_process(
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


@pytest.mark.parametrize("language", names())
def test_version_reports_the_pinned_runtime(language):
    done = by_name(language).run(["version"])
    assert done.returncode == 0, done.stderr.decode()
    line = done.stdout.decode().strip()
    assert line.startswith(by_name(language).prog + " ")
    assert line.endswith("TensorFlow 2.21.0"), line


@pytest.mark.parametrize("language", names())
def test_native_log_dropped_unless_asked_for(language, linear_dir):
    request = (linear_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    args = ["predict", "--model", str(linear_dir)]
    # TensorFlow logs natively at load time only at a low TF_CPP_MIN_LOG_LEVEL (with oneDNN off
    # by default, its oneDNN notice is gone too); ask for both. The two processes run side by side.
    loud_env = dict(BARE_ENV, POLYGLOT_NATIVE_LOG="1", TF_CPP_MIN_LOG_LEVEL="0")
    with ThreadPoolExecutor(max_workers=2) as pool:
        quiet, loud = pool.map(
            lambda env: by_name(language).run_process(args, stdin=request, env=env),
            [BARE_ENV, loud_env],
        )
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr.decode()
    assert loud.returncode == 0, loud.stderr.decode()
    assert b"absl::InitializeLog" in loud.stderr, loud.stderr.decode()
    assert loud.stdout == quiet.stdout


@pytest.mark.parametrize("language", names("standalone"))
def test_classify_and_generate_from_tmp_with_bare_environment(language, tmp_path):
    consumer = by_name(language)
    digits, charlm = latest("digits"), latest("charlm")
    image = sorted((digits / "samples").glob("digit-*.png"))[0]
    copied = tmp_path / "my digit.png"
    copied.write_bytes(image.read_bytes())
    done = consumer.run_process(
        ["classify", "--model", str(digits.parent.resolve()), copied.name],
        cwd=tmp_path,
        env=BARE_ENV,
    )
    assert done.returncode == 0, done.stderr.decode()
    label = image.name.split("-")[1]
    assert done.stdout.decode().startswith(f"my digit.png\tclass_id={label}\tprobability=")
    done = consumer.run_process(
        ["generate", "--model", str(charlm.parent.resolve()), "--prefix", "The ", "--length", "30"],
        cwd=tmp_path,
        env=BARE_ENV,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"The ") and len(done.stdout) == 4 + 30 + 1


@pytest.mark.parametrize("language", names())
def test_onednn_off_by_default_and_the_users_choice_kept(language):
    """Default: oneDNN off, so the frozen graph answers like the SavedModel (CONTRACT.md,
    "Numeric configuration"); an explicit TF_ENABLE_ONEDNN_OPTS=1 reaches TensorFlow, whose
    fused float32 kernels then change digits' probabilities."""
    digits = latest("digits")
    request = (digits / "golden" / "pixels_rows.request.json").read_bytes()
    consumer = by_name(language)

    def answer(model_format: str, **env) -> bytes:
        args = ["predict", "--model", str(digits), "--format", model_format]
        done = consumer.run_process(args, stdin=request, env=dict(BARE_ENV, **env))
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout

    # Four processes of their own (the setting is read when TensorFlow loads), run side by side.
    runs = [("saved_model", {}), ("frozen", {}), ("saved_model", {"TF_ENABLE_ONEDNN_OPTS": "0"})]
    runs.append(("saved_model", {"TF_ENABLE_ONEDNN_OPTS": "1"}))
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        default, frozen, off, on = pool.map(lambda run: answer(run[0], **run[1]), runs)
    assert frozen == default
    assert off == default
    assert on != default
