"""Every refusal in tests/cases/bad_requests.json, in every consumer: its canonical code, the exit
status that code gives, and exactly one stderr line naming what was wrong, never a stack trace or
a signal.

Every case runs through the consumer's run-cases process; the cases marked ``"process": true``
run again as their own process, where the exit status, the whole of stderr (TensorFlow's native
log included) and the absence of a signal are the process's own.

Known gaps live in tests/known_failures.json (consumer -> case id -> reason) and are strict:
an entry that starts passing, or names no case, fails the run until it is removed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_producer.reference.status import EDGES, Code
from tests.harness.cases import BAD_REQUESTS, bad_request_args, bad_request_body
from tests.harness.consumers import ALL_CONSUMERS, CONSUMERS, Consumer

HERE = Path(__file__).parent
CASES = BAD_REQUESTS
KNOWN = json.loads((HERE / "known_failures.json").read_text())


def _params(only_process: bool = False):
    for consumer in CONSUMERS:
        known = KNOWN.get(consumer.name, {})
        for case in CASES:
            if only_process and not case.get("process"):
                continue
            marks = []
            if case["id"] in known:
                marks.append(pytest.mark.xfail(strict=True, reason=known[case["id"]]))
            yield pytest.param(consumer.name, case, id=f"{consumer.name}-{case['id']}", marks=marks)


@pytest.mark.parametrize(("language", "case"), list(_params()))
def test_refusal(language, case, tmp_path):
    _check_refusal(language, case, tmp_path, own_process=False)


@pytest.mark.parametrize(("language", "case"), list(_params(only_process=True)))
def test_refusal_in_its_own_process(language, case, tmp_path):
    _check_refusal(language, case, tmp_path, own_process=True)


def _check_refusal(language: str, case: dict, tmp_path: Path, own_process: bool) -> None:
    consumer: Consumer = next(c for c in CONSUMERS if c.name == language)
    assert consumer.missing() is None, consumer.missing()
    run = consumer.run_process if own_process else consumer.run
    done = run(bad_request_args(case, tmp_path), stdin=bad_request_body(case))
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode >= 0, f"died on signal {-done.returncode}: {stderr[-2000:]}"
    expected = EDGES[Code[case["code"]]].exit_status
    assert done.returncode == expected, f"exit {done.returncode}, stderr: {stderr[-2000:]}"
    if not own_process:
        assert done.code == case["code"], f"code {done.code}, stderr: {stderr[-2000:]}"
    assert done.stdout == b"", f"wrote to stdout: {done.stdout[:300]!r}"
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{stderr[-2000:]}"
    line = lines[0]
    assert line.startswith(f"{consumer.prog}: error: "), line
    for needle in case["stderr_contains"]:
        assert needle.lower() in line.lower(), f"{needle!r} not in {line[:2000]!r}"
    if "stderr_max_bytes" in case:
        assert len(line.encode()) <= case["stderr_max_bytes"], f"{len(line)} bytes: {line[:300]}"


def test_case_ids_unique_and_known_failures_not_stale():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    names = {c.name for c in ALL_CONSUMERS}
    for consumer, entries in KNOWN.items():
        assert consumer in names, f"known_failures.json names unknown consumer {consumer}"
        for case_id in entries:
            assert case_id in ids, f"known_failures.json: {consumer}/{case_id} matches no case"
