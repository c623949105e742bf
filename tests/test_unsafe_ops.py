"""Unsafe ops reachable from a signature are refused in every language unless allowed
(tests/CONTRACT.md, "Unsafe ops")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.consumers import CONSUMERS, ROOT, by_name, reference, with_reference

LANGUAGES = [c.name for c in CONSUMERS]
READ = b'{"signature_name": "read", "inputs": {"path": ["%s"]}}'


@pytest.fixture(scope="module")
def unsafe_model(tmp_path_factory) -> Path:
    """A bare SavedModel: ``serving_default`` (safe), ``read`` (ReadFile inside map_fn's
    while loop body) and ``printing`` (PrintV2 in a nested tf.function)."""
    from python_producer import tf_runtime

    tf = tf_runtime.tf()

    class Unsafe(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="path")])
        def read(self, path):
            return {"contents": tf.map_fn(tf.io.read_file, path)}

        @tf.function
        def _inner(self, x):
            tf.print("x is", x)
            return x * 2.0

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def printing(self, x):
            return {"y": self._inner(x)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def safe(self, x):
            return {"y": x + 1.0}

    module = Unsafe()
    path = tmp_path_factory.mktemp("unsafe") / "1"
    signatures = {"serving_default": module.safe, "read": module.read, "printing": module.printing}
    tf.saved_model.save(module, str(path), signatures=signatures)
    return path


def test_the_shared_lists_are_consistent():
    """tests/cases/unsafe_ops.json is the only list (Python reads it, Go generates it, Java packs
    it); its parts must agree with each other."""
    shared = json.loads((ROOT / "tests" / "cases" / "unsafe_ops.json").read_text())
    ops = set(shared["ops"])
    assert len(ops) == len(shared["ops"])
    assert {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PrintV2"} <= ops
    assert set(shared["file_inputs"]) <= ops
    assert not {"SaveV2", "MergeV2Checkpoints", "WriteFile"} & set(shared["file_inputs"])  # writes
    assert not set(shared["pure_ops"]) & ops


def _run(language: str, model: Path, body: bytes, *flags: str):
    return by_name(language).run(
        ["predict", "--model", str(model), "--skip-verification", *flags], stdin=body
    )


def test_refused_by_default_with_the_same_message_everywhere(unsafe_model):
    messages = {}
    for consumer in with_reference():
        done = _run(consumer.name, unsafe_model, b'{"instances": [1.0]}')
        assert done.returncode == 2, done.stderr.decode()
        line = done.stderr.decode().strip()
        assert "\n" not in line and line.startswith(f"{consumer.prog}: error: "), line
        messages[consumer.name] = line.removeprefix(f"{consumer.prog}: error: ")
    assert len(set(messages.values())) == 1, messages
    message = messages[reference().name]
    assert message.startswith('op PrintV2 (node "PrintV2" in function "__inference__inner_')
    assert message.endswith("pass --allow-op PrintV2 to accept it")


@pytest.mark.parametrize("language", LANGUAGES)
def test_allowing_one_op_names_the_next(language, unsafe_model):
    done = _run(language, unsafe_model, b'{"instances": [1.0]}', "--allow-op", "PrintV2")
    assert done.returncode == 2
    assert b'op ReadFile (node "map/while/ReadFile" in function "map_while_body' in done.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_allowed_ops_run(language, unsafe_model, tmp_path):
    secret = tmp_path / "note.txt"
    secret.write_text("read by the graph")
    body = READ % str(secret).encode()
    done = _run(language, unsafe_model, body, "--allow-op", "PrintV2", "--allow-op", "ReadFile")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {"outputs": ["read by the graph"]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_only_the_signature_that_runs_is_checked(language, unsafe_model):
    """bench runs one signature: the safe one loads without --allow-op."""
    done = by_name(language).run(
        ["bench", "--model", str(unsafe_model), "--skip-verification", "--signature",
         "serving_default", "--batch-sizes", "1", "--seconds", "0.01"]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["signature"] == "serving_default"


# --- the dataflow rule on hand-built graphs (tests/CONTRACT.md, "The dataflow rule") -------


def _graph(*nodes):
    """A GraphDef of ``(name, op, inputs, attrs)`` nodes; attrs maps names to AttrValue kwargs."""
    from tensorflow.core.framework import attr_value_pb2, graph_pb2

    graph = graph_pb2.GraphDef()
    for name, op, inputs, attrs in nodes:
        node = graph.node.add(name=name, op=op)
        node.input.extend(inputs)
        for key, value in attrs.items():
            node.attr[key].CopyFrom(attr_value_pb2.AttrValue(**value))
    return graph


def _string(value: bytes) -> dict:
    from tensorflow.core.framework import tensor_pb2

    return {"tensor": tensor_pb2.TensorProto(dtype=7, string_val=[value])}


def _refusal(graph, groups) -> str | None:
    from python_producer.reference.ops import refuse_unsafe
    from python_producer.reference.status import StatusError

    try:
        refuse_unsafe([(graph, groups)])
    except StatusError as exc:
        return str(exc)
    return None


def _restore_join(part: bytes, separator: bytes = b""):
    return _graph(
        ("prefix", "Placeholder", [], {}),
        ("part", "Const", [], {"value": _string(part)}),
        ("join", "StringJoin", ["prefix", "part"], {"separator": {"s": separator}}),
        ("restore", "RestoreV2", ["join", "names", "slices"], {}),
        ("all", "NoOp", ["^restore"], {}),
    )


def test_a_path_joined_from_the_prefix_stays_exempt_without_separators():
    from python_producer.reference.ops import RootGroup

    restore = [RootGroup("restore", ("all",), frozenset({"prefix:0"}))]
    assert _refusal(_restore_join(b"_temp"), restore) is None
    for graph in (_restore_join(b"/../../etc/passwd"), _restore_join(b"x", b"/")):
        assert "its file name (input 0)" in _refusal(graph, restore)
    # The same prefix is not fed at init: a restore reached from the init op is refused.
    both = [*restore, RootGroup("init", ("all",), frozenset())]
    assert "its file name (input 0)" in _refusal(_restore_join(b"_temp"), both)


def test_an_asset_variable_must_be_assigned_only_from_the_asset():
    from python_producer.reference.ops import RootGroup

    def graph(extra_assign: bool, shared_twice: bool):
        nodes = [
            ("asset", "Placeholder", [], {}),
            ("var", "VarHandleOp", [], {"shared_name": {"s": b"var"}}),
            ("assign", "AssignVariableOp", ["var", "asset"], {}),
            ("read", "ReadVariableOp", ["var", "^assign"], {}),
            ("init", "InitializeTableFromTextFileV2", ["table", "read"], {}),
        ]
        if extra_assign:
            nodes += [
                ("path", "Const", [], {"value": _string(b"/etc/passwd")}),
                ("assign2", "AssignVariableOp", ["var", "path"], {}),
            ]
        if shared_twice:
            nodes.append(("twin", "VarHandleOp", [], {"shared_name": {"s": b"var"}}))
        return _graph(*nodes)

    init = [RootGroup("init", ("init",), frozenset({"asset:0"}))]
    assert _refusal(graph(False, False), init) is None
    assert "its file name (input 1)" in _refusal(graph(True, False), init)
    assert "its file name (input 1)" in _refusal(graph(False, True), init)
    # Reached from a signature too: nothing is fed when a request runs.
    signature = [*init, RootGroup("signature", ("init",))]
    assert "its file name (input 1)" in _refusal(graph(False, False), signature)


def test_function_arguments_trace_through_calls_only():
    from tensorflow.core.framework import attr_value_pb2, function_pb2, op_def_pb2

    from python_producer.reference.ops import RootGroup

    def graph(op: str, attr: str):
        g = _graph(
            ("asset", "Placeholder", [], {}),
            ("call", op, ["asset"], {attr: {"func": attr_value_pb2.NameAttrList(name="body")}}),
        )
        body = function_pb2.FunctionDef(signature=op_def_pb2.OpDef(name="body"))
        body.signature.input_arg.add(name="path", type=7)
        body.node_def.add(name="read", op="ReadFile", input=["path"])
        g.library.function.append(body)
        return g

    init = [RootGroup("init", ("call",), frozenset({"asset:0"}))]
    assert _refusal(graph("StatefulPartitionedCall", "f"), init) is None
    assert _refusal(graph("While", "body"), init) == (
        'op ReadFile (node "read" in function "body") is not allowed: its file name (input 0) '
        "is not a path the loader feeds inside the version folder; pass --allow-op ReadFile to "
        "accept it"
    )
