"""Model folders that once broke one consumer but not the others (tests/CONTRACT.md, "Model
layout" and "Errors"): version folders with leading zeros, a SignatureDef dtype that is no
DataType."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tensorflow.core.protobuf import saved_model_pb2

from tests.conftest import latest
from tests.harness.consumers import with_reference

CONSUMERS = with_reference()
BODY = b'{"instances": [[1.0], [2.0]]}'


@pytest.fixture(scope="module")
def zero_padded(tmp_path_factory) -> Path:
    """``linear/007`` (a copy of linear's latest version) alone, and ``both/07`` beside
    ``both/7`` (a copy of sine's latest: a different model, so the answer shows which folder
    answered)."""
    root = tmp_path_factory.mktemp("padded")
    shutil.copytree(latest("linear"), root / "linear" / "007")
    shutil.copytree(latest("linear"), root / "both" / "07")
    shutil.copytree(latest("sine"), root / "both" / "7")
    return root


def _predictions(consumer, *args: str) -> list:
    done = consumer.run(["predict", *args, "--skip-verification"], stdin=BODY)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)["predictions"]


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_leading_zeros_name_the_version_of_their_value(consumer, zero_padded):
    expected = _predictions(consumer, "--model", str(latest("linear")))
    padded = zero_padded / "linear"
    assert _predictions(consumer, "--model", str(padded)) == expected
    assert _predictions(consumer, "--model", str(padded), "--version", "7") == expected
    assert _predictions(consumer, "--model", str(padded / "007"), "--version", "7") == expected


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_the_canonical_spelling_wins(consumer, zero_padded):
    sine = _predictions(consumer, "--model", str(latest("sine")))
    assert _predictions(consumer, "--model", str(zero_padded / "both")) == sine
    assert _predictions(consumer, "--model", str(zero_padded / "both"), "--version", "7") == sine


@pytest.fixture(scope="module")
def bad_dtype(tmp_path_factory) -> Path:
    """linear's latest version with ``serving_default``'s input ``x`` given dtype 12345."""
    version = tmp_path_factory.mktemp("bad_dtype") / "1"
    shutil.copytree(latest("linear"), version)
    pb = version / "saved_model.pb"
    model = saved_model_pb2.SavedModel()
    model.ParseFromString(pb.read_bytes())
    model.meta_graphs[0].signature_def["serving_default"].inputs["x"].dtype = 12345
    pb.write_bytes(model.SerializeToString())
    return version


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
@pytest.mark.parametrize("command", ["predict", "inspect"])
def test_an_invalid_dtype_enum_is_an_invalid_model(consumer, command, bad_dtype):
    done = consumer.run(
        [command, "--model", str(bad_dtype), "--skip-verification"]
        if command == "predict"
        else [command, "--model", str(bad_dtype)],
        stdin=BODY,
    )
    assert done.returncode == 2, done.stderr.decode()
    assert done.stderr.decode().strip() == (
        f'{consumer.prog}: error: signature "serving_default" input "x" has dtype 12345, '
        "which is not a TensorFlow DataType this consumer handles"
    )
