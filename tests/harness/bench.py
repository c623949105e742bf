"""``make bench``: every runtime on the same model and inputs, side by side (tests/CONTRACT.md).

Runtimes: ``c_floor`` (``bench/floor/bin/floor``, a C loop over ``TF_SessionRun`` with the
contract's ConfigProto, Grappler's constant folding off), ``c_floor_folding_on`` (the same loop
with ``--constant-folding on``, TensorFlow's default), ``go`` (the Go consumer's ``Runner.Run``, the
C-API call every Go command and the server make), ``java``,
``python_signature`` and ``python_session`` — each runs its own ``bench`` loop in-process and
prints one JSON object.  Runs are made in rounds, the runtimes in a rotated order each round,
and the median over rounds of each runtime's median is reported, because this machine is noisy.
Cold start (process start to first prediction, i.e. to the exit of one ``predict``) is timed
for the three consumers.  ``c_floor`` / ``c_floor_folding_on`` (median µs per call, per model
and batch size) is reported as the cost of the contract's numeric configuration; it is a
figure, not a target.

Writes ``bench/results.json`` (every run), ``bench/results.md`` (tables, that cost and targets)
and ``bench/latency.png`` (latency and throughput against batch size, one line per runtime).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.consumers import CONSUMERS, MODELS, ROOT, by_name
from tests.harness.parity import latest_versions

FLOOR = ROOT / "bench" / "floor" / "bin" / "floor"
#: c_floor: the C floor with the contract's ConfigProto (constant folding off);
#: c_floor_folding_on: the same with TensorFlow's default (on), to measure what that costs;
#: go: the Go consumer's Runner.Run, the call predict, serve and every other command make.
RUNTIMES = (
    "c_floor", "c_floor_folding_on", "go", "java", "python_signature", "python_session",
)  # fmt: skip
FULL_BATCHES = (1, 8, 64, 512, 4096)
QUICK_BATCHES = (1, 64)
NUMERIC = {
    "DT_HALF", "DT_FLOAT", "DT_DOUBLE", "DT_INT8", "DT_INT16", "DT_INT32", "DT_INT64",
    "DT_UINT8", "DT_UINT16", "DT_BOOL",
}  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One model/signature to benchmark and how thoroughly."""

    version_dir: Path
    signature: str
    batch_sizes: tuple[int, ...]
    rounds: int
    seconds: float

    @property
    def name(self) -> str:
        return self.version_dir.parent.name


def manifest_of(version_dir: Path) -> dict:
    return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))


def bench_signature(version_dir: Path) -> str | None:
    """The signature to time: ``serving_default`` if benchable, else the first that is.

    Benchable: every input numeric with known rank, and a frozen graph (for python_session).
    """
    signatures = manifest_of(version_dir)["signatures"]
    for key in sorted(signatures, key=lambda k: (k != "serving_default", k)):
        entry = signatures[key]
        inputs = entry["saved_model"]["inputs"].values()
        if (
            "frozen" in entry
            and inputs
            and all(s["dtype"] in NUMERIC and s["shape"] is not None for s in inputs)
        ):
            return key
    return None


def float_inputs(version_dir: Path, key: str) -> bool:
    inputs = manifest_of(version_dir)["signatures"][key]["saved_model"]["inputs"].values()
    return all(s["dtype"] in ("DT_HALF", "DT_FLOAT", "DT_DOUBLE") for s in inputs)


def variables_bytes(version_dir: Path) -> int:
    return sum(p.stat().st_size for p in (version_dir / "variables").glob("variables.data-*"))


