"""Finding and describing model versions in the TensorFlow Serving layout (tests/CONTRACT.md).

``models/<name>/<version>/`` where ``<version>`` is a positive decimal integer and the folder
holds a SavedModel (``saved_model.pb``).  Folders with other names (such as the producer's
``.tmp-*`` staging folders) are never considered.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from python_producer import tf_runtime
from python_producer.reference.status import Code, StatusError, error
from python_producer.reference.tfjson import TensorSpec

VERSION_NAME = re.compile(r"[0-9]+\Z")
SERVE_TAG = "serve"


def version_folders(model_root: Path) -> dict[int, Path]:
    """Return the complete versions in ``model_root`` and the folder of each.

    A complete version is a folder named by a decimal integer > 0 holding ``saved_model.pb``;
    ``007`` is version 7. When several folders name the same version, the name that sorts last
    (the fewest leading zeros) is that version (tests/CONTRACT.md, "Model layout").
    """
    if not model_root.is_dir():
        return {}
    folders: dict[int, Path] = {}
    for p in sorted(model_root.iterdir(), key=lambda p: p.name):
        if VERSION_NAME.match(p.name) and int(p.name) > 0 and (p / "saved_model.pb").is_file():
            folders[int(p.name)] = p
    return folders


def complete_versions(model_root: Path) -> list[int]:
    """Return the sorted complete versions in ``model_root`` (see :func:`version_folders`)."""
    return sorted(version_folders(model_root))


def join_as_given(folder: str, name: str) -> str:
    """The text of ``name`` inside ``folder`` as tests/CONTRACT.md, "Paths in messages", writes
    it: ``folder`` as given, a ``/`` unless it already ends with one, and ``name`` (no
    normalization: ``.``, ``..`` and repeated ``/`` stay)."""
    return folder + name if folder.endswith("/") else f"{folder}/{name}"


def parent_as_given(path: str) -> str:
    """The folder holding ``path``, written as given: its text up to the last ``/`` before its
    last name (a trailing ``/`` is not a name): ``models/linear/3/`` gives ``models/linear``."""
    head, _, _ = path.rstrip("/").rpartition("/")
    return head or "/"


def absolute_as_given(path: str) -> str:
    """``path`` if it starts with ``/``, else the working directory, ``/`` and ``path`` as given
    (tests/CONTRACT.md, "Paths in messages"): made absolute by concatenation, never cleaned."""
    return path if path.startswith("/") else join_as_given(os.getcwd(), path)


def resolve_version_dir(path: str | Path, version: int | None = None) -> str:
    """Resolve ``--model PATH [--version N]`` to an absolute version folder.

    Args:
        path: a model folder ``models/<name>`` or a version folder holding ``saved_model.pb``.
        version: a specific version, or ``None`` for the highest complete one.

    Returns:
        The version folder's text, made absolute and joined as tests/CONTRACT.md, "Paths in
        messages", says (:func:`absolute_as_given`, :func:`join_as_given`); ``Path(text)`` opens
        it.

    Raises:
        StatusError: the path does not exist, holds no SavedModel, or lacks the version.
    """
    given = absolute_as_given(str(path))
    root = Path(given)
    if not root.exists():
        raise error("model_path_missing", path=given)
    if not root.is_dir():
        raise error("model_path_not_a_folder", path=given)
    if (root / "saved_model.pb").is_file():
        named = int(root.name) if VERSION_NAME.match(root.name) else None
        if version is not None and version != named:
            raise error("version_mismatch", version=version, path=given)
        return given
    folders = version_folders(root)
    versions = sorted(folders)
    if not versions:
        raise error("not_a_model", path=given)
    if version is None:
        return join_as_given(given, folders[versions[-1]].name)
    if version not in versions:
        available = ", ".join(str(v) for v in versions)
        raise error("version_not_found", version=version, path=given, available=available)
    return join_as_given(given, folders[version].name)


def read_manifest(version_dir: str | Path) -> dict | None:
    """Return the parsed ``manifest.json`` of a version folder, or ``None`` if it has none.

    Raises:
        StatusError: the manifest exists but is not valid JSON.
    """
    path = Path(version_dir) / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        shown = join_as_given(str(version_dir), "manifest.json")
        raise error("manifest_not_json", path=shown, detail=exc) from None


def specs_from_manifest(entries: dict) -> dict[str, TensorSpec]:
    """Turn a manifest ``inputs``/``outputs`` map into :class:`TensorSpec` by alias."""
    return {
        alias: TensorSpec(
            alias,
            e["name"],
            e["dtype"],
            None if e["shape"] is None else tuple(e["shape"]),
        )
        for alias, e in entries.items()
    }


@dataclass
class SignatureInfo:
    """One SignatureDef as the consumers see it.

    Attributes:
        key: the signature key, e.g. ``serving_default``.
        method_name: e.g. ``tensorflow/serving/predict``.
        inputs, outputs: :class:`TensorSpec` by alias.
        frozen_graph: the manifest's relative path of the frozen GraphDef, or ``None``.
    """

    key: str
    method_name: str
    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    frozen_graph: str | None


def signature_not_found(key: str, available: list[str]) -> StatusError:
    """Return the error for an unknown signature key, listing the available ones."""
    return error("signature_not_found", signature=key, available=", ".join(sorted(available)))


def no_frozen_graph(key: str, reason: str | None) -> StatusError:
    """Return the error for ``--format frozen`` on a signature without a frozen graph
    (tests/CONTRACT.md, "manifest.json"): the manifest's ``frozen_unavailable`` reason, if any."""
    if reason:
        return error("no_frozen_graph_because", signature=key, reason=reason)
    return error("no_frozen_graph", signature=key)


def read_saved_model(version_dir: str | Path):
    """Parse ``saved_model.pb`` into a ``tensorflow.core.protobuf.saved_model_pb2.SavedModel``.

    Raises:
        StatusError: the file cannot be read or parsed.
    """
    saved_model_pb2 = tf_runtime.saved_model_pb2()
    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((Path(version_dir) / "saved_model.pb").read_bytes())
    except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and others
        shown = join_as_given(str(version_dir), "saved_model.pb")
        raise StatusError(f"{shown} is not a SavedModel: {exc}", Code.FAILED_PRECONDITION) from None
    return proto


def serve_meta_graph(saved_model):
    """Return the MetaGraphDef tagged exactly ``{"serve"}``.

    Raises:
        StatusError: no MetaGraphDef has that tag-set.
    """
    for meta_graph in saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == {SERVE_TAG}:
            return meta_graph
    raise StatusError(
        "SavedModel has no MetaGraphDef with tag-set 'serve'",
        Code.FAILED_PRECONDITION,
    )


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
