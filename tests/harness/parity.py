"""Run every golden request of every model version through every consumer and format; print a
table.  This is ``make check MODELS=DIR``, the check a team puts in its own CI.

    python -m tests.harness.parity [--models DIR] [--tolerances FILE] [--latest]

Every complete version (with a ``golden/`` folder) of every model under DIR is run (with
``--latest``, as ``make parity`` runs the zoo, only each model's highest).  Each
(consumer, format) pair gets one long-lived ``serve-stdio`` process per version; each response
is compared bit for bit with the golden (Python reference) response, and the table has one row
per (model/version, signature, language, format).  Exit status 0 only when every cell is
bit-identical or within the tolerance granted to that very cell; 1 otherwise; 2 when DIR holds
no model.  A signature without a frozen graph (the manifest's ``frozen_unavailable``) is a
"not available" row with the reason: never a pass, never a failure.  Failures are reported per
cell with the first differing element and the command that reproduces them, as Arrow's
integration runner does.

The tolerances file (``DIR/tolerances.json`` unless ``--tolerances`` names another; the zoo's
is ``tests/tolerances.json``) works like protobuf's conformance failure lists: each entry names a
model and signature, the cells (``language/format``) it covers, the largest ULP distance it
allows and why.  Strings and integers are never tolerated, only float ULPs; and an entry that a
cell no longer needs (the cell is bit-identical) fails the run until it is removed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from python_producer.reference.model_dir import complete_versions
from tests.harness.compare import compare_bodies, golden_cases, output_specs, request_signature
from tests.harness.consumers import ALL_CONSUMERS, CONSUMERS, FORMATS, MODELS, ConsumerCrashed

TOLERANCES = Path(__file__).resolve().parents[1] / "tolerances.json"


@dataclass(frozen=True)
class Tolerance:
    """A granted float distance for some cells of one model's signature."""

    max_ulp: float
    cells: frozenset[str]
    why: str


def load_tolerances(path: Path | None = TOLERANCES) -> dict[str, Tolerance]:
    """Return ``"model/signature" -> Tolerance`` from a tolerances file (None: no file, none).

    Raises:
        ValueError: not a JSON object, an entry without ``max_ulp``, ``cells`` or ``why``, or a
            bad cell name.
    """
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it as JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object of model/signature entries")
    found = {}
    for key, entry in raw.items():
        if key.startswith("_"):
            continue
        missing = {"max_ulp", "cells", "why"} - set(entry if isinstance(entry, dict) else {})
        if missing or key.count("/") != 1:
            raise ValueError(f"{path}: entry {key!r} needs model/signature and {sorted(missing)}")
        for cell in entry["cells"]:
            language, _, model_format = cell.partition("/")
            if language not in {c.name for c in ALL_CONSUMERS} or model_format not in FORMATS:
                raise ValueError(f"{path}: {key}: {cell!r} is not language/format")
        found[key] = Tolerance(float(entry["max_ulp"]), frozenset(entry["cells"]), entry["why"])
    return found


@dataclass
class Cell:
    """One (model, signature, consumer, format) cell of the parity table."""

    model: str
    signature: str
    consumer: str
    model_format: str
    tolerance: Tolerance | None = None
    unavailable: str | None = None
    cases: int = 0
    identical: int = 0
    max_ulp: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def within(self) -> int:
        """Cases that are not bit-identical but within the granted tolerance."""
        return self.cases - self.identical - len(self.failures)

    @property
    def stale(self) -> bool:
        """A tolerance is granted but every case was bit-identical."""
        return self.tolerance is not None and self.cases > 0 and self.identical == self.cases

    @property
    def ok(self) -> bool:
        """True when every case was answered identically (or within tolerance), none stale;
        or the cell is not available (a signature without a frozen graph)."""
        if self.unavailable is not None:
            return not self.failures
        return self.cases > 0 and not self.failures and not self.stale

    def status(self) -> str:
        """The table's status column."""
        if self.unavailable is not None:
            return f"not available: {self.unavailable}"
        counts = f"{self.identical}/{self.cases} bit-identical"
        if self.stale:
            return f"STALE tolerance ({counts}): remove it from the tolerances file"
        if not self.ok:
            return f"FAIL ({counts})"
        if self.within:
            return f"ok within {self.tolerance.max_ulp:g} ULP tolerance ({counts})"
        return f"ok ({counts})"