def plan(models_dir: Path, seconds: float, rounds: int) -> tuple[list[Target], str, str]:
    """Choose what to time: all batch sizes on linear and on the largest float model, a quick
    pass on every other benchable model.  Returns (targets, linear name, largest name)."""
    versions = {v.parent.name: v for v in latest_versions(models_dir)}
    keys = {name: bench_signature(v) for name, v in versions.items()}
    floats = [n for n, k in keys.items() if k and float_inputs(versions[n], k)]
    largest = max(floats, key=lambda n: variables_bytes(versions[n]))
    targets = []
    for name, version in sorted(versions.items()):
        if keys[name] is None:
            continue
        full = name in ("linear", largest)
        targets.append(
            Target(
                version,
                keys[name],
                FULL_BATCHES if full else QUICK_BATCHES,
                rounds if full else 1,
                seconds if full else seconds / 2,
            )
        )
    return targets, "linear", largest


def floor_args(target: Target) -> list[str]:
    """The C floor's flags: graph tensor names, dtypes and shapes from the SignatureDef."""
    sig = manifest_of(target.version_dir)["signatures"][target.signature]["saved_model"]
    args = ["--model", str(target.version_dir)]
    for alias in sorted(sig["inputs"]):
        spec = sig["inputs"][alias]
        shape = ",".join(str(d) for d in spec["shape"])
        args += ["--input", f"{spec['name']}:{spec['dtype']}:{shape}"]
    for alias in sorted(sig["outputs"]):
        args += ["--output", sig["outputs"][alias]["name"]]
    return args


def command(runtime: str, target: Target) -> list[str]:
    """The argv that runs ``runtime``'s bench loop on ``target``."""
    common = [
        "--batch-sizes",
        ",".join(map(str, target.batch_sizes)),
        "--seconds",
        str(target.seconds),
    ]
    if runtime in ("c_floor", "c_floor_folding_on"):
        folding = "on" if runtime == "c_floor_folding_on" else "off"
        return [str(FLOOR), *floor_args(target), "--constant-folding", folding, *common]
    consumer = by_name(runtime.split("_")[0])
    model_format = "frozen" if runtime == "python_session" else "saved_model"
    return [
        *consumer.argv,
        "bench",
        "--model",
        str(target.version_dir),
        "--signature",
        target.signature,
        "--format",
        model_format,
        *common,
    ]


