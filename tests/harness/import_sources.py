"""Models made the way other teams make them, none of which the zoo produces: the sources that
tests/test_import.py imports with ``python -m python_producer import``.

    python -m tests.harness.import_sources OUT_DIR

Each builder writes into ``OUT_DIR`` and returns the import command's arguments after
``--name NAME`` (see :data:`SOURCES`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from python_producer import tf_runtime
from tests.harness.loader_models import tf2_table_from_own_asset


def lookup_table(out: Path) -> list[str]:
    """A SavedModel with a ``tf.lookup.StaticHashTable`` read from an asset file at load time
    (the loader tests' :func:`loader_models.tf2_table_from_own_asset`): DT_STRING words ``[-1]``
    in, DT_INT64 line numbers of ``loader_models.VOCAB`` out (-1 for unknown words)."""
    version = tf2_table_from_own_asset(out / "lookup", out / "unused", out / "unused")
    request = out / "lookup_words.json"
    request.write_text('{"instances": ["banana", "kiwi", "apple", "cherry"]}\n', encoding="utf-8")
    return [str(version), "--requests", str(request)]


def keras_two_inputs(out: Path) -> list[str]:
    """A Keras functional model with two named float32 inputs (``numeric`` [-1, 3], ``extra``
    [-1, 2]), a ``Normalization`` layer and two dense layers, saved as a ``.keras`` file."""
    tf_runtime.tf()  # the contract's environment before Keras imports TensorFlow
    import keras
    import numpy as np

    keras.utils.set_random_seed(7)
    numeric = keras.Input(shape=(3,), name="numeric")
    extra = keras.Input(shape=(2,), name="extra")
    normalize = keras.layers.Normalization()
    normalize.adapt(np.array([[1.0, 2.0, 3.0], [2.0, 5.0, 1.0], [0.5, 1.5, 7.0]], np.float32))
    hidden = keras.layers.Dense(8, activation="tanh")(
        keras.layers.Concatenate()([normalize(numeric), extra])
    )
    model = keras.Model({"numeric": numeric, "extra": extra}, keras.layers.Dense(2)(hidden))
    path = out / "two_inputs.keras"
    model.save(str(path))
    return [str(path)]


def tf1_saver(out: Path) -> list[str]:
    """Seed 004's shape: a TF1 graph trained with a ``Saver`` checkpoint, float64 placeholders
    ``inputs/x_sample`` and ``inputs/y_sample`` of shape [?, ?] in the ``inputs`` collection and
    the prediction in ``outputs``."""
    tf = tf_runtime.tf()
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        with v1.name_scope("inputs"):
            x = v1.placeholder(tf.float64, [None, None], name="x_sample")
            y = v1.placeholder(tf.float64, [None, None], name="y_sample")
        slope = v1.get_variable("slope", initializer=tf.constant(1.8, tf.float64))
        intercept = v1.get_variable("intercept", initializer=tf.constant(1.8, tf.float64))
        prediction = tf.identity(slope * x + intercept, name="prediction")
        loss = tf.reduce_mean(tf.square(prediction - y))
        step = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        for t in (x, y):
            v1.add_to_collection("inputs", t)
        v1.add_to_collection("outputs", prediction)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            xs = [[float(i)] for i in range(10)]
            ys = [[1.5 * v[0] - 3.0] for v in xs]
            for _ in range(200):
                session.run(step, {x: xs, y: ys})
            prefix = saver.save(session, str(out / "tf1" / "model"))
    return ["--meta-graph", prefix + ".meta", "--checkpoint", prefix,
            "--inputs-collection", "inputs", "--outputs-collection", "outputs"]  # fmt: skip


def frozen_pb(out: Path) -> list[str]:
    """A frozen GraphDef as ``freeze_graph`` leaves it: constants only, float32 ``features``
    [-1, 4] in, ``scores`` = softmax(features @ W + b) out."""
    tf = tf_runtime.tf()
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        features = v1.placeholder(tf.float32, [None, 4], name="features")
        weights = tf.constant([[0.5, -1.0], [0.25, 2.0], [-0.75, 0.125], [1.5, -0.5]], tf.float32)
        logits = tf.matmul(features, weights) + tf.constant([0.1, -0.2], tf.float32)
        tf.nn.softmax(logits, name="scores")
    path = out / "frozen.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return [str(path), "--input", "features=features:0", "--output", "scores=scores:0"]


def counting_loop(out: Path) -> list[str]:
    """A SavedModel whose ``tf.while_loop`` body reads a variable and counts its iterations in
    another (``assign_add``): ``convert_variables_to_constants_v2`` cannot freeze that."""
    tf = tf_runtime.tf()

    class Loop(tf.Module):
        def __init__(self):
            super().__init__()
            self.rate = tf.Variable(1.5, dtype=tf.float32)
            self.steps = tf.Variable(0.0, dtype=tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def grow(self, x):
            def body(i, acc):
                self.steps.assign_add(1.0)
                return i + 1, acc * self.rate + 1.0

            _, acc = tf.while_loop(lambda i, _: i < 3, body, [0, x])
            return {"y": acc}

    module = Loop()
    tf.saved_model.save(module, str(out / "loop"), signatures={"serving_default": module.grow})
    return [str(out / "loop")]


#: model name -> builder; every one is imported under that name.
SOURCES = {
    "lookup": lookup_table,
    "keras_two": keras_two_inputs,
    "tf1_saver": tf1_saver,
    "frozen_pb": frozen_pb,
    "loop": counting_loop,
}


def build_all(out: Path) -> dict[str, list[str]]:
    """Build every source under ``out``; return ``{name: import arguments}``."""
    out.mkdir(parents=True, exist_ok=True)
    return {name: build(out) for name, build in SOURCES.items()}


if __name__ == "__main__":
    for name, args in build_all(Path(sys.argv[1])).items():
        print(name, " ".join(args))
