"""Unsafe ops reachable from a signature are refused in every language unless allowed
(tests/CONTRACT.md, "Unsafe ops")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from python_producer.ops import FILE_INPUTS, PURE_OPS, UNSAFE_OPS
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


def test_embedded_lists_are_the_shared_lists():
    shared = json.loads((ROOT / "tests" / "cases" / "unsafe_ops.json").read_text())
    assert UNSAFE_OPS == frozenset(shared["ops"])
    assert {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PrintV2"} <= UNSAFE_OPS
    assert FILE_INPUTS == {op: tuple(indices) for op, indices in shared["file_inputs"].items()}
    assert PURE_OPS == frozenset(shared["pure_ops"])
    assert set(FILE_INPUTS) <= UNSAFE_OPS
    assert not {"SaveV2", "MergeV2Checkpoints", "WriteFile"} & set(FILE_INPUTS)  # writes: never


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
