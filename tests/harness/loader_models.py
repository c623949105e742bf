"""SavedModels whose loading runs ops (tests/CONTRACT.md, "Unsafe ops"), for
tests/cases/loader_models.json.

Each builder writes one bare version folder (no manifest: the cases run with
``--skip-verification``, as a user trying a model from elsewhere would) and returns it. The
models use the APIs that write such graphs in the wild — ``tf.compat.v1.saved_model.Builder``
with a ``main_op``, ``tf.saved_model.save`` with a ``tf.lookup.TextFileInitializer``, Keras
``StringLookup`` — and, where no API writes the graph any more (the ``legacy_init_op``
collection, a redirected ``saver_def.restore_op_name``), the MetaGraphDef is edited as a
hostile producer would.

``secret`` is a file outside the model that a model must not be able to read; ``target`` a
path that a model must not be able to write.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tensorflow.core.framework import node_def_pb2
from tensorflow.core.protobuf import saved_model_pb2

VOCAB = "apple\nbanana\ncherry\n"
"""The vocabulary of the asset-backed tables: ``apple`` is id 0, an unknown word -1."""


def _tf():
    from python_producer import tf_runtime

    return tf_runtime.tf()


def _edit_meta_graph(version: Path, edit: Callable) -> None:
    """Rewrite ``saved_model.pb`` after ``edit(meta_graph)`` changed its only MetaGraphDef."""
    pb = version / "saved_model.pb"
    model = saved_model_pb2.SavedModel()
    model.ParseFromString(pb.read_bytes())
    edit(model.meta_graphs[0])
    pb.write_bytes(model.SerializeToString())


def _as_legacy_init_op(version: Path) -> Path:
    """Move the ``saved_model_main_op`` collection to ``legacy_init_op``, which the loader runs
    when there is neither an init-op signature nor a main op (``loader_util.cc`` ``GetInitOp``)."""

    def edit(meta_graph):
        meta_graph.collection_def["legacy_init_op"].CopyFrom(
            meta_graph.collection_def["saved_model_main_op"]
        )
        del meta_graph.collection_def["saved_model_main_op"]

    _edit_meta_graph(version, edit)
    return version


def _v1_model(dest: Path, build: Callable, assets: bool = False) -> Path:
    """A TF1 SavedModel: ``build(tf)`` adds ops to a fresh graph and returns the ``inputs`` and
    ``outputs`` dicts of ``serving_default`` and the ``main_op`` (or ``None``); variables are
    initialised before saving, and with ``assets`` the graph's ``ASSET_FILEPATHS`` collection
    is written as the SavedModel's assets."""
    tf = _tf()
    v1 = tf.compat.v1
    version = dest / "1"
    graph = tf.Graph()
    with graph.as_default():
        inputs, outputs, main_op = build(tf)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(version))
            signature = v1.saved_model.predict_signature_def(inputs, outputs)
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                signature_def_map={"serving_default": signature},
                main_op=main_op,
                assets_collection=v1.get_collection(v1.GraphKeys.ASSET_FILEPATHS)
                if assets
                else None,
            )
            builder.save()
    return version


def _scaled(tf):
    """``y = x * w`` over DT_FLOAT ``[-1]`` with one variable, so the model has a checkpoint."""
    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None], name="x")
    w = v1.get_variable("w", initializer=tf.constant(2.0))
    return {"x": x}, {"y": x * w}


def main_op_writes(dest: Path, secret: Path, target: Path) -> Path:
    """TF1 ``Builder`` model whose ``main_op`` (collection ``saved_model_main_op``) writes
    ``target``."""

    def build(tf):
        inputs, outputs = _scaled(tf)
        write = tf.io.write_file(tf.constant(str(target)), tf.constant("written at load"))
        return inputs, outputs, tf.group(write, name="main_op")

    return _v1_model(dest, build)


def legacy_init_op_writes(dest: Path, secret: Path, target: Path) -> Path:
    """The same ``main_op`` moved to the ``legacy_init_op`` collection, which the loader runs
    when there is neither an init-op signature nor a ``saved_model_main_op``."""
    return _as_legacy_init_op(main_op_writes(dest, secret, target))


def legacy_init_op_reads_path(dest: Path, secret: Path, target: Path) -> Path:
    """A ``legacy_init_op`` that reads ``secret`` (an absolute path given as a constant) into
    a variable that ``serving_default`` returns next to ``y``."""

    def build(tf):
        v1 = tf.compat.v1
        inputs, outputs = _scaled(tf)
        leaked = v1.get_variable("leaked", initializer=tf.constant(""), trainable=False)
        read = leaked.assign(tf.io.read_file(tf.constant(str(secret))))
        outputs["leaked"] = tf.identity(leaked.read_value())
        return inputs, outputs, tf.group(read, name="init_read")

    return _as_legacy_init_op(_v1_model(dest, build))


