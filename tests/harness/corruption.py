"""Damaged copies of a model version.

``make_variants`` writes one full copy of a version folder per damage: truncations and seeded
bit flips of ``saved_model.pb``, the variables index and data, the frozen GraphDef and
``manifest.json``.  Every consumer loads each copy as one case of its run-cases process
(tests/harness/consumers.py); a copy that kills the process shows up as that case's negative
exit status.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

TARGETS = (
    "saved_model.pb",
    "variables/variables.index",
    "variables/variables.data-00000-of-00001",
    "frozen/serving_default.pb",
    "manifest.json",
)
TRUNCATIONS = (0.0, 0.1, 0.5, 0.9)  # keep this fraction of the file; plus "all but 1 byte"
FLIPS_PER_FILE = 16


@dataclass(frozen=True)
class Variant:
    """One damaged copy.

    Attributes:
        name: ``<file>-truncate-<n>`` or ``<file>-flip-<offset>-<bit>``.
        path: the damaged version folder.
        target: the damaged file, relative to the version folder.
        model_format: the format whose loading reads ``target`` (frozen for the frozen graph).
    """

    name: str
    path: Path
    target: str
    model_format: str


def make_variants(source: Path, out: Path, seed: int = 5) -> list[Variant]:
    """Write every variant of ``source`` under ``out/<name>/<version>`` and return them."""
    rng = random.Random(seed)
    variants = []
    for target in TARGETS:
        data = (source / target).read_bytes()
        damages: list[tuple[str, bytes]] = []
        for keep in TRUNCATIONS:
            n = int(len(data) * keep)
            damages.append((f"truncate-{n}", data[:n]))
        damages.append((f"truncate-{len(data) - 1}", data[:-1]))
        for _ in range(FLIPS_PER_FILE):
            offset, bit = rng.randrange(len(data)), rng.randrange(8)
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            damages.append((f"flip-{offset}-{bit}", bytes(flipped)))
        for label, damaged in damages:
            name = f"{target.replace('/', '_')}-{label}"
            path = out / name / source.name
            shutil.copytree(source, path)
            (path / target).write_bytes(damaged)
            model_format = "frozen" if target.startswith("frozen/") else "saved_model"
            variants.append(Variant(name, path, target, model_format))
    return variants
