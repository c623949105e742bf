"""A small convolutional classifier of the 8x8 handwritten digits that ship with scikit-learn.

Data: ``sklearn.datasets.load_digits`` (1797 images, 8x8 pixels of 0..16, no download), split
80/20 stratified with a fixed seed.  Each image is stored as a grayscale PNG (pixel
``round(v * 255 / 16)``), and the model is trained on exactly what its serving graph decodes
from those PNGs.

Signatures:

- ``serving_default``: input ``image_bytes`` string ``[-1]`` (encoded PNG images of any size,
  grayscale, RGB or with alpha; decoded, converted to gray, scaled to [0, 1] and resized to 8x8
  inside the graph); outputs ``probabilities`` float32 ``[-1, 10]`` (softmax) and ``class_id``
  int64 ``[-1]`` (argmax).
- ``pixels``: input ``pixels`` float32 ``[-1, 8, 8]`` (the raw 0..16 values of
  ``load_digits``); the same outputs.

The test accuracy is printed and written to ``metrics.json`` in the version folder; a few test
images are written to ``samples/digit-<label>-<index>.png`` for ``classify``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import VERSION_DIR, CommandRunner, ExportWriter

SIDE = 8
CLASSES = 10


@dataclass(frozen=True)
class DigitsConfig:
    """Training settings."""

    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 0.002
    test_fraction: float = 0.2
    seed: int = 42
    samples: int = 10


def load_data(config: DigitsConfig) -> dict[str, np.ndarray]:
    """Return train/test splits: ``*_pixels`` float32 ``[n, 8, 8]`` (0..16), ``*_labels`` int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        digits.images.astype(np.float32),
        digits.target.astype(np.int64),
        test_size=config.test_fraction,
        random_state=config.seed,
        stratify=digits.target,
    )
    return {"train_pixels": train_x, "train_labels": train_y, "test_pixels": test_x,
            "test_labels": test_y}  # fmt: skip


def encode_png(pixels: np.ndarray) -> bytes:
    """Encode one ``[8, 8]`` image of 0..16 values as a grayscale 8-bit PNG."""
    tf = tf_runtime.tf()
    gray = np.round(pixels * (255.0 / 16.0)).astype(np.uint8)[:, :, None]
    return tf.io.encode_png(gray).numpy()