def run_once(runtime: str, target: Target) -> dict:
    """Run one bench process; return its JSON (or an ``error`` entry)."""
    argv = command(runtime, target)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {
            "runtime": runtime,
            "error": done.stderr.strip()[-500:] or f"exit {done.returncode}",
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_start(version_dir: Path, runs: int) -> dict[str, list[float]]:
    """Wall seconds from process start to the exit of one batch-1 ``predict``, per consumer."""
    request = (version_dir / "golden" / "seed_example_rows.request.json").read_bytes()
    times: dict[str, list[float]] = {c.name: [] for c in CONSUMERS}
    for r in range(runs):
        order = CONSUMERS[r % len(CONSUMERS) :] + CONSUMERS[: r % len(CONSUMERS)]
        for consumer in order:
            start = time.perf_counter()
            done = consumer.run_process(["predict", "--model", str(version_dir)], stdin=request)
            elapsed = time.perf_counter() - start
            if done.returncode == 0:
                times[consumer.name].append(elapsed)
    return times


def run_all(targets: list[Target], log=print) -> list[dict]:
    """Every runtime on every target, rounds with a rotated runtime order."""
    runs = []
    for target in targets:
        for r in range(target.rounds):
            order = RUNTIMES[r % len(RUNTIMES) :] + RUNTIMES[: r % len(RUNTIMES)]
            for runtime in order:
                result = run_once(runtime, target)
                result.update(model_name=target.name, round=r)
                runs.append(result)
                log(f"  {target.name}/{target.signature} round {r + 1} {runtime}: "
                    + ("ERROR " + result["error"] if "error" in result else "ok"))  # fmt: skip
    return runs


def medians(runs: list[dict]) -> dict[tuple[str, str, int], dict]:
    """(model, runtime, batch) -> median over rounds of median_us, p99_us, rows_per_second."""
    grouped: dict[tuple[str, str, int], list[dict]] = {}
    for run in runs:
        for row in run.get("results", []):
            grouped.setdefault((run["model_name"], run["runtime"], row["batch_size"]), []).append(
                row
            )
    return {
        key: {
            field: statistics.median(r[field] for r in rows)
            for field in ("median_us", "p99_us", "rows_per_second")
        }
        | {"rounds": len(rows)}
        for key, rows in grouped.items()
    }


def ratio(table, model: str, a: str, b: str, batch: int, field: str) -> float | None:
    if (model, a, batch) not in table or (model, b, batch) not in table:
        return None
    return table[(model, a, batch)][field] / table[(model, b, batch)][field]


def folding_cost(table, plan_targets: list[Target]) -> list[dict]:
    """The cost of the contract's numeric configuration: c_floor (constant folding off) /
    c_floor_folding_on (TensorFlow's default), median µs per call, per model and batch size
    (> 1: slower with folding off).  A reported figure, not a target."""
    return [
        {
            "model": t.name,
            "signature": t.signature,
            "batch_size": b,
            "ratio": ratio(table, t.name, "c_floor", "c_floor_folding_on", b, "median_us"),
        }
        for t in plan_targets
        for b in t.batch_sizes
    ]


def evaluate_targets(table, cold: dict[str, list[float]], largest: str) -> list[dict]:
    """The issue's targets: measured ratio, the bound, pass or miss."""
    cold_median = {k: statistics.median(v) for k, v in cold.items() if v}

    def lat(runtime: str, other: str) -> float | None:
        return ratio(table, "linear", runtime, other, 1, "median_us")

    def rows(runtime: str) -> float | None:
        return ratio(table, largest, runtime, "c_floor", 4096, "rows_per_second")

    go_cold = None
    if {"go", "python"} <= cold_median.keys():
        go_cold = cold_median["go"] / cold_median["python"]
    checks = [
        ("Go batch-1 latency / C floor (linear)", lat("go", "c_floor"), "<=", 1.05),
        ("Java batch-1 latency / C floor (linear)", lat("java", "c_floor"), "<=", 1.5),
        ("Python signature / Go batch-1 latency (linear)", lat("python_signature", "go"), ">=", 6),
        ("Python signature / Java batch-1 latency (linear)", lat("python_signature", "java"),
         ">=", 4.5),
        (f"Go / C floor rows/s at batch 4096 ({largest})", rows("go"), ">=", 0.98),
        (f"Java / C floor rows/s at batch 4096 ({largest})", rows("java"), ">=", 0.95),
        ("Go cold start / Python cold start (linear)", go_cold, "<", 0.5),
    ]  # fmt: skip
    out = []
    for name, value, op, bound in checks:
        met = value is not None and (
            value <= bound if op == "<=" else value >= bound if op == ">=" else value < bound
        )
        out.append({"target": name, "measured": value, "bound": f"{op} {bound}", "met": met})
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def render_markdown(table, targets_met, cold, plan_targets, tf_version: str) -> str:
    lines = [
        f"# Benchmark results (TensorFlow {tf_version})",
        "",
        f"Machine: {machine()}. Threads: TensorFlow's defaults (intra/inter-op 0 = all cores).",
        "Each cell: median over rounds of each run's median per-call latency (µs), and rows/s.",
        "",
    ]
    for target in plan_targets:
        lines += [
            f"## {target.name} / {target.signature} ({target.rounds} round(s), "
            f"{target.seconds:g} s per batch size)",
            "",
            "| runtime | " + " | ".join(f"batch {b}" for b in target.batch_sizes) + " |",
            "|---|" + "---|" * len(target.batch_sizes),
        ]
        for runtime in RUNTIMES:
            cells = []
            for b in target.batch_sizes:
                m = table.get((target.name, runtime, b))
                cells.append(
                    "—"
                    if m is None
                    else f"{m['median_us']:.1f} µs, {m['rows_per_second']:.3g} rows/s"
                )
            lines.append(f"| {runtime} | " + " | ".join(cells) + " |")
        lines.append("")
    batches = sorted({b for t in plan_targets for b in t.batch_sizes})
    cost = {(c["model"], c["batch_size"]): c["ratio"] for c in folding_cost(table, plan_targets)}
    lines += [
        "## Cost of constant folding off (the contract's numeric configuration)",
        "",
        "c_floor (constant folding off) / c_floor_folding_on (TensorFlow's default, on): median µs "
        "per call; > 1 = slower with folding off. A reported figure, not a target.",
        "",
        "| model / signature | " + " | ".join(f"batch {b}" for b in batches) + " |",
        "|---|" + "---|" * len(batches),
    ]
    for target in plan_targets:
        cells = [cost.get((target.name, b)) for b in batches]
        lines.append(
            f"| {target.name} / {target.signature} | "
            + " | ".join("—" if c is None else f"{c:.2f}" for c in cells)
            + " |"
        )
    lines += ["", "## Cold start (process start to first prediction, linear, median)", ""]
    lines += [
        f"- {name}: {statistics.median(v):.3f} s ({len(v)} runs)" for name, v in cold.items() if v
    ]
    lines += ["", "## Targets", "", "| target | measured | bound | met |", "|---|---|---|---|"]
    for t in targets_met:
        value = "—" if t["measured"] is None else f"{t['measured']:.2f}"
        lines.append(f"| {t['target']} | {value} | {t['bound']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def plot(table, plan_targets, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = [t for t in plan_targets if len(t.batch_sizes) > 2]
    fig, axes = plt.subplots(len(full), 2, figsize=(12, 4.5 * len(full)), squeeze=False)
    for row, target in enumerate(full):
        for runtime in RUNTIMES:
            points = [(b, table[(target.name, runtime, b)]) for b in target.batch_sizes
                      if (target.name, runtime, b) in table]  # fmt: skip
            if not points:
                continue
            xs = [b for b, _ in points]
            axes[row][0].plot(xs, [m["median_us"] for _, m in points], marker="o", label=runtime)
            axes[row][1].plot(
                xs, [m["rows_per_second"] for _, m in points], marker="o", label=runtime
            )
        for col, (ylabel, title) in enumerate(
            (("median latency per call (µs)", "latency"), ("rows per second", "throughput"))
        ):
            ax = axes[row][col]
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("batch size")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{target.name}/{target.signature}: {title}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write the three files; return 0 (1 if a runtime failed to run)."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.bench")
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args(argv)
    from python_producer import tf_runtime

    started = time.perf_counter()
    targets, linear, largest = plan(args.models, args.seconds, args.rounds)
    print(f"benchmarking {', '.join(f'{t.name}/{t.signature}' for t in targets)}; "
          f"largest float model: {largest}")  # fmt: skip
    runs = run_all(targets)
    linear_dir = next(t.version_dir for t in targets if t.name == linear)
    cold = cold_start(linear_dir, args.cold_runs)
    table = medians(runs)
    checks = evaluate_targets(table, cold, largest)
    args.out.mkdir(parents=True, exist_ok=True)
    tf_version = tf_runtime.tf_version()
    (args.out / "results.json").write_text(
        json.dumps(
            {
                "tensorflow_version": tf_version,
                "machine": machine(),
                "runs": runs,
                "cold_start_seconds": cold,
                "targets": checks,
                "constant_folding_off_cost": folding_cost(table, targets),
                "elapsed_seconds": time.perf_counter() - started,
            },
            indent=2,
        )
        + "\n"
    )
    markdown = render_markdown(table, checks, cold, targets, tf_version)
    (args.out / "results.md").write_text(markdown)
    plot(table, targets, args.out / "latency.png")
    print(markdown)
    print(f"wrote {args.out}/results.json, results.md, latency.png in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    failed = [r for r in runs if "error" in r]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
