"""Run every golden request of every model through every consumer and format; print a table.

    python -m tests.harness.parity [--models DIR]

Each (consumer, format) pair gets one long-lived ``serve-stdio`` process per model; each
response is compared bit for bit with the golden (Python reference) response.  Exit status 0
only when every cell is bit-identical.  Failures are reported per pair with the command that
reproduces them, as Arrow's integration runner does.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from python_producer.model_dir import complete_versions
from tests.harness.compare import compare_bodies, golden_cases, output_specs, request_signature
from tests.harness.consumers import CONSUMERS, FORMATS, MODELS, ConsumerCrashed


@dataclass
class Cell:
    """One (model, consumer, format) cell of the parity table."""

    model: str
    consumer: str
    model_format: str
    cases: int = 0
    identical: int = 0
    max_ulp: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every case was answered bit-identically."""
        return self.cases > 0 and self.identical == self.cases


def latest_versions(models_dir: Path) -> list[Path]:
    """Return the highest complete version folder of every model under ``models_dir``."""
    found = []
    for model_root in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        versions = complete_versions(model_root)
        if versions and (model_root / str(versions[-1]) / "golden").is_dir():
            found.append(model_root / str(versions[-1]))
    return found


def run_cell(consumer, version_dir: Path, model_format: str) -> Cell:
    """Answer every golden request of ``version_dir`` with one consumer in one format."""
    cell = Cell(f"{version_dir.parent.name}/{version_dir.name}", consumer.name, model_format)
    missing = consumer.missing()
    if missing:
        cell.failures.append(missing)
        cell.max_ulp = math.inf
        return cell
    session = consumer.session(version_dir, model_format)
    try:
        for case, request, expected in golden_cases(version_dir):
            cell.cases += 1
            specs = output_specs(version_dir, request_signature(request), model_format)
            try:
                got = session.predict(request)
            except ConsumerCrashed as exc:
                cell.failures.append(f"{case}: {exc}")
                cell.max_ulp = math.inf
                break
            result = compare_bodies(got, expected, specs)
            cell.max_ulp = max(cell.max_ulp, result.max_ulp)
            if result.identical:
                cell.identical += 1
            else:
                cell.failures.append(
                    f"{case}: {result.detail}\n      reproduce: "
                    f"{' '.join(consumer.argv)} predict --model {version_dir} "
                    f"--format {model_format} --input {version_dir}/golden/{case}.request.json"
                )
    finally:
        session.close()
    return cell


def run_all(models_dir: Path) -> list[Cell]:
    """Run the whole matrix: models x consumers x formats."""
    return [
        run_cell(consumer, version_dir, model_format)
        for version_dir in latest_versions(models_dir)
        for consumer in CONSUMERS
        for model_format in FORMATS
    ]


def format_table(cells: list[Cell], tf_version: str) -> str:
    """Render the parity table (one row per cell) and a summary line."""
    lines = [
        f"Parity against the Python reference's golden responses (TensorFlow {tf_version})",
        "",
        f"{'model':<14} {'language':<8} {'format':<12} {'max ULP':>8}  status",
        f"{'-' * 14} {'-' * 8} {'-' * 12} {'-' * 8}  {'-' * 30}",
    ]
    for c in cells:
        ulp = "inf" if math.isinf(c.max_ulp) else f"{c.max_ulp:g}"
        status = (
            f"ok ({c.identical}/{c.cases} bit-identical)"
            if c.ok
            else f"FAIL ({c.identical}/{c.cases} bit-identical)"
        )
        lines.append(f"{c.model:<14} {c.consumer:<8} {c.model_format:<12} {ulp:>8}  {status}")
    failures = [c for c in cells if not c.ok]
    for c in failures:
        lines.append(f"\n{c.consumer} consuming {c.model} ({c.model_format}):")
        lines.extend(f"  - {f}" for f in c.failures)
    lines.append(f"\n{len(cells)} cells, {len(failures)} failures")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the parity table; return 0 when every cell is bit-identical, else 1."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.parity")
    parser.add_argument("--models", type=Path, default=MODELS)
    args = parser.parse_args(argv)
    if not args.models.is_dir() or not latest_versions(args.models):
        print(
            f"parity: error: no exported models under {args.models}; run `make models`",
            file=sys.stderr,
        )
        return 2
    from python_producer import tf_runtime

    cells = run_all(args.models)
    print(format_table(cells, tf_runtime.PINNED_TF_VERSION))
    return 0 if all(c.ok for c in cells) else 1


if __name__ == "__main__":
    raise SystemExit(main())