def build_module(config: DigitsConfig):
    """Return a ``tf.Module``: conv 3x3x16, conv 3x3x32, max-pool 2, dense 64, dense 10."""
    tf = tf_runtime.tf()
    glorot = tf.keras.initializers.GlorotUniform

    class DigitsModel(tf.Module):
        """Logits for ``images`` float32 ``[-1, 8, 8, 1]`` with values in [0, 1]."""

        def __init__(self):
            super().__init__(name="digits")
            s = config.seed
            self.conv1 = tf.Variable(glorot(seed=s)([3, 3, 1, 16]), name="conv1")
            self.bias1 = tf.Variable(tf.zeros([16]), name="bias1")
            self.conv2 = tf.Variable(glorot(seed=s + 1)([3, 3, 16, 32]), name="conv2")
            self.bias2 = tf.Variable(tf.zeros([32]), name="bias2")
            self.dense1 = tf.Variable(glorot(seed=s + 2)([4 * 4 * 32, 64]), name="dense1")
            self.bias3 = tf.Variable(tf.zeros([64]), name="bias3")
            self.dense2 = tf.Variable(glorot(seed=s + 3)([64, CLASSES]), name="dense2")
            self.bias4 = tf.Variable(tf.zeros([CLASSES]), name="bias4")

        def logits(self, images):
            h = tf.nn.relu(tf.nn.conv2d(images, self.conv1, 1, "SAME") + self.bias1)
            h = tf.nn.relu(tf.nn.conv2d(h, self.conv2, 1, "SAME") + self.bias2)
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            h = tf.reshape(h, [-1, 4 * 4 * 32])
            h = tf.nn.relu(tf.matmul(h, self.dense1) + self.bias3)
            return tf.matmul(h, self.dense2) + self.bias4

        def _answer(self, images):
            probabilities = tf.nn.softmax(self.logits(images))
            return {"probabilities": probabilities, "class_id": tf.argmax(probabilities, axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
        def serve_png(self, image_bytes):
            return self._answer(decode_images(image_bytes))

        @tf.function(input_signature=[tf.TensorSpec([None, SIDE, SIDE], tf.float32, name="pixels")])
        def serve_pixels(self, pixels):
            return self._answer(pixels[:, :, :, None] / 16.0)

    return DigitsModel()


def decode_images(image_bytes):
    """Decode a string ``[n]`` of PNGs into float32 ``[n, 8, 8, 1]`` in [0, 1] (in the graph)."""
    tf = tf_runtime.tf()

    def one(png):
        image = tf.io.decode_png(png, channels=1)
        image = tf.cast(image, tf.float32) / 255.0
        return tf.image.resize(image, [SIDE, SIDE], method="bilinear", antialias=True)

    return tf.map_fn(
        one, image_bytes, fn_output_signature=tf.TensorSpec([SIDE, SIDE, 1], tf.float32)
    )


def train(module, data: dict[str, np.ndarray], config: DigitsConfig, summary_dir: str) -> float:
    """Train on the decoded training PNGs (Adam, softmax cross-entropy); return test accuracy."""
    from tqdm import tqdm

    tf = tf_runtime.tf()
    tf.config.experimental.enable_op_determinism()
    decode = tf.function(decode_images)

    def images_of(split):
        pngs = tf.constant([encode_png(p) for p in data[f"{split}_pixels"]])
        return decode(pngs)

    train_images, test_images = images_of("train"), images_of("test")
    dataset = (
        tf.data.Dataset.from_tensor_slices((train_images, data["train_labels"]))
        .shuffle(len(data["train_labels"]), seed=config.seed, reshuffle_each_iteration=True)
        .batch(config.batch_size)
    )
    optimizer = tf.keras.optimizers.Adam(config.learning_rate)
    variables = list(module.trainable_variables)

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, module.logits(images))
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    @tf.function
    def accuracy(images, labels):
        predicted = tf.argmax(module.logits(images), axis=1)
        return tf.reduce_mean(tf.cast(tf.equal(predicted, labels), tf.float64))

    writer = tf.summary.create_file_writer(summary_dir)
    test_accuracy = 0.0
    with tqdm(
        total=config.epochs, desc="digits", unit="epoch", file=sys.stderr, disable=None, leave=False
    ) as bar:
        for epoch in range(config.epochs):
            loss = float(np.mean([float(step(x, y)) for x, y in dataset]))
            test_accuracy = float(accuracy(test_images, data["test_labels"]))
            with writer.as_default(step=epoch):
                tf.summary.scalar("train/loss", loss)
                tf.summary.scalar("test/accuracy", test_accuracy)
            bar.write(
                f"epoch: {epoch}, loss: {loss:.4f}, test accuracy: {test_accuracy:.4f}",
                file=sys.stdout,
            )
            bar.update(1)
    writer.close()
    return test_accuracy


def golden_requests(data: dict[str, np.ndarray]) -> dict[str, dict]:
    """Requests over test images: PNG batches (gray, RGB, upscaled) and raw pixels."""
    import base64

    tf = tf_runtime.tf()

    def b64(raw: bytes) -> dict:
        return {"b64": base64.b64encode(raw).decode("ascii")}

    pixels = data["test_pixels"]
    gray = [encode_png(p) for p in pixels[:32]]
    rgb = [
        tf.io.encode_png(
            np.repeat(np.round(p * (255.0 / 16.0)).astype(np.uint8)[:, :, None], 3, axis=2)
        ).numpy()
        for p in pixels[32:36]
    ]
    big = [
        tf.io.encode_png(
            np.kron(np.round(p * (255.0 / 16.0)), np.ones((4, 4))).astype(np.uint8)[:, :, None]
        ).numpy()
        for p in pixels[36:40]
    ]
    return {
        "png_columnar_32": {"inputs": {"image_bytes": [b64(r) for r in gray]}},
        "png_rows": {"instances": [{"image_bytes": b64(r)} for r in gray[:5]]},
        "png_bare_instances": {"instances": [b64(r) for r in gray[5:8]]},
        "png_rgb": {"inputs": [b64(r) for r in rgb]},
        "png_32x32": {"inputs": [b64(r) for r in big]},
        "pixels_rows": {"signature_name": "pixels", "instances": pixels[:16].tolist()},
        "pixels_columnar": {"signature_name": "pixels",
                            "inputs": {"pixels": pixels[16:20].tolist()}},
    }  # fmt: skip


def export(models_dir, config: DigitsConfig, run_command: CommandRunner) -> str:
    """Train a fresh classifier and publish it as the next version of ``models_dir/digits``."""
    data = load_data(config)
    module = build_module(config)
    with ExportWriter(models_dir, "digits", run_command) as writer:
        print(f"training digits -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        test_accuracy = train(module, data, config, str(writer.path / "summaries"))
        print(f"final: test accuracy: {test_accuracy!r} on {len(data['test_labels'])} images")
        (writer.path / "metrics.json").write_text(
            json.dumps(
                {"test_accuracy": test_accuracy, "test_images": len(data["test_labels"])},
                indent=2,
            )
            + "\n"
        )
        samples = writer.path / "samples"
        samples.mkdir()
        for i in range(config.samples):
            label = int(data["test_labels"][i])
            (samples / f"digit-{label}-{i:02d}.png").write_bytes(encode_png(data["test_pixels"][i]))
        writer.save_model(
            module,
            {
                "serving_default": module.serve_png.get_concrete_function(),
                "pixels": module.serve_pixels.get_concrete_function(),
            },
            {"model": module},
        )
        writer.write_golden(golden_requests(data))
        images = [f"{VERSION_DIR}/samples/{p.name}" for p in sorted(samples.glob("*.png"))]
        for model_format in ("saved_model", "frozen"):
            writer.expect_command(
                f"classify_samples_{model_format}",
                ["classify", "--model", VERSION_DIR, "--format", model_format, *images],
            )
        return str(writer.publish())
