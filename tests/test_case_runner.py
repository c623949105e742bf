"""The case runner (tests/CONTRACT.md, "Case runner"): every consumer's ``run-cases`` speaks the
protocol, answers a case as the real command line would, and the harness records a case that
kills the process as that case's crash and goes on with a new process."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys

import pytest

from tests.harness.consumers import CONSUMERS, CaseRunner, Consumer, by_name

LANGUAGES = [c.name for c in CONSUMERS]


def _exchange(consumer: Consumer, lines: list[bytes]) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [*consumer.argv, "run-cases"],
        input=b"".join(line + b"\n" for line in lines),
        capture_output=True,
        timeout=300,
        check=False,
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def _case(*argv: str, stdin: bytes = b"") -> bytes:
    return json.dumps({"argv": list(argv), "stdin": base64.b64encode(stdin).decode()}).encode()


def _streams(answer: dict) -> tuple[int, bytes, bytes]:
    return answer["status"], base64.b64decode(answer["stdout"]), base64.b64decode(answer["stderr"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_protocol(language, linear_dir):
    consumer = by_name(language)
    request = (linear_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    status, answers = _exchange(
        consumer,
        [
            _case("version"),
            b"",  # skipped
            b"not json",
            b'{"argv": ["version"], "extra": 1}',
            _case("predict", "--model", str(linear_dir), stdin=request),
            _case("predict", "--model", str(linear_dir), "--no-such-flag"),
            _case("serve", "--model-base-path", str(linear_dir.parent.parent)),
            _case("run-cases"),
        ],
    )
    assert status == 0
    assert len(answers) == 7, answers
    version, bad, unknown, predicted, refused, serve, nested = answers
    code, out, err = _streams(version)
    assert code == 0 and out.decode().endswith("TensorFlow 2.21.0\n") and err == b""
    assert set(bad) == {"error"} and set(unknown) == {"error"}
    assert "extra" in unknown["error"]
    code, out, err = _streams(predicted)
    expected = (linear_dir / "golden" / "seed_example_rows.response.json").read_bytes()
    assert (code, err) == (0, b"") and json.loads(out) == json.loads(expected)
    code, out, err = _streams(refused)
    assert code == 2 and out == b""
    assert err.decode().startswith(f"{consumer.prog}: error: ") and err.count(b"\n") == 1
    for answer, command in ((serve, "serve"), (nested, "run-cases")):
        assert _streams(answer) == (
            2,
            b"",
            f"{consumer.prog}: error: {command} cannot run as a case; start the program\n".encode(),
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_case_answers_like_the_process(language, linear_dir):
    """The same refusal through run-cases and as its own process: same status, same bytes."""
    consumer = by_name(language)
    args = ["predict", "--model", str(linear_dir), "--version", "999"]
    in_runner = consumer.run(args, stdin=b"{}")
    alone = consumer.run_process(args, stdin=b"{}")
    assert (in_runner.returncode, in_runner.stdout, in_runner.stderr) == (
        alone.returncode,
        alone.stdout,
        alone.stderr,
    )
    assert in_runner.returncode == 2


TESTEE = r"""
import base64, json, os, signal, sys
for line in sys.stdin:
    case = json.loads(line)
    if case["argv"] == ["die"]:
        os.kill(os.getpid(), signal.SIGKILL)
    if case["argv"] == ["exit"]:
        sys.stderr.write("going away\n")
        sys.stderr.flush()
        os._exit(3)
    out = " ".join(case["argv"]).encode()
    print(json.dumps({"status": 0, "stdout": base64.b64encode(out).decode(), "stderr": ""}),
          flush=True)
"""


def test_a_crash_is_recorded_and_the_rest_runs_in_a_new_process(tmp_path):
    script = tmp_path / "testee.py"
    script.write_text(TESTEE)
    runner = CaseRunner(Consumer("fake", "fake", (sys.executable, str(script), "--")))
    try:
        assert runner.run(["a", "b"], b"", 30).stdout == b"a b"
        killed = runner.run(["die"], b"", 30)
        assert killed.returncode == -signal.SIGKILL and killed.stdout == b""
        assert runner.run(["after"], b"", 30).stdout == b"after"
        exited = runner.run(["exit"], b"", 30)
        assert (exited.returncode, exited.stderr) == (3, b"going away\n")
        assert runner.run(["again"], b"", 30).returncode == 0
        assert runner.started == 3
    finally:
        runner.close()
