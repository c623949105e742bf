"""Adapters for the three consumers: how to start each one and what each can do, nothing else.

Each consumer is a program speaking tests/CONTRACT.md.  Adding a language means adding one
:class:`Consumer` (its command and its capabilities) to :data:`CONSUMERS`; tests pick consumers
with :func:`having`, never by name.

:meth:`Consumer.run` sends a command line through the consumer's long-lived ``run-cases``
process (CONTRACT "Case runner", the shape of protobuf's conformance runner): one process per
consumer answers every case, and a case that kills it is recorded as that case's crash (its exit
status, negative for a signal) before a new process is started for the rest.
:meth:`Consumer.run_process` starts one real process, for what only a process shows: its exit
status, its stderr as a whole (TensorFlow's native log included), signals, its working folder
and environment.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


#: What a consumer can do or is, beyond the commands every consumer has (predict, inspect,
#: serve-stdio, classify, generate, version, run-cases): ``train``, ``bench``, ``soak``;
#: ``serve_rest`` and ``serve_grpc`` (``serve``, TF Serving's APIs); ``standalone`` (a program
#: that runs alone, from any folder with a bare environment, not a module of the venv's
#: interpreter); ``reference`` (the consumer that wrote the golden files, whose answers others
#: are compared with where no golden file exists).
CAPABILITIES = frozenset(
    {"train", "bench", "soak", "serve_rest", "serve_grpc", "standalone", "reference"}
)


@dataclass(frozen=True)
class Consumer:
    """One program under test.

    Attributes:
        name: short name used in test ids and the parity table (python, go, java).
        prog: the name the program puts before ``: error:`` on stderr.
        argv: the command that starts it (subcommand and flags follow).
        can: its capabilities, a subset of :data:`CAPABILITIES`.
    """

    name: str
    prog: str
    argv: tuple[str, ...]
    can: frozenset[str] = frozenset()

    def __post_init__(self):
        unknown = self.can - CAPABILITIES
        if unknown:
            raise ValueError(f"{self.name}: unknown capabilities {sorted(unknown)}")

    def missing(self) -> str | None:
        """Return why this consumer cannot run (its program is not built), or ``None``."""
        program = Path(self.argv[0])
        if program.is_absolute() and not os.access(program, os.X_OK):
            return f"{program} is not built; run `make build`"
        return None

    def run(self, args: list[str], stdin: bytes = b"", timeout: float = 300):
        """Run one command line as a case of this consumer's ``run-cases`` process.

        Returns a :class:`subprocess.CompletedProcess` (bytes ``stdout`` and ``stderr``): the
        case's exit status and streams, or, when the case killed the process, that process's
        exit status (negative: the signal) and the tail of its stderr.

        Raises:
            subprocess.TimeoutExpired: no answer within ``timeout`` seconds (the process is
                killed; the next case starts a new one).
        """
        return _runner(self).run(args, stdin, timeout)

    def run_process(
        self,
        args: list[str],
        stdin: bytes = b"",
        cwd: Path | None = None,
        env: dict | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess:
        """Run one command as its own process; returns the completed process (bytes streams)."""
        return subprocess.run(
            [*self.argv, *args],
            input=stdin,
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=False,
        )

    def serve_stdio(
        self, model: Path, requests: list[bytes], model_format: str = "saved_model"
    ) -> list[bytes]:
        """Answer ``requests`` with one ``serve-stdio`` case (the model is loaded once).

        Each request is sent as one line (newlines inside a body become spaces); returns one
        response line per request, in order.

        Raises:
            ConsumerCrashed: the case did not end with status 0 and one line per request; the
                message names its status and stderr.
        """
        lines = [b" ".join(r.strip().split(b"\n")) + b"\n" for r in requests]
        args = ["serve-stdio", "--model", str(model), "--format", model_format]
        done = self.run(args, stdin=b"".join(lines))
        answers = done.stdout.splitlines()
        if done.returncode != 0 or len(answers) != len(requests):
            stderr = done.stderr.decode("utf-8", "replace").strip()
            raise ConsumerCrashed(
                f"{self.name} serve-stdio exited with status {done.returncode} after "
                f"{len(answers)} of {len(requests)} answers: {stderr[-2000:]}"
            )
        return answers


class ConsumerCrashed(RuntimeError):
    """A consumer did not answer every request; the message names its exit status and stderr."""


class CaseRunner:
    """A consumer's ``run-cases`` process, started on the first case and after a crash.

    Thread-safe: cases from several threads are answered one at a time.
    """

    def __init__(self, consumer: Consumer):
        self.consumer = consumer
        self.process: subprocess.Popen | None = None
        self.stderr = None
        self.started = 0
        self.lock = threading.Lock()

    def _start(self) -> None:
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [*self.consumer.argv, "run-cases"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=ROOT,
        )
        self.started += 1
        self.buffer = b""

    def _read_line(self, deadline: float) -> bytes:
        """The next answer line, b"" at end of output; raises TimeoutError after deadline."""
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b""
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def _crashed(self, args: list[str]) -> subprocess.CompletedProcess:
        """Record the death of the process as this case's outcome, and forget the process."""
        status = self.process.wait(timeout=60)
        self.stderr.seek(0)
        tail = self.stderr.read()[-4000:]
        self.stderr.close()
        self.process.stdin.close()
        self.process.stdout.close()
        self.process = None
        return subprocess.CompletedProcess(args, status, b"", tail)

    def run(self, args: list[str], stdin: bytes, timeout: float) -> subprocess.CompletedProcess:
        """Answer one case (see :meth:`Consumer.run`)."""
        case = {"argv": list(args), "stdin": base64.b64encode(stdin).decode("ascii")}
        with self.lock:
            if self.process is None:
                self._start()
            try:
                self.process.stdin.write(json.dumps(case).encode("ascii") + b"\n")
                self.process.stdin.flush()
            except BrokenPipeError:
                return self._crashed(args)
            try:
                line = self._read_line(time.monotonic() + timeout)
            except TimeoutError:
                self.process.kill()
                self._crashed(args)
                raise subprocess.TimeoutExpired(args, timeout) from None
            if not line:
                return self._crashed(args)
            answer = json.loads(line)
            if "error" in answer:
                raise ValueError(f"{self.consumer.name} run-cases refused the case: {answer}")
            done = subprocess.CompletedProcess(
                args,
                answer["status"],
                base64.b64decode(answer["stdout"]),
                base64.b64decode(answer["stderr"]),
            )
            # The canonical code of the case's error (tests/CONTRACT.md, "Case runner").
            done.code = answer.get("code")
            return done

    def close(self) -> None:
        """End the process (end of input) and wait for it."""
        with self.lock:
            if self.process is None:
                return
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.stderr.close()
            self.process = None


