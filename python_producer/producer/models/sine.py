"""A float32 MLP regressor of a biased sine, fed from sharded TFRecords (shared/seeds/003_*.txt).

As in the Estimator best-practice example: ``create_records`` writes ``x, y`` examples of a
biased sine with noise as sharded ``.tfrecord`` files, in separate ``train/`` and
``validation/`` folders; training reads them with ``tf.data``, runs a training loop and an
evaluation loop each epoch (metrics logged to TensorBoard); afterwards a PNG plot of the
predictions against the data of both sets is written, as the example's ``infer.py`` does.

Data: ``y = sin(x) + 0.5 + noise``, ``x ~ U(-2π, 2π)``, ``noise ~ N(0, 0.1)``, float32.
Records: ``tf.train.Example`` with float features ``x`` and ``y`` (one value each).

Serving signature ``serving_default``: input ``x`` float32 ``[-1, 1]``, output ``y`` float32
``[-1, 1]`` (the predicted ``y`` for each row).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import CommandRunner, ExportWriter

BIAS = 0.5


@dataclass(frozen=True)
class SineConfig:
    """Data and training settings (``x`` in radians)."""

    train_examples: int = 8192
    validation_examples: int = 2048
    train_shards: int = 4
    validation_shards: int = 2
    noise_stddev: float = 0.1
    hidden: int = 32
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 0.01
    seed: int = 42


def create_records(data_dir: Path, config: SineConfig) -> dict[str, list[Path]]:
    """Write ``train/`` and ``validation/`` shards of ``tf.train.Example`` records.

    Files are named ``part-<i>-of-<n>.tfrecord`` (5-digit numbers).  Returns the shard paths
    per split.
    """
    tf = tf_runtime.tf()
    rng = np.random.default_rng(config.seed)
    shards: dict[str, list[Path]] = {}
    for split, count, n_shards in (
        ("train", config.train_examples, config.train_shards),
        ("validation", config.validation_examples, config.validation_shards),
    ):
        x = rng.uniform(-2 * math.pi, 2 * math.pi, size=count).astype(np.float32)
        y = (np.sin(x) + BIAS + rng.normal(0.0, config.noise_stddev, size=count)).astype(np.float32)
        folder = Path(data_dir) / split
        folder.mkdir(parents=True, exist_ok=True)
        shards[split] = []
        for shard, rows in enumerate(np.array_split(np.arange(count), n_shards)):
            path = folder / f"part-{shard:05d}-of-{n_shards:05d}.tfrecord"
            with tf.io.TFRecordWriter(str(path)) as writer:
                for i in rows:
                    example = tf.train.Example(
                        features=tf.train.Features(
                            feature={
                                "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x[i]])),
                                "y": tf.train.Feature(float_list=tf.train.FloatList(value=[y[i]])),
                            }
                        )
                    )
                    writer.write(example.SerializeToString())
            shards[split].append(path)
    return shards


def make_dataset(files: list[Path], batch_size: int, shuffle_seed: int | None):
    """Return a ``tf.data.Dataset`` of ``(x, y)`` batches, each float32 ``[batch, 1]``.

    With ``shuffle_seed`` the examples are shuffled (the same order for the same seed and
    epoch); without it they come in file order.
    """
    tf = tf_runtime.tf()
    features = {
        "x": tf.io.FixedLenFeature([1], tf.float32),
        "y": tf.io.FixedLenFeature([1], tf.float32),
    }
    dataset = tf.data.TFRecordDataset([str(f) for f in files])
    if shuffle_seed is not None:
        dataset = dataset.shuffle(16384, seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    return dataset.map(lambda serialized: _parse(serialized, features))


def _parse(serialized, features):
    tf = tf_runtime.tf()
    parsed = tf.io.parse_example(serialized, features)
    return parsed["x"], parsed["y"]


def build_module(config: SineConfig):
    """Return a ``tf.Module``: 1 -> hidden -> hidden -> 1 MLP (tanh), float32 variables."""
    tf = tf_runtime.tf()

    class SineModel(tf.Module):
        """``y = W3 tanh(W2 tanh(W1 x + b1) + b2) + b3`` for ``x`` float32 ``[-1, 1]``."""

        def __init__(self):
            super().__init__(name="sine")
            init = tf.keras.initializers.GlorotUniform(seed=config.seed)
            h = config.hidden
            self.w1 = tf.Variable(init([1, h]), name="w1")
            self.b1 = tf.Variable(tf.zeros([h]), name="b1")
            self.w2 = tf.Variable(tf.keras.initializers.GlorotUniform(seed=config.seed + 1)([h, h]))
            self.b2 = tf.Variable(tf.zeros([h]), name="b2")
            self.w3 = tf.Variable(tf.keras.initializers.GlorotUniform(seed=config.seed + 2)([h, 1]))
            self.b3 = tf.Variable(tf.zeros([1]), name="b3")

        def __call__(self, x):
            hidden = tf.tanh(tf.matmul(x, self.w1) + self.b1)
            hidden = tf.tanh(tf.matmul(hidden, self.w2) + self.b2)
            return tf.matmul(hidden, self.w3) + self.b3

        @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
        def serve(self, x):
            return {"y": self(x)}

    return SineModel()


def train(module, shards: dict[str, list[Path]], config: SineConfig, summary_dir: str) -> dict:
    """Train ``module`` in place; return the last validation metrics (MSE and MAE, units of y).

    Each epoch: one pass over the shuffled training shards (Adam on the mean squared error),
    then one pass over the validation shards.  ``train/loss`` and ``validation/mse`` and
    ``validation/mae`` go to TensorBoard under ``summary_dir``; one line per epoch to stdout.
    """
    from tqdm import tqdm

    tf = tf_runtime.tf()
    tf.config.experimental.enable_op_determinism()
    train_data = make_dataset(shards["train"], config.batch_size, config.seed)
    validation_data = make_dataset(shards["validation"], 512, None)
    optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    variables = list(module.trainable_variables)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(module(x) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    @tf.function
    def eval_step(x, y):
        error = module(x) - y
        return tf.reduce_sum(tf.square(error)), tf.reduce_sum(tf.abs(error)), tf.size(error)

    writer = tf.summary.create_file_writer(summary_dir)
    metrics: dict = {}
    with tqdm(
        total=config.epochs, desc="sine", unit="epoch", file=sys.stderr, disable=None, leave=False
    ) as bar:
        for epoch in range(config.epochs):
            losses = [float(train_step(x, y)) for x, y in train_data]
            sq = ab = n = 0.0
            for x, y in validation_data:
                s, a, c = eval_step(x, y)
                sq, ab, n = sq + float(s), ab + float(a), n + int(c)
            metrics = {"train_loss": float(np.mean(losses)), "mse": sq / n, "mae": ab / n}
            with writer.as_default(step=epoch):
                tf.summary.scalar("train/loss", metrics["train_loss"])
                tf.summary.scalar("validation/mse", metrics["mse"])
                tf.summary.scalar("validation/mae", metrics["mae"])
            bar.write(
                f"epoch: {epoch}, train loss: {metrics['train_loss']:.5f}, "
                f"validation mse: {metrics['mse']:.5f}, mae: {metrics['mae']:.5f}",
                file=sys.stdout,
            )
            bar.update(1)
    writer.close()
    return metrics


def plot_predictions(module, shards: dict[str, list[Path]], path: Path) -> None:
    """Write a PNG: data points and the model's curve, one panel per split (as infer.py)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tf = tf_runtime.tf()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    grid = np.linspace(-2 * math.pi, 2 * math.pi, 400, dtype=np.float32).reshape(-1, 1)
    curve = module(tf.constant(grid)).numpy()
    for ax, split in zip(axes, ("train", "validation"), strict=True):
        xs, ys = [], []
        for x, y in make_dataset(shards[split], 4096, None):
            xs.append(x.numpy())
            ys.append(y.numpy())
        ax.scatter(np.concatenate(xs), np.concatenate(ys), s=2, alpha=0.3, label="data")
        ax.plot(grid, curve, color="C3", linewidth=2, label="prediction")
        ax.plot(grid, np.sin(grid) + BIAS, color="k", linestyle="--", linewidth=1, label="sin+0.5")
        ax.set_title(f"sine: {split} set")
        ax.set_xlabel("x (radians)")
        ax.legend(loc="lower left")
    axes[0].set_ylabel("y")
    fig.suptitle(f"TensorFlow {tf_runtime.tf_version()}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(fig)


def golden_requests() -> dict[str, dict | str]:
    """Requests whose Python reference responses are stored in ``golden/``."""
    rng = np.random.default_rng(11)
    return {
        "quarter_turns": {"instances": [[0.0], [math.pi / 2], [math.pi], [-math.pi / 2]]},
        "columnar": {"inputs": {"x": [[-1.0], [0.25], [3.0]]}},
        "batch_1024": {"instances": rng.uniform(-7, 7, size=(1024, 1)).tolist()},
        "float32_edges": (
            '{"instances": [[1e-45], [-0.0], [3.4028234663852886e38], [0.1], [16777217]]}'
        ),
        "nan_and_infinity": '{"instances": [[NaN], [Infinity], [-Infinity]]}',
    }


def export(models_dir, config: SineConfig, run_command: CommandRunner) -> str:
    """Write the records, train, plot and publish the next version of ``models_dir/sine``."""
    module = build_module(config)
    with ExportWriter(models_dir, "sine", run_command) as writer:
        print(f"training sine -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        shards = create_records(writer.path / "data", config)
        metrics = train(module, shards, config, str(writer.path / "summaries"))
        print(f"final: validation mse: {metrics['mse']!r}, mae: {metrics['mae']!r}")
        plot_predictions(module, shards, writer.path / "plots" / "predictions.png")
        writer.save_model(
            module,
            {"serving_default": module.serve.get_concrete_function()},
            {"model": module},
        )
        writer.write_golden(golden_requests())
        return str(writer.publish())
