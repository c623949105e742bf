"""examples/java-app: an application outside java_consumer/ that depends on the Java library by its
Maven coordinates (org.polyglot.tf:java-consumer, installed by ``make -C java_consumer``), built
here with mvn (offline when the local repository already holds everything) and run on
models/linear: it opens the model through the public API (manifest verified, unsafe ops refused)
and answers one predict request, which must be the golden response.
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
GOLDEN = "seed_example_rows"

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


def test_example_answers_the_golden_response(example_jar, tmp_path):
    golden = latest("linear") / "golden"
    request = (golden / f"{GOLDEN}.request.json").read_bytes()
    expected = json.loads((golden / f"{GOLDEN}.response.json").read_bytes())
    done = _run(
        ["java", "-jar", str(example_jar), str(MODELS / "linear"), "-"],
        input=request,
        cwd=tmp_path,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
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
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 1
    assert "java-app: NOT_FOUND: " in done.stderr.decode("utf-8", "replace")