def all_versions(models_dir: Path) -> list[Path]:
    """Return every complete version folder with golden files of every model under
    ``models_dir``, by model name then version number."""
    found = []
    for model_root in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        for version in complete_versions(model_root):
            if (model_root / str(version) / "golden").is_dir():
                found.append(model_root / str(version))
    return found


def unavailable_signatures(version_dir: Path, model_format: str) -> dict[str, str]:
    """``{signature key: reason}`` for signatures the manifest records as having no graph in
    ``model_format`` (``frozen_unavailable``)."""
    if model_format != "frozen":
        return {}
    manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    return {
        k: v["frozen_unavailable"]
        for k, v in manifest["signatures"].items()
        if "frozen" not in v and "frozen_unavailable" in v
    }


def latest_versions(models_dir: Path) -> list[Path]:
    """Return the highest complete version folder of every model under ``models_dir``."""
    found = []
    for model_root in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        versions = complete_versions(model_root)
        if versions and (model_root / str(versions[-1]) / "golden").is_dir():
            found.append(model_root / str(versions[-1]))
    return found


def signatures_in(version_dir: Path, model_format: str) -> list[str]:
    """Signature keys of the manifest that exist in ``model_format`` (frozen may be absent).

    A train step (the manifest's ``training.train_signature``) is left out: it updates the
    variables, so it has no frozen graph and no golden case (its answer depends on what ran
    before it in the session); tests/test_train.py checks it by running the loop in every
    language.
    """
    manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    train_step = manifest.get("training", {}).get("train_signature")
    return sorted(
        k for k, v in manifest["signatures"].items() if model_format in v and k != train_step
    )


def run_model(
    consumer, version_dir: Path, model_format: str, tolerances: dict[str, Tolerance] | None = None
) -> list[Cell]:
    """Answer every golden request of ``version_dir`` with one consumer in one format.

    Returns one :class:`Cell` per signature of the model in that format (a signature without a
    golden case is a cell with 0 cases, which is not ok).
    """
    tolerances = load_tolerances() if tolerances is None else tolerances
    model = f"{version_dir.parent.name}/{version_dir.name}"
    cells = {
        key: Cell(
            model,
            key,
            consumer.name,
            model_format,
            tolerance=_granted(
                tolerances, version_dir.parent.name, key, consumer.name, model_format
            ),
        )  # fmt: skip
        for key in signatures_in(version_dir, model_format)
    }
    unavailable = [
        Cell(model, key, consumer.name, model_format, unavailable=reason)
        for key, reason in sorted(unavailable_signatures(version_dir, model_format).items())
    ]
    if not cells:
        return unavailable
    missing = consumer.missing()
    if missing:
        for cell in cells.values():
            cell.failures.append(missing)
            cell.max_ulp = math.inf
        return list(cells.values()) + unavailable
    specs = {key: output_specs(version_dir, key, model_format) for key in cells}
    cases = [(c, r, e) for c, r, e in golden_cases(version_dir) if request_signature(r) in cells]
    try:
        answers = consumer.serve_stdio(version_dir, [r for _, r, _ in cases], model_format)
    except ConsumerCrashed as exc:
        for cell in cells.values():
            cell.cases += sum(1 for _, r, _ in cases if cells[request_signature(r)] is cell)
            cell.failures.append(str(exc))
            cell.max_ulp = math.inf
        return list(cells.values()) + unavailable
    for (case, request, expected), got in zip(cases, answers, strict=True):
        cell = cells[request_signature(request)]
        cell.cases += 1
        result = compare_bodies(got, expected, specs[cell.signature])
        cell.max_ulp = max(cell.max_ulp, result.max_ulp)
        if result.identical:
            cell.identical += 1
        elif cell.tolerance is None or not result.max_ulp <= cell.tolerance.max_ulp:
            cell.failures.append(
                f"{case}: {result.detail}\n      reproduce: "
                f"{' '.join(consumer.argv)} predict --model {version_dir} "
                f"--format {model_format} --input {version_dir}/golden/{case}.request.json"
            )
    return list(cells.values()) + unavailable


