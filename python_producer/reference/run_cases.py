"""``run-cases``: the long-lived test mode of the Python consumer (CONTRACT.md, "Case runner").

As protobuf's conformance testees do, the process is started once and answers many cases: it
reads one JSON case per line on stdin, ``{"argv": [ARG, ...], "stdin": "<base64>"}``, runs it
through :func:`python_producer.cli.run` (the entry point of the real command line) with the
case's bytes as standard input and fresh buffers as standard output and error, and writes one
JSON line ``{"status": N, "code": C, "stdout": "<base64>", "stderr": "<base64>"}``, flushed
(``C``: the canonical code of the error, ``"OK"`` after success).  A line that is not a case is
answered with ``{"error": "<message>"}`` and the process goes on; it ends with status 0 at end
of input.

File descriptor 1 carries only these answers: it is duplicated for them at start and pointed at
file descriptor 2, so that native code writing to standard output cannot corrupt the stream.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import sys
from collections.abc import Callable
from typing import BinaryIO

#: Commands a case may not run: they never end on their own, or would nest the runner.
REFUSED_COMMANDS = ("run-cases", "serve")


def parse_case(line: bytes) -> tuple[list[str], bytes]:
    """Return ``(argv, stdin bytes)`` of one case line.

    Raises:
        ValueError: the line is not a JSON object with ``argv`` (a list of strings) and an
            optional ``stdin`` (base64 text); the message names what was wrong.
    """
    try:
        case = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"case is not JSON: {exc}") from None
    if not isinstance(case, dict):
        raise ValueError("case must be a JSON object with argv and stdin")
    unknown = sorted(set(case) - {"argv", "stdin"})
    if unknown:
        raise ValueError(f'unknown case field "{unknown[0]}"; expected argv and stdin')
    argv = case.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError("case argv must be a list of strings")
    encoded = case.get("stdin", "")
    if not isinstance(encoded, str):
        raise ValueError("case stdin must be base64 text")
    try:
        stdin = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"case stdin is not base64: {exc}") from None
    return argv, stdin


def run_case(run: Callable[[list[str]], tuple[int, str]], argv: list[str], stdin: bytes) -> dict:
    """Run ``run(argv)`` (the command line: exit status and code) with ``stdin`` as standard
    input; return the answer object ``{"status", "code", "stdout", "stderr"}``.

    ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` are replaced for the call (UTF-8 text
    streams over byte buffers, with ``.buffer`` for bytes) and restored after it.
    """
    if argv and argv[0] in REFUSED_COMMANDS:
        message = f"python_producer: error: {argv[0]} cannot run as a case; start the program\n"
        return _answer(2, "INVALID_ARGUMENT", b"", message.encode())
    out, err = io.BytesIO(), io.BytesIO()
    streams = (
        io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"),
        io.TextIOWrapper(out, encoding="utf-8", write_through=True),
        io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True),
    )
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = streams
    try:
        try:
            status, code = run(argv)
        except SystemExit as exc:  # argparse's --help, or a library that exits
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            code = "OK" if status == 0 else "INTERNAL"
        for stream in streams[1:]:
            stream.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        for stream in streams:  # the buffers stay open for reading (a wrapper closes its own)
            stream.detach()
    return _answer(status, code, out.getvalue(), err.getvalue())


def _answer(status: int, code: str, stdout: bytes, stderr: bytes) -> dict:
    return {
        "status": status,
        "code": code,
        "stdout": base64.b64encode(stdout).decode("ascii"),
        "stderr": base64.b64encode(stderr).decode("ascii"),
    }


def serve(run: Callable[[list[str]], tuple[int, str]], source: BinaryIO) -> int:
    """Answer every case line of ``source``; return 0 at end of input."""
    sys.stdout.flush()
    sink = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        for line in source:
            if not line.strip():
                continue
            try:
                argv, stdin = parse_case(line)
            except ValueError as exc:
                answer = {"error": str(exc)}
            else:
                answer = run_case(run, argv, stdin)
            sink.write(json.dumps(answer).encode("ascii") + b"\n")
            sink.flush()
    finally:
        sink.close()
    return 0
