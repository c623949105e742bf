"""Checking a version folder against its ``manifest.json`` before loading it (tests/CONTRACT.md,
"Verifying a model version before loading it").

A SavedModel is a program: the consumers only hand files to TensorFlow whose size and SHA-256
are those the producer recorded, and refuse a folder holding anything the manifest does not list.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from python_producer.model_dir import ModelError, join_as_given

MANIFEST = "manifest.json"
SKIP_FLAG = "--skip-verification"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_version(version_dir: str | Path) -> None:
    """Check every file of ``version_dir`` against ``manifest.json``'s ``files``.

    Files are checked in sorted order of their ``/``-separated relative path; the first
    problem is raised.

    Raises:
        ModelError: no or unreadable manifest, a listed file missing, outside the folder, of
            another size or SHA-256, or a regular file that the manifest does not list.
    """
    shown = str(version_dir)
    version_dir = Path(version_dir)
    manifest_path = version_dir / MANIFEST
    shown_manifest = join_as_given(shown, MANIFEST)
    if not manifest_path.is_file():
        raise ModelError(
            f"{shown} has no {MANIFEST} to verify; pass {SKIP_FLAG} to load an unverified model"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{shown_manifest} is not valid JSON: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise ModelError(f'{shown_manifest} has no "files" object to verify against')
    on_disk = {
        p.relative_to(version_dir).as_posix()
        for p in version_dir.rglob("*")
        if p.is_file() and not p.is_symlink()
    } - {MANIFEST}
    root = version_dir.resolve()
    for rel in sorted(set(files) | on_disk):
        if rel not in files:
            raise ModelError(f"{rel}: not listed in {MANIFEST}")
        entry = files[rel]
        path = version_dir / rel
        inside = not Path(rel).is_absolute() and root in path.resolve().parents
        if not inside or rel not in on_disk:
            if inside and path.exists():
                raise ModelError(f"{rel}: listed in {MANIFEST} but not a regular file")
            raise ModelError(f"{rel}: listed in {MANIFEST} but missing")
        if not isinstance(entry, dict):
            raise ModelError(f'{rel}: {MANIFEST} entry is not an object with "sha256" and "bytes"')
        size = path.stat().st_size
        if size != entry.get("bytes"):
            raise ModelError(f"{rel}: {size} bytes, {MANIFEST} says {entry.get('bytes')}")
        got = _sha256(path)
        if got != entry.get("sha256"):
            raise ModelError(
                f"{rel}: SHA-256 {got} does not match {MANIFEST} ({entry.get('sha256')})"
            )
