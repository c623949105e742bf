"""A Keras model exported with Keras's own ``model.export``: proof that the consumers need nothing
from this producer's exporter.

The SavedModel in the version folder is exactly what ``keras.Model.export(path,
format="tf_saved_model")`` writes (Keras 3's ``ExportArchive``: its own signature naming and
tensor names); the producer only adds the sidecar files beside it (frozen graph from the loaded
signature, checkpoint, summaries, golden files, manifest).

Data: the iris flowers that ship with scikit-learn (150 rows, 4 float features in cm, 3
classes), standardised with the training split's mean and deviation inside the model.  Model:
``Normalization -> Dense(16, relu) -> Dense(3, softmax)``, trained with ``model.fit``.

Signatures ``serving_default`` and ``serve`` (both Keras's own): input ``features`` float32
``[-1, 4]``; output ``output_0`` float32 ``[-1, 3]`` (class probabilities of setosa,
versicolor, virginica).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from python_producer import tf_runtime
from python_producer.producer.export import CommandRunner, ExportWriter


@dataclass(frozen=True)
class KerasMLPConfig:
    """Training settings."""

    epochs: int = 60
    batch_size: int = 16
    learning_rate: float = 0.02
    seed: int = 42


def build_and_train(config: KerasMLPConfig, summary_dir: str):
    """Return ``(model, test_accuracy)``: a Keras model fitted on 80% of iris."""
    import keras
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    tf = tf_runtime.tf()
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    iris = load_iris()
    train_x, test_x, train_y, test_y = train_test_split(
        iris.data.astype(np.float32),
        iris.target.astype(np.int64),
        test_size=0.2,
        random_state=config.seed,
        stratify=iris.target,
    )
    normalize = keras.layers.Normalization()
    normalize.adapt(train_x)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,), name="features"),
            normalize,
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ],
        name="iris",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        train_x,
        train_y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=True,
        verbose=0,
        validation_data=(test_x, test_y),
        callbacks=[keras.callbacks.TensorBoard(log_dir=summary_dir)],
    )
    _, accuracy = model.evaluate(test_x, test_y, verbose=0)
    return model, float(accuracy)


def golden_requests() -> dict[str, dict]:
    """Iris measurements (cm), in both formats."""
    return {
        "three_species_rows": {
            "instances": [[5.1, 3.5, 1.4, 0.2], [6.4, 3.2, 4.5, 1.5], [6.3, 3.3, 6.0, 2.5]]
        },
        "columnar_keyed": {"inputs": {"features": [[5.9, 3.0, 5.1, 1.8], [0.0, 0.0, 0.0, 0.0]]}},
        "serve_signature": {"signature_name": "serve", "instances": [[5.0, 2.0, 3.5, 1.0]]},
    }


def export(models_dir, config: KerasMLPConfig, run_command: CommandRunner) -> str:
    """Train, ``model.export`` into the staging folder, add sidecars, publish ``keras_mlp``."""
    tf = tf_runtime.tf()
    with ExportWriter(models_dir, "keras_mlp", run_command) as writer:
        print(f"training keras_mlp -> {writer.final_path} (TensorFlow {tf_runtime.tf_version()})")
        model, accuracy = build_and_train(config, str(writer.path / "summaries"))
        print(f"final: test accuracy: {accuracy!r}")
        model.export(str(writer.path), format="tf_saved_model", verbose=False)
        loaded = tf.saved_model.load(str(writer.path))
        writer.freeze(dict(loaded.signatures))
        writer.save_checkpoint({"model": model})
        writer.write_golden(golden_requests())
        return str(writer.publish())
