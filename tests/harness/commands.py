"""The command lines whose output the producer recorded at export (``golden/commands.json``).

Each entry has an ``argv`` with ``<VERSION_DIR>`` where the version folder's path goes, and the
``status`` and ``stdout`` the Python reference printed, with the path written the same way
(tests/CONTRACT.md, "Model layout").  A consumer passes when it prints those bytes for the real
path: no language is compared with another process's output, only with the recording.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from python_producer.producer.export import COMMANDS_FILE
from tests.harness.consumers import Consumer


@dataclass(frozen=True)
class Recorded:
    """One recorded command line of a version."""

    version_dir: Path
    id: str
    argv: tuple[str, ...]
    status: int
    stdout: str
    placeholder: str

    def args(self, model_arg: Path | None = None) -> list[str]:
        """The command line for this version; ``model_arg`` replaces ``--model``'s value (a
        model folder, say, whose highest version this is)."""
        args = [a.replace(self.placeholder, str(self.version_dir)) for a in self.argv]
        if model_arg is not None:
            args[args.index("--model") + 1] = str(model_arg)
        return args

    def expected_stdout(self) -> bytes:
        """The recorded stdout with this version's real path in place of the placeholder."""
        return self.stdout.replace(self.placeholder, str(self.version_dir)).encode("utf-8")

    def run(self, consumer: Consumer, model_arg: Path | None = None) -> subprocess.CompletedProcess:
        """Run this command line in ``consumer`` (through its run-cases process)."""
        return consumer.run(self.args(model_arg))


def recorded(version_dir: Path) -> dict[str, Recorded]:
    """Every recorded command line of ``version_dir``, by id."""
    doc = json.loads((version_dir / COMMANDS_FILE).read_text(encoding="utf-8"))
    return {
        c["id"]: Recorded(
            version_dir, c["id"], tuple(c["argv"]), c["status"], c["stdout"], doc["placeholder"]
        )
        for c in doc["commands"]
    }
