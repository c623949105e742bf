"""A trainable model of f(x) = 3·x + 2 whose training loop runs outside Python (seeds/000_*).

Python defines the model and one training step; Go, Java or Python then run the loop by calling
the ``train_step`` signature (tests/CONTRACT.md, "Training").  The producer does not train it:
version 1 holds the starting weights ``W = -1``, ``b = 0.5``, away from the answer.

Variables (float32 scalars ``W``, ``b`` and int64 scalar ``global_step``, the number of training
steps applied so far), saved and restored through the SavedModel's own ``saver_def``.

Signatures:

- ``serving_default``: input ``x`` float32 ``[-1]``; output ``y = W * x + b``, float32 ``[-1]``.
- ``train_step``: inputs ``x`` and ``y`` float32 ``[-1]`` (one batch) and ``learning_rate``
  float32 ``[]``; outputs ``loss`` float32 ``[]`` (mean squared error of the batch before the
  update, units of y²) and ``global_step`` int64 ``[]`` (after the update).  One step of plain
  gradient descent: ``W -= learning_rate * dL/dW``, ``b -= learning_rate * dL/db``,
  ``global_step += 1``.
- ``get_variables``: no inputs; outputs ``W``, ``b`` and ``global_step``.

Every signature but ``train_step`` also has a frozen graph.

Training data: ``data/train-<i>-of-<n>.csv`` shards (header ``x,y``, float32 values written as
their shortest round-trip decimal), ``x ~ U(-1, 1)``, ``y = 3x + 2 + N(0, 0.005)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import CommandRunner, ExportWriter
from python_producer.reference.training import save_checkpoint, training_section

TRUE_W = 3.0
TRUE_B = 2.0
INITIAL_W = -1.0
INITIAL_B = 0.5

#: Signature keys and the manifest's ``training`` section (tests/CONTRACT.md, "Training").
TRAIN_SIGNATURE = "train_step"
VARIABLES_SIGNATURE = "get_variables"


@dataclass(frozen=True)
class AffineConfig:
    """Data settings (``epochs`` exists only for the zoo's common interface: no training here)."""

    epochs: int = 0
    seed: int = 2
    shards: int = 4
    rows_per_shard: int = 2048
    noise_stddev: float = 0.005


def build_module():
    """Return the ``tf.Module`` with ``W``, ``b``, ``global_step`` and the three signatures."""
    tf = tf_runtime.tf()

    class Affine(tf.Module):
        """``y = W * x + b`` over float32 batches, trainable through ``train_step``."""

        def __init__(self):
            super().__init__(name="affine")
            self.W = tf.Variable(INITIAL_W, dtype=tf.float32, name="W")
            self.b = tf.Variable(INITIAL_B, dtype=tf.float32, name="b")
            self.global_step = tf.Variable(0, dtype=tf.int64, name="global_step")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x):
            return {"y": self.W * x + self.b}

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.float32, name="x"),
                tf.TensorSpec([None], tf.float32, name="y"),
                tf.TensorSpec([], tf.float32, name="learning_rate"),
            ]
        )
        def train_step(self, x, y, learning_rate):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(self.W * x + self.b - y))
            grad_w, grad_b = tape.gradient(loss, [self.W, self.b])
            self.W.assign_sub(learning_rate * grad_w)
            self.b.assign_sub(learning_rate * grad_b)
            return {"loss": loss, "global_step": self.global_step.assign_add(1)}

        @tf.function(input_signature=[])
        def get_variables(self):
            return {
                "W": self.W.read_value(),
                "b": self.b.read_value(),
                "global_step": self.global_step.read_value(),
            }

    return Affine()


def write_data(data_dir: Path, config: AffineConfig) -> list[Path]:
    """Write the CSV shards and return their paths (sorted: the order training reads them in).

    Raises:
        AssertionError: a value whose shortest decimal does not parse back to the same float32
            through float64 (Python's path), which would make languages read different data.
    """
    rng = np.random.default_rng(config.seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard in range(config.shards):
        x = rng.uniform(-1.0, 1.0, size=config.rows_per_shard).astype(np.float32)
        noise = rng.normal(0.0, config.noise_stddev, size=x.shape)
        y = (TRUE_W * x.astype(np.float64) + TRUE_B + noise).astype(np.float32)
        lines = ["x,y"]
        for xi, yi in zip(x, y, strict=True):
            xs, ys = str(xi), str(yi)
            assert np.float32(float(xs)) == xi and np.float32(float(ys)) == yi, (xs, ys)
            lines.append(f"{xs},{ys}")
        path = data_dir / f"train-{shard:05d}-of-{config.shards:05d}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="ascii")
        paths.append(path)
    return paths


def write_summaries(summary_dir: Path, module, shards: list[Path]) -> None:
    """TensorBoard: histograms ``data/x``, ``data/y`` of the shards and the starting variables.

    Training runs outside Python, so there are no loss curves here; the trainers record their
    progress on stdout and in the new version's manifest (tests/CONTRACT.md, "Training").
    """
    tf = tf_runtime.tf()
    rows = np.concatenate([np.loadtxt(p, delimiter=",", skiprows=1, ndmin=2) for p in shards])
    writer = tf.summary.create_file_writer(str(summary_dir))
    with writer.as_default(step=0):
        tf.summary.histogram("data/x", rows[:, 0])
        tf.summary.histogram("data/y", rows[:, 1])
        tf.summary.scalar("variables/W", module.W)
        tf.summary.scalar("variables/b", module.b)
    writer.close()


def golden_requests() -> dict[str, dict]:
    """Requests whose reference responses are stored in ``golden/``.

    ``train_step`` has none: it changes the variables, so its answer depends on what ran before
    in the same session; its parity is checked by running the whole loop (tests/test_train.py).
    """
    return {
        "rows": {"instances": [0.0, 1.0, -1.0, 2.5]},
        "columnar": {"inputs": {"x": [-0.5, 0.25, 100.0]}},
        "empty": {"inputs": {"x": []}},
        "variables": {"signature_name": VARIABLES_SIGNATURE, "inputs": {}},
    }


def export(models_dir, config: AffineConfig, run_command: CommandRunner) -> str:
    """Export the untrained model, its training data and goldens as the next version.

    Returns:
        the path of the published version folder.
    """
    tf = tf_runtime.tf()
    module = build_module()
    with ExportWriter(models_dir, "affine", run_command) as writer:
        print(f"exporting affine -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        serve = module.serve.get_concrete_function()
        signatures = {
            "serving_default": serve,
            TRAIN_SIGNATURE: module.train_step.get_concrete_function(),
            VARIABLES_SIGNATURE: module.get_variables.get_concrete_function(),
        }
        tf.saved_model.save(module, str(writer.path), signatures=signatures)
        # Every signature but the train step gets a frozen graph (a frozen graph has no variables
        # to update).
        frozen = {k: v for k, v in signatures.items() if k != TRAIN_SIGNATURE}
        writer.freeze(frozen)
        (writer.path / "checkpoint").mkdir()
        save_checkpoint(tf.train.Checkpoint(module), writer.path / "checkpoint", 0)
        shards = write_data(writer.path / "data", config)
        print(f"wrote {len(shards)} training shards of {config.rows_per_shard} rows")
        write_summaries(writer.path / "summaries", module, shards)
        writer.write_golden(golden_requests())
        section = training_section(module, frozen, ["x", "y"])
        return str(writer.publish({"training": section}))