def _granted(tolerances, model: str, key: str, language: str, model_format: str):
    entry = tolerances.get(f"{model}/{key}")
    return entry if entry is not None and f"{language}/{model_format}" in entry.cells else None


def unused_tolerances(tolerances: dict[str, Tolerance], models_dir: Path) -> list[str]:
    """Entries naming a model or signature that the exported models do not have."""
    present = {
        f"{v.parent.name}/{key}" for v in all_versions(models_dir)
        for key in signatures_in(v, "saved_model")
    }  # fmt: skip
    return sorted(set(tolerances) - present)


def run_all(
    models_dir: Path, tolerances: dict[str, Tolerance], latest_only: bool = False
) -> list[Cell]:
    """Run the whole matrix: model versions (or each model's latest) x signatures x consumers
    x formats."""
    versions = latest_versions(models_dir) if latest_only else all_versions(models_dir)
    return [
        cell
        for version_dir in versions
        for consumer in CONSUMERS
        for model_format in FORMATS
        for cell in run_model(consumer, version_dir, model_format, tolerances)
    ]


def format_table(cells: list[Cell], tf_version: str, unused: list[str] = ()) -> str:
    """Render the parity table (one row per cell) and a summary line."""
    lines = [
        f"Parity against the Python reference's golden responses (TensorFlow {tf_version})",
        "",
        f"{'model':<14} {'signature':<18} {'language':<8} {'format':<12} {'max ULP':>7}  status",
        f"{'-' * 14} {'-' * 18} {'-' * 8} {'-' * 12} {'-' * 7}  {'-' * 30}",
    ]
    order = {c.name: i for i, c in enumerate(CONSUMERS)}
    cells = sorted(
        cells,
        key=lambda c: (
            c.model.split("/")[0],
            int(c.model.split("/")[1]),
            c.signature,
            order.get(c.consumer, 99),
            FORMATS.index(c.model_format),
        ),
    )
    for c in cells:
        ulp = "inf" if math.isinf(c.max_ulp) else f"{c.max_ulp:g}"
        ulp = "-" if c.unavailable is not None else ulp
        lines.append(
            f"{c.model:<14} {c.signature:<18} {c.consumer:<8} {c.model_format:<12} {ulp:>7}  "
            f"{c.status()}"
        )
    failures = [c for c in cells if not c.ok]
    for c in failures:
        lines.append(f"\n{c.consumer} consuming {c.model} {c.signature} ({c.model_format}):")
        lines.extend(f"  - {f}" for f in c.failures)
        if c.cases == 0:
            lines.append("  - no golden case for this signature")
    tolerated = sorted({(c.model.split("/")[0], c.signature, c.tolerance.why)
                        for c in cells if c.tolerance and c.within})  # fmt: skip
    for model, key, why in tolerated:
        lines.append(f"\ntolerance for {model}/{key}: {why}")
    for key in unused:
        lines.append(f"\nSTALE tolerance {key}: no such model/signature; remove it")
    na = sum(1 for c in cells if c.unavailable is not None)
    lines.append(
        f"\n{len(cells)} cells, {len(failures) + len(unused)} failures, {na} not available"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the parity table; return 0 when every cell passes, else 1."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.parity")
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument(
        "--tolerances", type=Path, default=None, help="default: tolerances.json in --models"
    )
    parser.add_argument(
        "--latest", action="store_true", help="only each model's highest version (make parity)"
    )
    args = parser.parse_args(argv)
    if not args.models.is_dir() or not all_versions(args.models):
        print(
            f"parity: error: no model versions with golden files under {args.models}; "
            "expected DIR/<name>/<version>/ as `make models` or "
            "`python -m python_producer import` writes them",
            file=sys.stderr,
        )
        return 2
    path = args.tolerances
    if path is None and (args.models / "tolerances.json").is_file():
        path = args.models / "tolerances.json"
    try:
        tolerances = load_tolerances(path)
    except ValueError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return 2
    from python_producer import tf_runtime

    cells = run_all(args.models, tolerances, args.latest)
    unused = unused_tolerances(tolerances, args.models)
    print(format_table(cells, tf_runtime.PINNED_TF_VERSION, unused))
    return 0 if all(c.ok for c in cells) and not unused else 1


if __name__ == "__main__":
    raise SystemExit(main())
