"""Writing one model version: SavedModel, frozen GraphDefs, checkpoint, manifest, golden files.

A version is staged in ``models/<name>/.tmp-<version>-<pid>/`` and renamed to
``models/<name>/<version>/`` only once every file is written, so a consumer never sees half a
model (rename within one folder is atomic on POSIX file systems).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from python_producer import tf_runtime
from python_producer.model_dir import (
    SERVE_TAG,
    complete_versions,
    read_saved_model,
    serve_meta_graph,
)
from python_producer.reference import Predictor, signatures_of
from python_producer.run_cases import run_case
from python_producer.tfjson import TensorSpec, excerpt, first_line

#: Runs a command line (``argv`` after the program's name) in-process; returns its exit
#: status and canonical code (``python_producer.cli.run``).
CommandRunner = Callable[[list[str]], tuple[int, str]]

#: What ``golden/commands.json`` writes in place of the version folder's path (tests/CONTRACT.md,
#: "Model layout"): a consumer given the real path must print the recorded text with it there.
VERSION_DIR = "<VERSION_DIR>"
COMMANDS_FILE = "golden/commands.json"


def _tensor_entry(tensor, signature_shape=None) -> dict:
    """Describe a graph tensor of the frozen function as a manifest entry.

    Where the frozen graph lost the rank (an output computed in lowered control flow), the
    signature's own shape for that output (``signature_shape``) is used.
    """
    shape = tensor.shape
    if shape.rank is None and signature_shape is not None:
        shape = signature_shape
    return TensorSpec(
        alias="",
        name=tensor.name,
        dtype=tf_runtime.types_pb2().DataType.Name(tensor.dtype.as_datatype_enum),
        shape=None
        if shape.rank is None
        else tuple(-1 if d is None else d for d in shape.as_list()),
    ).to_json()


def _frozen_function(fn, input_count: int):
    """Freeze ``fn`` with ``convert_variables_to_constants_v2``: ``(function, None)``, or
    ``(None, reason)`` when TensorFlow cannot make a frozen graph that runs on its own.

    A resource that is not a variable (a lookup table, an iterator) stays an input of the frozen
    function, which could then not run: that counts as cannot.
    """
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    try:
        frozen = convert_variables_to_constants_v2(fn)
    except Exception as exc:  # noqa: BLE001 - TensorFlow raises several types here
        return None, f"convert_variables_to_constants_v2 failed: {excerpt(first_line(exc))}"
    extra = list(frozen.inputs[input_count:])
    if extra:
        kinds = ", ".join(f"{t.name} ({t.dtype.name})" for t in extra)
        return None, (
            f"convert_variables_to_constants_v2 left inputs that are not signature inputs: "
            f"{kinds}, a resource such as a lookup table that cannot become a constant"
        )
    return frozen, None


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        self._signatures: dict = {}
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

    def save_model(self, module, signatures: dict, checkpoint_objects: dict) -> None:
        """Write the SavedModel, a frozen GraphDef per signature and a tf.train.Checkpoint.

        Args:
            module: the ``tf.Module`` holding the variables.
            signatures: signature key -> concrete function (``tf.function.get_concrete_function``).
            checkpoint_objects: name -> trackable, saved with ``tf.train.CheckpointManager``.
        """
        tf = tf_runtime.tf()
        tf.saved_model.save(module, str(self.path), signatures=signatures)
        self.freeze(signatures)
        self.save_checkpoint(checkpoint_objects)

    def freeze(self, signatures: dict, unavailable_ok: bool = False) -> dict[str, str]:
        """Write ``frozen/<key>.pb`` and ``.pbtxt`` for each signature's concrete function.

        Uses ``convert_variables_to_constants_v2`` (variables become ``Const`` nodes, functional
        control flow is lowered to TF1 frames); the tensor names go into the manifest.

        Args:
            signatures: signature key -> concrete function.
            unavailable_ok: record a signature that cannot be frozen (the manifest's
                ``frozen_unavailable`` says why) instead of raising.

        Returns:
            ``{key: reason}`` for every signature left without a frozen graph.

        Raises:
            ValueError: a signature cannot be frozen and ``unavailable_ok`` is false.
        """
        tf = tf_runtime.tf()
        frozen_dir = self.path / "frozen"
        frozen_dir.mkdir()
        unavailable = {}
        for key, fn in signatures.items():
            input_specs = {
                spec.name: spec for spec in tf.nest.flatten(fn.structured_input_signature)
            }
            frozen, reason = _frozen_function(fn, len(input_specs))
            if frozen is None:
                if not unavailable_ok:
                    raise ValueError(f'signature "{key}" cannot be frozen: {reason}')
                unavailable[key] = reason
                self._signatures[key] = {"frozen_unavailable": reason}
                continue
            graph_def = frozen.graph.as_graph_def()
            (frozen_dir / f"{key}.pb").write_bytes(graph_def.SerializeToString(deterministic=True))
            tf.io.write_graph(graph_def, str(frozen_dir), f"{key}.pbtxt", as_text=True)
            # The frozen function keeps the concrete function's inputs in order: the flattened
            # structured inputs first (a TF1 signature's are named by alias, not by tensor).
            frozen_inputs = dict(zip(input_specs, frozen.inputs, strict=False))
            self._signatures[key] = {
                "frozen": {
                    "graph": f"frozen/{key}.pb",
                    "graph_text": f"frozen/{key}.pbtxt",
                    "inputs": {alias: _tensor_entry(frozen_inputs[alias]) for alias in input_specs},
                    # convert_variables_to_constants_v2 keeps the outputs in tf.nest order,
                    # which for a dict is sorted by key.
                    "outputs": {
                        alias: _tensor_entry(tensor, fn.structured_outputs[alias].shape)
                        for alias, tensor in zip(
                            sorted(fn.structured_outputs), frozen.outputs, strict=True
                        )
                    },
                },
            }
        return unavailable

    def save_checkpoint(self, checkpoint_objects: dict) -> None:
        """Save ``checkpoint_objects`` (name -> trackable) under ``checkpoint/``."""
        tf = tf_runtime.tf()
        manager = tf.train.CheckpointManager(
            tf.train.Checkpoint(**checkpoint_objects), str(self.path / "checkpoint"), max_to_keep=1
        )
        manager.save()

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

    def signature_entries(self) -> dict:
        """Describe every servable signature of the staged SavedModel (and its frozen graph)."""
        meta_graph = serve_meta_graph(read_saved_model(self.path))
        signatures = {}
        for key, sig in signatures_of(self.path, meta_graph, None).items():
            if key.startswith("__"):
                continue
            entry = {
                "method_name": sig.method_name,
                "saved_model": {
                    "inputs": {a: s.to_json() for a, s in sorted(sig.inputs.items())},
                    "outputs": {a: s.to_json() for a, s in sorted(sig.outputs.items())},
                },
            }
            entry.update(self._signatures.get(key, {}))
            signatures[key] = entry
        return signatures

    def publish(self, extra: dict | None = None) -> Path:
        """Write ``manifest.json`` and rename the staging folder to its version; return it.

        Args:
            extra: further top-level manifest entries (such as ``training``).

        Raises:
            FileExistsError: another writer published the same version meanwhile.
        """
        manifest = {"manifest_version": 1, "model_name": self.name, "tags": [SERVE_TAG]}
        manifest["signatures"] = self.signature_entries()
        manifest.update(extra or {})
        return self.publish_manifest(manifest, record_commands=self._run_command is not None)

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
