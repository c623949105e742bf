"""Running the ``train`` command (tests/CONTRACT.md, "Training") in each language, side by side.

Each run trains a private copy of a model version, so runs never see each other's checkpoints or
versions.  ``python -m tests.harness.training`` prints the table that ``make all`` shows: the
final variables, the steps per second and whether the bits equal Python's.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.harness.consumers import CONSUMERS, MODELS, Consumer

DEFAULT_STEPS = 1000
_RATE = re.compile(r"^trained (\d+) steps in ([0-9.]+) s \(([0-9.]+) steps/s\)$", re.M)
_EXPORTED = re.compile(r"^exported (.+)$", re.M)
_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


@dataclass
class TrainRun:
    """One finished ``train`` invocation.

    Attributes:
        consumer: the language that ran it.
        returncode, stdout, stderr: of the process (text).
        exported: the new version folder it reported, or None.
        steps_per_second: the rate it reported on stderr (its own monotonic clock), or NaN.
    """

    consumer: Consumer
    returncode: int
    stdout: str
    stderr: str
    exported: Path | None = None
    steps_per_second: float = math.nan
    variables: dict[str, np.ndarray] = field(default_factory=dict)

    def explain(self) -> str:
        """A one-paragraph account for assertion messages."""
        return (
            f"{self.consumer.name} train exited {self.returncode}\n"
            f"stdout: {self.stdout[-1500:]}\nstderr: {self.stderr[-1500:]}"
        )


def private_copy(version_dir: Path, dest: Path) -> Path:
    """Copy one version folder to ``dest/<model>/<version>`` and return the copy."""
    target = dest / version_dir.parent.name / version_dir.name
    shutil.copytree(version_dir, target)
    return target


def train(
    consumer: Consumer,
    version_dir: Path,
    checkpoint_dir: Path,
    steps: int,
    *extra: str,
    data: Path | None = None,
) -> TrainRun:
    """Run ``train`` on ``version_dir`` with its own ``data/`` shards (or ``data``).

    Returns a :class:`TrainRun`; on success ``variables`` holds the new version's variables
    (checkpoint key without the ``/.ATTRIBUTES/VARIABLE_VALUE`` suffix -> numpy value).
    """
    args = [
        "train",
        "--model",
        str(version_dir),
        "--data",
        str(data or version_dir / "data"),
        "--steps",
        str(steps),
        "--checkpoint-dir",
        str(checkpoint_dir),
        *extra,
    ]
    done = consumer.run(args, timeout=600)
    run = TrainRun(
        consumer,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    if rate := _RATE.search(run.stderr):
        run.steps_per_second = float(rate.group(3))
    if exported := _EXPORTED.search(run.stderr):
        run.exported = Path(exported.group(1).strip())
        run.variables = read_variables(run.exported / "variables" / "variables")
    return run


def read_variables(prefix: Path) -> dict[str, np.ndarray]:
    """Read every variable of a checkpoint prefix (object-graph key -> value)."""
    from python_producer import tf_runtime

    tf = tf_runtime.tf()
    reader = tf.train.load_checkpoint(str(prefix))
    return {
        key.removesuffix(_VALUE_SUFFIX): reader.get_tensor(key)
        for key in reader.get_variable_to_shape_map()
        if key.endswith(_VALUE_SUFFIX)
    }


def same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Whether two variable sets have the same names, dtypes, shapes and bytes."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes()
        for k in a
    )


def source_version(models_dir: Path, name: str = "affine") -> Path | None:
    """The highest complete version of ``models_dir/name`` with a ``training`` section."""
    from python_producer.reference.model_dir import complete_versions

    for version in reversed(complete_versions(models_dir / name)):
        manifest = json.loads((models_dir / name / str(version) / "manifest.json").read_text())
        if "training" in manifest:
            return models_dir / name / str(version)
    return None


def run_table(source: Path, work: Path, steps: int) -> tuple[str, bool]:
    """Train ``source`` for ``steps`` in every language; return (table text, all ok)."""
    from python_producer import tf_runtime
    from python_producer.reference.tfjson import format_float

    runs = []
    for consumer in CONSUMERS:
        copy = private_copy(source, work / consumer.name)
        runs.append(train(consumer, copy, work / consumer.name / "checkpoints", steps))
    reference = runs[0]
    lines = [
        f"Training {source.parent.name} version {source.name} for {steps} steps in each language "
        f"(batch 64, learning rate 0.1), TensorFlow {tf_runtime.tf_version()}",
        "",
        f"{'language':<8} {'steps/s':>9} {'W':>12} {'b':>12} {'global_step':>11}  "
        "variables vs python",
        f"{'-' * 8} {'-' * 9} {'-' * 12} {'-' * 12} {'-' * 11}  {'-' * 20}",
    ]
    ok = True
    for run in runs:
        if run.returncode != 0 or not run.variables:
            ok = False
            lines.append(f"{run.consumer.name:<8} FAILED: {run.explain()}")
            continue
        v = run.variables
        near = abs(float(v["W"]) - 3.0) <= 1e-3 and abs(float(v["b"]) - 2.0) <= 1e-3
        if run is reference:
            status = "(reference)"
        elif same_bits(v, reference.variables) and run.stdout == reference.stdout:
            status = "same bits"
        else:
            status = "DIFFERENT"
            ok = False
        if not near:
            status += ", NOT within 1e-3 of (3, 2)"
            ok = False
        lines.append(
            f"{run.consumer.name:<8} {run.steps_per_second:>9.1f} {format_float(v['W'][()]):>12} "
            f"{format_float(v['b'][()]):>12} {int(v['global_step']):>11}  {status}"
        )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    """Print the training table; return 0 when every language matches Python, else 1."""
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m tests.harness.training")
    parser.add_argument("--models", type=Path, default=MODELS)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    args = parser.parse_args(argv)
    source = source_version(args.models)
    if source is None:
        print(
            f"training: error: no affine model with a training section under {args.models}; "
            "run `make models`",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="train-table-") as work:
        table, ok = run_table(source, Path(work), args.steps)
    print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
