"""Writing one model version folder: staging, golden files, recorded commands, manifest, publish.

A version is staged in ``models/<name>/.tmp-<version>-<pid>/`` and renamed to
``models/<name>/<version>/`` only once every file is written, so a consumer never sees half a
model (rename within one folder is atomic on POSIX file systems). The producer's export
(:class:`python_producer.producer.export.ExportWriter`) and the training loop
(:mod:`python_producer.reference.training`) both publish through :class:`VersionWriter`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from python_producer import tf_runtime
from python_producer.reference.model_dir import complete_versions, sha256_of
from python_producer.reference.predictor import Predictor
from python_producer.reference.run_cases import run_case

#: Runs a command line (``argv`` after the program's name) in-process; returns its exit
#: status and canonical code (``python_producer.cli.run``).
CommandRunner = Callable[[list[str]], tuple[int, str]]

#: What ``golden/commands.json`` writes in place of the version folder's path (tests/CONTRACT.md,
#: "Model layout"): a consumer given the real path must print the recorded text with it there.
VERSION_DIR = "<VERSION_DIR>"
COMMANDS_FILE = "golden/commands.json"


def file_hashes(version_dir: Path) -> dict[str, dict]:
    """Return ``{relative path: {"sha256", "bytes"}}`` for every file except ``manifest.json``."""
    return {
        path.relative_to(version_dir).as_posix(): {
            "sha256": sha256_of(path),
            "bytes": path.stat().st_size,
        }
        for path in sorted(version_dir.rglob("*"))
        if path.is_file() and path.relative_to(version_dir).as_posix() != "manifest.json"
    }


class VersionWriter:
    """Stage, fill and atomically publish ``models/<name>/<version>/``.

    Use as a context manager: the staging folder is removed if the block raises; call
    :meth:`publish` at the end of the block to write the manifest and rename into place.

    Args:
        models_dir: the base folder (``models``).
        name: the model name (folder under ``models_dir``).
        run_command: runs one command line of the reference consumer in-process and returns
            its exit status and code (``python_producer.cli.run``); :meth:`publish` records
            the output of :meth:`expect_command`'s command lines with it. ``None``: no
            recorded commands (versions written by ``train --model``).

    Attributes:
        version: the integer version being written (highest existing + 1).
        path: the staging folder; write summaries etc. under it.
    """

    def __init__(self, models_dir: Path, name: str, run_command: CommandRunner | None = None):
        self.name = name
        self.model_root = Path(models_dir).absolute() / name
        self.model_root.mkdir(parents=True, exist_ok=True)
        existing = complete_versions(self.model_root)
        self.version = (existing[-1] if existing else 0) + 1
        self.path = self.model_root / f".tmp-{self.version}-{os.getpid()}"
        self.final_path = self.model_root / str(self.version)
        self._run_command = run_command
        self._commands: dict[str, list[str]] = {
            "inspect": ["inspect", "--model", VERSION_DIR],
            "inspect_json": ["inspect", "--model", VERSION_DIR, "--json"],
        }

    def __enter__(self) -> VersionWriter:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)

    def write_golden(
        self,
        requests: dict[str, dict | str],
        allowed_ops: frozenset[str] = frozenset(),
        predictor: Predictor | None = None,
    ) -> None:
        """Write ``golden/<case>.request.json`` and the Python reference's response for each.

        Args:
            requests: case name -> request (a JSON-able dict, or raw JSON text for values such
                as ``NaN`` that a dict cannot carry).
            allowed_ops: unsafe ops accepted knowingly (``--allow-op``).
            predictor: a reference :class:`Predictor` already loaded on the staged SavedModel
                (left open), instead of loading one here.
        """
        golden = self.path / "golden"
        golden.mkdir()
        owned = predictor is None
        if owned:
            predictor = Predictor(self.path, "saved_model", allowed_ops)
        for case, request in sorted(requests.items()):
            text = request if isinstance(request, str) else json.dumps(request)
            (golden / f"{case}.request.json").write_text(text + "\n", encoding="utf-8")
            response = predictor.predict(text)
            (golden / f"{case}.response.json").write_text(response + "\n", encoding="utf-8")
        if owned:
            predictor.close()

    def expect_command(self, case: str, argv: list[str]) -> None:
        """Record the output of a command line in ``golden/commands.json`` when publishing.

        Args:
            case: the case name (unique within the version).
            argv: the command line after the program's name, with :data:`VERSION_DIR` where
                the version folder's path goes (``<VERSION_DIR>/samples/a.png``).
                ``inspect`` and ``inspect --json`` are recorded for every version unasked.
        """
        if case in self._commands:
            raise ValueError(f"command case {case!r} recorded twice")
        self._commands[case] = list(argv)

    def _record_commands(self) -> dict:
        """Run every recorded command line through the reference command line, in-process.

        The version is reached through a symlink named after its version number (the staging
        folder's own name is not a version), whose path is then written as :data:`VERSION_DIR`.
        """
        with tempfile.TemporaryDirectory(prefix="expect-") as tmp:
            link = Path(tmp) / str(self.version)
            link.symlink_to(self.path, target_is_directory=True)
            cases = []
            for case, argv in self._commands.items():
                real = [a.replace(VERSION_DIR, str(link)) for a in argv]
                answer = run_case(self._run_command, real, b"")
                stdout, stderr = (
                    base64.b64decode(answer[k]).decode("utf-8").replace(str(link), VERSION_DIR)
                    for k in ("stdout", "stderr")
                )
                if answer["status"] != 0:
                    raise RuntimeError(f"recording {case} ({' '.join(argv)}) failed: {stderr}")
                cases.append({"id": case, "argv": argv, "status": 0, "stdout": stdout})
        return {
            "description": (
                "Expected outputs of whole command lines on this version, recorded at export "
                "by the Python reference consumer (tests/CONTRACT.md, 'Model layout'): every "
                f"consumer run with argv ({VERSION_DIR} replaced by this folder's path) must "
                f"exit with status and print stdout ({VERSION_DIR} replaced the same way)."
            ),
            "tensorflow_version": tf_runtime.tf_version(),
            "placeholder": VERSION_DIR,
            "commands": cases,
        }

    def publish_manifest(self, manifest: dict, record_commands: bool = False) -> Path:
        """Complete ``manifest`` (version, runtime, time, file hashes), write it, rename; return.

        ``version``, ``tensorflow_version``, ``created`` and ``files`` are set here; every other
        entry is written as given (used as is for versions written from trained variables).
        With ``record_commands``, the expected outputs of :meth:`expect_command`'s command lines
        are written to ``golden/commands.json`` (they need the manifest, and are listed in it).

        Raises:
            FileExistsError: another writer published the same version meanwhile.
        """
        manifest = dict(manifest)
        manifest.update(
            version=self.version,
            tensorflow_version=tf_runtime.tf_version(),
            created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            files=file_hashes(self.path),
        )
        self._write_manifest(manifest)
        if record_commands:
            recorded = self._record_commands()
            (self.path / COMMANDS_FILE).parent.mkdir(exist_ok=True)
            (self.path / COMMANDS_FILE).write_text(
                json.dumps(recorded, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            manifest["files"] = file_hashes(self.path)
            self._write_manifest(manifest)
        _fsync_tree(self.path)
        if self.final_path.exists():
            raise FileExistsError(f"{self.final_path} appeared while exporting; not overwriting it")
        os.rename(self.path, self.final_path)
        _fsync_dir(self.model_root)
        return self.final_path

    def _write_manifest(self, manifest: dict) -> None:
        (self.path / "manifest.json").write_text(
            json.dumps(manifest, indent=2) + "\n", encoding="utf-8"
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        _fsync_dir(path)
