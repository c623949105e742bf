"""Starting ``go_consumer serve`` for a test and talking to it (tests/CONTRACT.md, "Serving").

The server is started on free loopback ports (``--rest-port 0 --grpc-port 0``; a flag given
later, such as ``--grpc-port off``, overrides them); their addresses come from the line it prints
once its models are loaded. Its stderr is collected line by line while it runs.

The helpers below serve the REST and the gRPC tests alike: model folders copied and versions
published (or damaged) under a temporary base path, waiting for a version's status, and the
tolerance that tests/tolerances.json grants the Go consumer's SavedModel cell.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.conftest import latest
from tests.harness.consumers import having
from tests.harness.parity import Tolerance, _granted, load_tolerances

#: The consumer whose ``serve`` these tests start: the one that serves both of TF Serving's
#: APIs (a second one would make the serving tests parametrize over them).
(SERVING,) = having("serve_rest", "serve_grpc")
Status = TypeVar("Status")
_LISTENING = re.compile(
    r"serving (?:the REST API on http://(?P<rest>\S+))?(?: and )?"
    r"(?:the gRPC API on (?P<grpc>\S+))? \("
)


class ServerFailed(RuntimeError):
    """The server exited, or did not start in time; the message carries its stderr."""


class Server:
    """A running ``go_consumer serve`` process.

    Args:
        base: the ``--model-base-path``; None for none, and then no ``--rest-port 0
            --grpc-port 0`` either: ``flags`` say everything (TF Serving's own flags).
        flags: further flags of ``serve``.
        start_timeout: seconds to wait for the server to load its models and listen.
        command: the server's argv before ``serve``'s flags (default ``go_consumer serve``);
            the Python baseline (``tests/harness/python_server.py``) takes the same flags.
        cwd: the server's working directory (default: this process's).
    """

    def __init__(
        self,
        base: Path | None,
        *flags: str,
        start_timeout: float = 180,
        command: list[str] | None = None,
        cwd: Path | None = None,
    ):
        defaults = [] if base is None else ["--model-base-path", str(base), "--rest-port", "0"]
        defaults += [] if base is None else ["--grpc-port", "0"]
        self.command = [*(command or [*SERVING.argv, "serve"]), *defaults, *flags]
        self.process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self.address = ""  # the REST API's HOST:PORT ("" when off)
        self.grpc_address = ""  # the gRPC API's HOST:PORT ("" when off)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + start_timeout
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise ServerFailed(
                    f"serve did not start (exit {self.process.returncode}):\n{self.stderr}"
                )
        self.url = f"http://{self.address}"

    def _read_stderr(self) -> None:
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
            match = _LISTENING.search(line)
            if match and not self._listening.is_set():
                self.address = match.group("rest") or ""
                self.grpc_address = match.group("grpc") or ""
                self._listening.set()

    @property
    def lines(self) -> list[str]:
        """The stderr lines so far."""
        with self._lock:
            return list(self._lines)

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 60) -> str:
        """Wait until a stderr line matches the regular expression ``pattern``; return it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if regex.search(line):
                    return line
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise ServerFailed(f"no stderr line matched {pattern!r}:\n{self.stderr}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` (unless the process has exited) and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        """Wait for the exit status (a second signal would end a shutdown at once).

        Raises:
            ServerFailed: the process did not exit within ``timeout`` seconds; it is killed.
        """
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()  # so that the reader sees the end of stderr and the pipes can close
            raise ServerFailed(
                f"the server did not exit within {timeout} s:\n{self.stderr}"
            ) from None
        finally:
            self._reader.join(timeout=10)
            self.process.stdout.close()
            self.process.stderr.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.stop()


def publish_version(source: Path, model_dir: Path, version: int, damage=None) -> Path:
    """Copy the version folder ``source`` into ``model_dir`` as ``version`` the way the producer
    publishes one: staged in ``.tmp-<version>-<n>`` (optionally damaged there by
    ``damage(folder)``), then renamed into place in one step."""
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = model_dir / f".tmp-{version}-test"
    shutil.copytree(source, staging)
    if damage is not None:
        damage(staging)
    final = model_dir / str(version)
    staging.rename(final)
    return final


def copy_latest(base: Path, name: str) -> Path:
    """Copy the highest version of ``models/<name>`` to ``base/<name>/<version>``."""
    source = latest(name)
    return Path(shutil.copytree(source, base / name / source.name))


def damage_variables(folder: Path) -> None:
    """Flip one byte in the middle of a version's variables data (verification refuses it)."""
    data = next((folder / "variables").glob("variables.data-*"))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))


def truncate_saved_model(folder: Path) -> None:
    """Cut a version's ``saved_model.pb`` to half its length (its size no longer matches
    manifest.json, and TensorFlow could not parse it either)."""
    pb = folder / "saved_model.pb"
    raw = pb.read_bytes()
    pb.write_bytes(raw[: len(raw) // 2])


def wait_for_version(
    server: Server,
    statuses: Callable[[], dict[int, Status]],
    version: int,
    predicate: Callable[[Status], bool],
    timeout: float = 60,
) -> dict[int, Status]:
    """Poll ``statuses()`` (version -> its status, over either API) until ``version`` is in it
    and ``predicate(its status)`` holds; return that answer. Fails with the server's stderr."""
    deadline = time.monotonic() + timeout
    last: dict[int, Status] = {}
    while time.monotonic() < deadline:
        last = statuses()
        if version in last and predicate(last[version]):
            return last
        time.sleep(0.1)
    raise AssertionError(
        f"version {version} never reached the state wanted: {last}\n{server.stderr}"
    )


def go_tolerance(name: str) -> Callable[[str], Tolerance | None]:
    """``signature -> Tolerance`` that tests/tolerances.json grants model ``name`` for the Go
    consumer on the SavedModel (``None``: the golden bits exactly)."""
    tolerances = load_tolerances()

    def granted(signature: str) -> Tolerance | None:
        return _granted(tolerances, name, signature, SERVING.name, "saved_model")

    return granted
