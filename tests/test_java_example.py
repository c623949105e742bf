"""examples/java-app: an application outside java_consumer/ that depends on the Java library by its
Maven coordinates (org.polyglot.tf:java-consumer, installed by ``make -C java_consumer``), built
here with mvn (offline when the local repository already holds everything) and run on
models/linear and models/digits: it opens the model through the public API (manifest verified,
unsafe ops refused) and answers one predict request, which must be the golden response.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import latest
from tests.harness.consumers import MODELS, ROOT

EXAMPLE = ROOT / "examples" / "java-app"
JAVA_CONSUMER = ROOT / "java_consumer"
JAR = EXAMPLE / "target" / "java-app.jar"
TIMEOUT = 900
#: (model, golden request): float64 linear algebra, and float32 convolutions (digits), whose bits
#: depend on the contract's numeric configuration (oneDNN off).
GOLDENS = [("linear", "seed_example_rows"), ("digits", "pixels_rows")]
#: The environment of the example's process: TF_ENABLE_ONEDNN_OPTS=0 is the contract's numerics,
#: which a Java program must be started with (the library refuses to guess).
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

pytestmark = pytest.mark.slow


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False, **kwargs)


@pytest.fixture(scope="module")
def example_jar():
    if shutil.which("mvn") is None:
        pytest.skip("mvn is not installed")
    done = _run(["make", "-C", str(JAVA_CONSUMER)])
    assert done.returncode == 0, (done.stdout + done.stderr).decode()[-4000:]
    mvn = ["mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(EXAMPLE / "pom.xml"), "package"]
    built = _run(mvn[:1] + ["-o"] + mvn[1:])
    if built.returncode != 0:  # a dependency or plugin not in the local repository yet
        built = _run(mvn)
    assert built.returncode == 0, (built.stdout + built.stderr).decode()[-4000:]
    assert JAR.is_file()
    return JAR


@pytest.mark.parametrize(("name", "golden_name"), GOLDENS)
def test_example_answers_the_golden_response(example_jar, tmp_path, name, golden_name):
    golden = latest(name) / "golden"
    request = (golden / f"{golden_name}.request.json").read_bytes()
    expected = json.loads((golden / f"{golden_name}.response.json").read_bytes())
    done = _run(
        ["java", "-jar", str(example_jar), str(MODELS / name), "-"],
        input=request,
        cwd=tmp_path,
        env=ENV,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert json.loads(done.stdout) == expected
    assert "signature serving_default:" in stderr


def test_example_refuses_a_missing_model_with_its_code(example_jar, tmp_path):
    done = _run(
        ["java", "-jar", str(example_jar), str(tmp_path / "missing"), "-"],
        input=b"{}",
        cwd=tmp_path,
        env=ENV,
    )
    assert done.returncode == 1
    assert "java-app: NOT_FOUND: " in done.stderr.decode("utf-8", "replace")


def test_the_library_refuses_to_guess_the_numeric_configuration(example_jar, tmp_path):
    """Without TF_ENABLE_ONEDNN_OPTS, TensorFlow would run oneDNN's kernels, whose bits differ
    (digits' probabilities do); the library says so instead of answering."""
    env = {k: v for k, v in ENV.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = _run(
        ["java", "-jar", str(example_jar), str(MODELS / "linear"), "-"],
        input=b"{}",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode("utf-8", "replace") == (
        "java-app: FAILED_PRECONDITION: TF_ENABLE_ONEDNN_OPTS is not set; start the JVM with "
        "TF_ENABLE_ONEDNN_OPTS=0 for the same bits as every other consumer and format, or =1 for "
        "TensorFlow's oneDNN kernels\n"
    )