_RUNNERS: dict[str, CaseRunner] = {}


def _runner(consumer: Consumer) -> CaseRunner:
    if not _RUNNERS:
        atexit.register(close_runners)
    if consumer.name not in _RUNNERS:
        _RUNNERS[consumer.name] = CaseRunner(consumer)
    return _RUNNERS[consumer.name]


def close_runners() -> None:
    """End every ``run-cases`` process (the end of a test session)."""
    for runner in _RUNNERS.values():
        runner.close()


#: Every consumer of the project.
ALL_CONSUMERS: tuple[Consumer, ...] = (
    Consumer(
        "python",
        "python_producer",
        (sys.executable, "-m", "python_producer"),
        frozenset({"train", "bench", "soak", "reference"}),
    ),
    Consumer(
        "go",
        "go_consumer",
        (str(ROOT / "go_consumer" / "bin" / "go_consumer"),),
        frozenset({"train", "bench", "soak", "serve_rest", "serve_grpc", "standalone"}),
    ),
    Consumer(
        "java",
        "java_consumer",
        (str(ROOT / "java_consumer" / "bin" / "java_consumer"),),
        frozenset({"train", "bench", "soak", "standalone"}),
    ),
)


def _selected(consumers: tuple[Consumer, ...], names: str | None) -> tuple[Consumer, ...]:
    if not names:
        return consumers
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(wanted) - {c.name for c in consumers})
    if unknown:
        raise ValueError(f"TEST_CONSUMERS names unknown consumers {unknown}")
    return tuple(c for c in consumers if c.name in wanted)


#: The consumers under test: all of them, or those named in ``TEST_CONSUMERS`` (comma-separated,
#: as ``make test-fast CONSUMERS=go`` sets it). The reference is still used as the reference.
CONSUMERS: tuple[Consumer, ...] = _selected(ALL_CONSUMERS, os.environ.get("TEST_CONSUMERS"))
FORMATS = ("saved_model", "frozen")


def by_name(name: str) -> Consumer:
    """Return the consumer called ``name``."""
    return next(c for c in ALL_CONSUMERS if c.name == name)


def having(*capabilities: str) -> tuple[Consumer, ...]:
    """The consumers that have every one of ``capabilities`` (see :data:`CAPABILITIES`)."""
    unknown = set(capabilities) - CAPABILITIES
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}")
    return tuple(c for c in CONSUMERS if c.can >= set(capabilities))


def names(*capabilities: str) -> list[str]:
    """The names of :func:`having`'s consumers, for ``pytest.mark.parametrize``."""
    return [c.name for c in having(*capabilities)]


def reference() -> Consumer:
    """The reference consumer (the one with the ``reference`` capability), selected or not."""
    (found,) = (c for c in ALL_CONSUMERS if "reference" in c.can)
    return found


def with_reference() -> tuple[Consumer, ...]:
    """The consumers under test, and the reference first even when it is not selected (for
    tests that compare every consumer's text with the reference's)."""
    ref = reference()
    return (ref, *(c for c in CONSUMERS if c is not ref))


def compared(*capabilities: str) -> list[str]:
    """The names of the consumers with ``capabilities`` other than the reference: the ones
    compared with the reference's answers."""
    return [c.name for c in having(*capabilities) if "reference" not in c.can]
