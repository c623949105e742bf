"""``make bench`` (memory part): does any consumer leak? (tests/CONTRACT.md, "Memory soak").

Each consumer's ``soak`` command answers one batch-1 request 100 000 times on one loaded
``linear`` version, then opens, answers and closes the version 200 times, and reports its
resident set size (``VmRSS``, KiB, after a garbage collection) before and after each part.
The consumers run one after another, in the same run, on the same request.

Targets (issue 5): growth under 5 MiB over the predictions and under 20 MiB over the load
cycles. Writes ``bench/memory.json`` (every run) and ``bench/memory.md`` (the table).

The Java launcher runs ``soak`` with a fixed heap and the C1 compiler only
(``JAVA_SOAK_OPTIONS``, its default), so that the JVM growing its heap or its JIT's memory is
not counted as a leak; that choice is written in the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from tests.harness.consumers import CONSUMERS, MODELS, ROOT
from tests.harness.parity import latest_versions

#: One batch-1 row-format request for ``linear``'s serving_default.
REQUEST = b'{"instances": [[1.5]]}'
#: The JVM options java_consumer/bin/java_consumer gives ``soak`` (for the table).
JAVA_SOAK_OPTIONS = "-Xms64m -Xmx64m -XX:+AlwaysPreTouch -XX:TieredStopAtLevel=1"
PREDICTION_TARGET_MIB = 5.0
LOAD_CYCLE_TARGET_MIB = 20.0


def growth_mib(pair: list[int]) -> float:
    """Growth in MiB between two KiB readings ``[before, after]``."""
    return (pair[1] - pair[0]) / 1024


def run_soak(consumer, version_dir: Path, predictions: int, load_cycles: int) -> dict:
    """Run one consumer's ``soak``; return its JSON, or ``{"runtime", "error"}``."""
    argv = [
        *consumer.argv,
        "soak",
        "--model",
        str(version_dir),
        "--predictions",
        str(predictions),
        "--load-cycles",
        str(load_cycles),
    ]
    done = subprocess.run(
        argv,
        input=REQUEST,
        capture_output=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace").strip()
        return {"runtime": consumer.name, "error": stderr[-500:] or f"exit {done.returncode}"}
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def render_markdown(results: list[dict], tf_version: str) -> str:
    """The table of ``bench/memory.md``: growth per consumer against the targets."""
    lines = [
        f"# Memory soak (TensorFlow {tf_version})",
        "",
        f"Java runs with `{JAVA_SOAK_OPTIONS}` (the launcher's default for soak).",
        "",
        "| consumer | predictions | RSS before → after (MiB) | growth (MiB) | seconds "
        "| load cycles | RSS before → after (MiB) | growth (MiB) | seconds | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['runtime']} | error: {r['error']} |||||||||")
            continue
        p, c = r["predictions_rss_kib"], r["load_cycles_rss_kib"]
        met = growth_mib(p) < PREDICTION_TARGET_MIB and growth_mib(c) < LOAD_CYCLE_TARGET_MIB
        lines.append(
            f"| {r['runtime']} | {r['predictions']} | {p[0] / 1024:.1f} → {p[1] / 1024:.1f} "
            f"| {growth_mib(p):+.2f} | {r['predictions_seconds']:.1f} | {r['load_cycles']} "
            f"| {c[0] / 1024:.1f} → {c[1] / 1024:.1f} | {growth_mib(c):+.2f} "
            f"| {r['load_cycles_seconds']:.1f} | {'met' if met else 'MISSED'} |"
        )
    lines += [
        "",
        f"Targets: growth < {PREDICTION_TARGET_MIB:g} MiB over the predictions, "
        f"< {LOAD_CYCLE_TARGET_MIB:g} MiB over the load cycles.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every consumer's soak; write the two files; 1 if one failed to run (targets are
    reported in the table, as ``tests.harness.bench`` reports its own)."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.memory")
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--predictions", type=int, default=100_000)
    parser.add_argument("--load-cycles", type=int, default=200)
    args = parser.parse_args(argv)
    from python_producer import tf_runtime

    version_dir = next(v for v in latest_versions(args.models) if v.parent.name == "linear")
    started = time.perf_counter()
    results = []
    for consumer in CONSUMERS:
        print(f"soak {consumer.name}: {args.predictions} predictions, "
              f"{args.load_cycles} load cycles on {version_dir}", flush=True)  # fmt: skip
        results.append(run_soak(consumer, version_dir, args.predictions, args.load_cycles))
    tf_version = tf_runtime.tf_version()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "memory.json").write_text(
        json.dumps(
            {
                "tensorflow_version": tf_version,
                "request": REQUEST.decode(),
                "java_soak_options": JAVA_SOAK_OPTIONS,
                "targets_mib": {
                    "predictions": PREDICTION_TARGET_MIB,
                    "load_cycles": LOAD_CYCLE_TARGET_MIB,
                },
                "runs": results,
                "elapsed_seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
        + "\n"
    )
    markdown = render_markdown(results, tf_version)
    (args.out / "memory.md").write_text(markdown)
    print(markdown)
    print(f"wrote {args.out}/memory.json, memory.md")
    failed = [r for r in results if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
