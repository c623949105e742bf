"""Checking a version folder against its ``manifest.json`` before loading it (tests/CONTRACT.md,
"Verifying a model version before loading it").

A SavedModel is a program: the consumers only hand files to TensorFlow whose size and SHA-256
are those the producer recorded, and refuse a folder holding anything the manifest does not list.
"""

from __future__ import annotations

import json
from pathlib import Path

from python_producer.reference.model_dir import join_as_given, sha256_of
from python_producer.reference.status import error
from python_producer.reference.tfjson import format_float

MANIFEST = "manifest.json"


def verify_version(version_dir: str | Path) -> None:
    """Check every file of ``version_dir`` against ``manifest.json``'s ``files``.

    Files are checked in sorted order of their ``/``-separated relative path; the first
    problem is raised.

    Raises:
        StatusError: no or unreadable manifest, a listed file missing, outside the folder, of
            another size or SHA-256, or a regular file that the manifest does not list.
    """
    shown = str(version_dir)
    version_dir = Path(version_dir)
    manifest_path = version_dir / MANIFEST
    shown_manifest = join_as_given(shown, MANIFEST)
    if not manifest_path.is_file():
        raise error("manifest_missing", path=shown)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise error("manifest_not_json", path=shown_manifest, detail=exc) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise error("manifest_without_files", path=shown_manifest)
    on_disk = {
        p.relative_to(version_dir).as_posix()
        for p in version_dir.rglob("*")
        if p.is_file() and not p.is_symlink()
    } - {MANIFEST}
    root = version_dir.resolve()
    for rel in sorted(set(files) | on_disk):
        if rel not in files:
            raise error("file_not_listed", file=rel)
        entry = files[rel]
        path = version_dir / rel
        inside = not Path(rel).is_absolute() and root in path.resolve().parents
        if not inside or rel not in on_disk:
            if inside and path.exists():
                raise error("file_not_regular", file=rel)
            raise error("file_missing", file=rel)
        if not isinstance(entry, dict):
            raise error("file_entry_invalid", file=rel)
        size = path.stat().st_size
        expected = entry.get("bytes")
        if isinstance(expected, bool) or size != expected:  # True == 1 in Python: not a size
            raise error("file_size_differs", file=rel, size=size, expected=_as_json(entry, "bytes"))
        got = sha256_of(path)
        if got != entry.get("sha256"):
            raise error(
                "file_sha256_differs", file=rel, sha256=got, expected=_as_json(entry, "sha256")
            )


def _as_json(entry: dict, key: str) -> str:
    """A manifest member's value as the messages write it: a string as it is, a float as
    tests/CONTRACT.md, "Numbers in text", writes it, anything else as compact JSON (``null``
    when absent, ``true``/``false``, integers in decimal)."""
    value = entry.get(key)
    if isinstance(value, str):
        return value
    return (
        format_float(value)
        if isinstance(value, float)
        else json.dumps(value, separators=(",", ":"))
    )
