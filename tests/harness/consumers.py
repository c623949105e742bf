"""Adapters for the three consumers: how to start each one, and nothing else.

Each consumer is a program speaking tests/CONTRACT.md.  Adding a language means adding one
:class:`Consumer` to :data:`CONSUMERS`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


@dataclass(frozen=True)
class Consumer:
    """One program under test.

    Attributes:
        name: short name used in test ids and the parity table (python, go, java).
        prog: the name the program puts before ``: error:`` on stderr.
        argv: the command that starts it (subcommand and flags follow).
    """

    name: str
    prog: str
    argv: tuple[str, ...]

    def missing(self) -> str | None:
        """Return why this consumer cannot run (its program is not built), or ``None``."""
        program = Path(self.argv[0])
        if program.is_absolute() and not os.access(program, os.X_OK):
            return f"{program} is not built; run `make build`"
        return None

    def run(
        self,
        args: list[str],
        stdin: bytes = b"",
        cwd: Path | None = None,
        env: dict | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess:
        """Run one command to completion; returns the completed process (bytes stdout/stderr)."""
        return subprocess.run(
            [*self.argv, *args],
            input=stdin,
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=False,
        )

    def session(self, model: Path, model_format: str = "saved_model") -> StdioSession:
        """Start ``serve-stdio`` on ``model`` (the harness's long-lived mode)."""
        return StdioSession(self, model, model_format)


class ConsumerCrashed(RuntimeError):
    """The long-lived consumer died; the message names its exit status and stderr."""


class StdioSession:
    """A running ``serve-stdio`` process: one JSON request per line in, one response out."""

    def __init__(self, consumer: Consumer, model: Path, model_format: str):
        self.consumer = consumer
        self.command = [
            *consumer.argv,
            "serve-stdio",
            "--model",
            str(model),
            "--format",
            model_format,
        ]
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def predict(self, body: bytes) -> bytes:
        """Send one request (must be a single line) and return the response line.

        Raises:
            ConsumerCrashed: the process exited instead of answering.
        """
        if b"\n" in body.strip():
            body = b" ".join(body.split(b"\n"))
        try:
            self.process.stdin.write(body.strip() + b"\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = b""
        if not line:
            status = self.process.wait(timeout=30)
            stderr = self.process.stderr.read().decode("utf-8", "replace").strip()
            raise ConsumerCrashed(
                f"{self.consumer.name} serve-stdio exited with status {status}: {stderr[-2000:]}"
            )
        return line

    def close(self) -> int:
        """Close stdin and wait; return the exit status."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            return self.process.wait(timeout=60)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()

    def __enter__(self) -> StdioSession:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.close()


CONSUMERS: tuple[Consumer, ...] = (
    Consumer("python", "python_producer", (sys.executable, "-m", "python_producer")),
    Consumer("go", "go_consumer", (str(ROOT / "go_consumer" / "bin" / "go_consumer"),)),
    Consumer("java", "java_consumer", (str(ROOT / "java_consumer" / "bin" / "java_consumer"),)),
)
FORMATS = ("saved_model", "frozen")


def by_name(name: str) -> Consumer:
    """Return the consumer called ``name``."""
    return next(c for c in CONSUMERS if c.name == name)
