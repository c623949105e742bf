"""The linear regression of the model-import-export example (shared/seeds/004_*.txt).

Data: ``y = 1.5 * x - 3 + noise`` in float64, ``x ~ U(-5, 5)``, ``noise ~ N(0, 0.05)``, drawn
from a seeded ``numpy.random.Generator``.  Training: full-batch gradient descent on the mean
squared error, starting from slope = intercept = 1.8 as the example does, logging epoch, loss,
slope and intercept every 100 epochs and writing TensorBoard scalars every step.  With op
determinism enabled, training twice with the same seed gives the same bits.

Serving signature ``serving_default``: input ``x`` float64 shape ``[-1, -1]``, output ``y`` =
``slope * x + intercept``, same shape and dtype.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import CommandRunner, ExportWriter

TRUE_SLOPE = 1.5
TRUE_INTERCEPT = -3.0


@dataclass(frozen=True)
class LinearConfig:
    """Training settings (``x`` range and noise are in the units of ``y``)."""

    epochs: int = 2000
    learning_rate: float = 0.01
    samples: int = 1000
    noise_stddev: float = 0.05
    seed: int = 42
    log_every: int = 100


def make_data(config: LinearConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(x, y)``, each float64 with shape ``[samples, 1]``."""
    rng = np.random.default_rng(config.seed)
    x = rng.uniform(-5.0, 5.0, size=(config.samples, 1))
    y = TRUE_SLOPE * x + TRUE_INTERCEPT + rng.normal(0.0, config.noise_stddev, size=x.shape)
    return x, y


def build_module():
    """Return a ``tf.Module`` with float64 ``slope``/``intercept`` and a ``serve`` function."""
    tf = tf_runtime.tf()

    class LinearModel(tf.Module):
        """``y = slope * x + intercept`` over float64 tensors of any 2-D shape."""

        def __init__(self):
            super().__init__(name="linear")
            self.slope = tf.Variable(1.8, dtype=tf.float64, name="slope")
            self.intercept = tf.Variable(1.8, dtype=tf.float64, name="intercept")

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float64, name="x")])
        def serve(self, x):
            return {"y": self.slope * x + self.intercept}

    return LinearModel()


def train(module, config: LinearConfig, summary_dir: str | None = None, log=print) -> float:
    """Train ``module`` in place; return the final loss (mean squared error, units of y²).

    Logs ``epoch: N, loss: L, slope: S, intercept: I`` every ``config.log_every`` epochs through
    ``log`` and shows a tqdm progress bar on stderr.
    """
    from tqdm import tqdm

    tf = tf_runtime.tf()
    tf.config.experimental.enable_op_determinism()
    x_np, y_np = make_data(config)
    x, y = tf.constant(x_np), tf.constant(y_np)
    variables = [module.slope, module.intercept]
    rate = tf.constant(config.learning_rate, tf.float64)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(module.slope * x + module.intercept - y))
        for variable, grad in zip(variables, tape.gradient(loss, variables), strict=True):
            variable.assign_sub(rate * grad)
        return loss

    writer = tf.summary.create_file_writer(summary_dir) if summary_dir else None
    loss = float("nan")
    with tqdm(
        total=config.epochs, desc="linear", unit="epoch", file=sys.stderr, disable=None, leave=False
    ) as bar:
        for epoch in range(config.epochs):
            slope, intercept = float(module.slope.numpy()), float(module.intercept.numpy())
            loss = float(step().numpy())
            if writer is not None:
                with writer.as_default(step=epoch):
                    tf.summary.scalar("loss", loss)
                    tf.summary.scalar("slope", slope)
                    tf.summary.scalar("intercept", intercept)
            if epoch % config.log_every == 0:
                bar.write(
                    f"epoch: {epoch}, loss: {loss!r}, slope: {slope!r}, intercept: {intercept!r}",
                    file=sys.stdout,
                )
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3g}")
    if writer is not None:
        writer.close()
    log(
        f"final: loss: {loss!r}, slope: {float(module.slope.numpy())!r}, "
        f"intercept: {float(module.intercept.numpy())!r}"
    )
    return loss


def golden_requests() -> dict[str, dict | str]:
    """Requests whose Python reference responses are stored in ``golden/``."""
    rng = np.random.default_rng(7)
    return {
        # The example's own check: x = [0, 1, -1, 2] in row format.
        "seed_example_rows": {"instances": [[0.0], [1.0], [-1.0], [2.0]]},
        # Inputs [1, 2, 3, 4] as one columnar row (predictions near 1.5 x - 3).
        "one_to_four_columnar": {"inputs": {"x": [[1.0, 2.0, 3.0, 4.0]]}},
        "columnar_bare_value": {"inputs": rng.normal(0, 10, size=(3, 5)).tolist()},
        "keyed_instances": {"instances": [{"x": [1.5, 2.5]}, {"x": [3.5, 4.5]}]},
        "integers_for_float": {"instances": [[1, 2, 3], [-4, 5, 6]]},
        "batch_256": {
            "signature_name": "serving_default",
            "instances": rng.uniform(-1e6, 1e6, size=(256, 3)).tolist(),
        },
        "special_values": (
            '{"inputs": [[NaN, Infinity, -Infinity, -0.0, 0.0, 5e-324, '
            "1.7976931348623157e308, -1e-300, 0.1, 123456789012345678]]}"
        ),
    }


def export(models_dir, config: LinearConfig, run_command: CommandRunner) -> str:
    """Train a fresh model and publish it as the next version of ``models_dir/linear``.

    Returns:
        the path of the published version folder.
    """
    module = build_module()
    with ExportWriter(models_dir, "linear", run_command) as writer:
        print(f"training linear -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        train(module, config, summary_dir=str(writer.path / "summaries"))
        writer.save_model(
            module,
            {"serving_default": module.serve.get_concrete_function()},
            {"slope": module.slope, "intercept": module.intercept},
        )
        writer.write_golden(golden_requests())
        return str(writer.publish())