def restore_redirected(dest: Path, secret: Path, target: Path) -> Path:
    """``saver_def.restore_op_name`` names a group of the real restore op and a ``WriteFile``
    of ``target``: the C API runs it to load the variables."""
    version = _v1_model(dest, lambda tf: (*_scaled(tf), None))

    def edit(meta_graph):
        graph = meta_graph.graph_def
        restore = meta_graph.saver_def.restore_op_name
        path = _const_string(graph, "redirect/path", str(target))
        contents = _const_string(graph, "redirect/contents", "written at restore")
        write = graph.node.add(name="redirect/WriteFile", op="WriteFile")
        write.input.extend([path.name, contents.name])
        group = graph.node.add(name="redirect/restore_all", op="NoOp")
        group.input.extend([f"^{restore}", f"^{write.name}"])
        meta_graph.saver_def.restore_op_name = group.name

    _edit_meta_graph(version, edit)
    return version


def _const_string(graph, name: str, value: str) -> node_def_pb2.NodeDef:
    tf = _tf()
    node = graph.node.add(name=name, op="Const")
    node.attr["dtype"].type = tf.string.as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    return node


def _vocab_file(dest: Path) -> Path:
    source = dest / "vocab-source"
    source.mkdir(parents=True, exist_ok=True)
    vocab = source / "vocab.txt"
    vocab.write_text(VOCAB)
    return vocab


def _v1_table(tf, filename):
    """``ids = table.lookup(words)``: DT_STRING ``[-1]`` to DT_INT64 ``[-1]``, -1 if unknown."""
    v1 = tf.compat.v1
    initializer = tf.lookup.TextFileInitializer(
        filename,
        tf.string,
        tf.lookup.TextFileIndex.WHOLE_LINE,
        tf.int64,
        tf.lookup.TextFileIndex.LINE_NUMBER,
    )
    table = tf.lookup.StaticHashTable(initializer, -1)
    words = v1.placeholder(tf.string, [None], name="words")
    return {"words": words}, {"ids": table.lookup(words)}


def tf1_table_from_own_asset(dest: Path, secret: Path, target: Path) -> Path:
    """TF1 ``Builder`` model whose table reads its own ``assets/vocab.txt``: the asset tensor
    is in the ``saved_model_assets`` collection and ``main_op`` is ``tables_initializer()``."""
    vocab = _vocab_file(dest)

    def build(tf):
        # TextFileInitializer adds a string-constant file name to ASSET_FILEPATHS itself.
        inputs, outputs = _v1_table(tf, tf.constant(str(vocab), name="vocab_path"))
        return inputs, outputs, tf.compat.v1.tables_initializer()

    return _v1_model(dest, build, assets=True)


def table_from_constant_path(dest: Path, secret: Path, target: Path) -> Path:
    """TF1 model whose table is initialised from ``secret`` (a constant absolute path, not an
    asset) by its ``main_op``: the lookup would answer with the file's lines."""
    secret.write_text(VOCAB)

    def build(tf):
        v1 = tf.compat.v1
        inputs, outputs = _v1_table(tf, tf.constant(str(secret)))
        return inputs, outputs, v1.tables_initializer()

    return _v1_model(dest, build)


def tf2_table_from_own_asset(dest: Path, secret: Path, target: Path) -> Path:
    """``tf.saved_model.save`` of a ``tf.lookup.StaticHashTable`` from a
    ``TextFileInitializer``: the asset path is kept in a variable that the initializer
    function reads (``asset_path_initializer`` → ``AssignVariableOp`` → ``ReadVariableOp`` →
    ``StatefulPartitionedCall``)."""
    tf = _tf()
    vocab = _vocab_file(dest)

    class Lookup(tf.Module):
        def __init__(self):
            super().__init__()
            initializer = tf.lookup.TextFileInitializer(
                str(vocab),
                tf.string,
                tf.lookup.TextFileIndex.WHOLE_LINE,
                tf.int64,
                tf.lookup.TextFileIndex.LINE_NUMBER,
            )
            self.table = tf.lookup.StaticHashTable(initializer, -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def lookup(self, words):
            return {"ids": self.table.lookup(words)}

    module = Lookup()
    version = dest / "1"
    tf.saved_model.save(module, str(version), signatures={"serving_default": module.lookup})
    return version


def keras_string_lookup(dest: Path, secret: Path, target: Path) -> Path:
    """A Keras ``StringLookup`` layer with a vocabulary file, exported with ``model.export``."""
    tf = _tf()
    vocab = _vocab_file(dest)
    words = tf.keras.Input([None], dtype=tf.string, name="words")
    ids = tf.keras.layers.StringLookup(vocabulary=str(vocab), output_mode="int")(words)
    version = dest / "1"
    tf.keras.Model(words, ids).export(str(version), verbose=False)
    return version


def reader_from_request(dest: Path, secret: Path, target: Path) -> Path:
    """``serving_default`` reads the file whose name is the request's ``path`` input."""
    tf = _tf()

    class Reader(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="path")])
        def read(self, path):
            return {"contents": tf.io.read_file(path)}

    module = Reader()
    version = dest / "1"
    tf.saved_model.save(module, str(version), signatures={"serving_default": module.read})
    return version


#: tests/cases/loader_models.json's ``builder`` names.
BUILDERS: dict[str, Callable[[Path, Path, Path], Path]] = {
    f.__name__: f
    for f in (
        main_op_writes,
        legacy_init_op_writes,
        legacy_init_op_reads_path,
        restore_redirected,
        tf1_table_from_own_asset,
        table_from_constant_path,
        tf2_table_from_own_asset,
        keras_string_lookup,
        reader_from_request,
    )
}
