"""The exported linear model: layout, manifest, weights, determinism, frozen graph, summaries,
checkpoint, and the atomic publish that consumers rely on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from python_producer import tf_runtime
from python_producer.producer.export import ExportWriter, sha256_of
from python_producer.producer.models import linear
from tests.harness.consumers import CONSUMERS, by_name


def test_manifest_lists_and_hashes_every_file(linear_dir):
    manifest = json.loads((linear_dir / "manifest.json").read_text())
    assert manifest["model_name"] == "linear"
    assert manifest["version"] == int(linear_dir.name)
    assert manifest["tensorflow_version"] == tf_runtime.PINNED_TF_VERSION
    on_disk = {p.relative_to(linear_dir).as_posix() for p in linear_dir.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for rel, entry in manifest["files"].items():
        assert sha256_of(linear_dir / rel) == entry["sha256"], rel
        assert (linear_dir / rel).stat().st_size == entry["bytes"], rel
    sig = manifest["signatures"]["serving_default"]
    assert sig["saved_model"]["inputs"]["x"] == {
        "name": "serving_default_x:0",
        "dtype": "DT_DOUBLE",
        "shape": [-1, -1],
    }
    assert sig["frozen"]["inputs"]["x"]["dtype"] == "DT_DOUBLE"
    assert sig["frozen"]["outputs"]["y"]["shape"] == [-1, -1]


def test_layout(linear_dir):
    for rel in [
        "saved_model.pb",
        "variables/variables.index",
        "frozen/serving_default.pb",
        "frozen/serving_default.pbtxt",
        "checkpoint/checkpoint",
        "golden",
    ]:
        assert (linear_dir / rel).exists(), rel
    assert list((linear_dir / "summaries").glob("events.out.tfevents.*"))
    assert not list(linear_dir.parent.glob(".tmp-*")), "staging folder left behind"


def test_weights_close_to_truth_and_checkpoint_matches_saved_model(linear_dir):
    tf = tf_runtime.tf()
    reader = tf.train.load_checkpoint(str(linear_dir / "checkpoint"))
    names = {n.split("/")[0]: n for n in reader.get_variable_to_shape_map() if "OPTIMIZER" not in n}
    slope = reader.get_tensor(names["slope"])
    intercept = reader.get_tensor(names["intercept"])
    assert abs(slope - linear.TRUE_SLOPE) < 0.01
    assert abs(intercept - linear.TRUE_INTERCEPT) < 0.01
    loaded = tf.saved_model.load(str(linear_dir))
    assert loaded.slope.numpy().tobytes() == np.float64(slope).tobytes()
    assert loaded.intercept.numpy().tobytes() == np.float64(intercept).tobytes()


def test_seed_example_predictions_near_truth(linear_dir):
    response = (linear_dir / "golden" / "one_to_four_columnar.response.json").read_text()
    (row,) = json.loads(response)["outputs"]
    assert np.allclose(row, [1.5 * x - 3 for x in (1, 2, 3, 4)], atol=0.02)


def test_training_twice_gives_the_same_bits():
    config = linear.LinearConfig()
    results = []
    for _ in range(2):
        module = linear.build_module()
        linear.train(module, config, log=lambda _: None)
        results.append((module.slope.numpy().tobytes(), module.intercept.numpy().tobytes()))
    assert results[0] == results[1]


def test_frozen_graph_has_no_variables_and_pbtxt_matches_pb(linear_dir):
    tf = tf_runtime.tf()
    from google.protobuf import text_format

    binary = tf.compat.v1.GraphDef.FromString(
        (linear_dir / "frozen/serving_default.pb").read_bytes()
    )
    text = text_format.Parse(
        (linear_dir / "frozen/serving_default.pbtxt").read_text(), tf.compat.v1.GraphDef()
    )
    assert binary == text
    ops = {node.op for node in binary.node}
    assert not ops & {"VarHandleOp", "ReadVariableOp", "VariableV2"}, ops
    assert "Const" in ops


def test_summaries_hold_loss_slope_intercept_per_step(linear_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(linear_dir / "summaries"), size_guidance={"tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"loss", "slope", "intercept"} <= tags
    steps = [e.step for e in events.Tensors("loss")]
    assert steps == list(range(linear.LinearConfig().epochs))
    losses = [float(tf_runtime.tf().make_ndarray(e.tensor_proto)) for e in events.Tensors("loss")]
    assert losses[-1] < losses[0] / 1000


def test_failed_export_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), ExportWriter(tmp_path, "broken") as writer:
        (writer.path / "saved_model.pb").write_bytes(b"partial")
        raise RuntimeError("killed halfway")
    assert list((tmp_path / "broken").iterdir()) == []


@pytest.mark.parametrize("language", [c.name for c in CONSUMERS])
def test_consumers_ignore_staging_folders(language, linear_dir, tmp_path):
    root = tmp_path / "linear"
    shutil.copytree(linear_dir, root / "3")
    shutil.copytree(linear_dir, root / ".tmp-9-12345")  # a half-written newer version
    (root / "10").mkdir()  # a folder with no SavedModel in it yet
    done = by_name(language).run(["inspect", "--model", str(root), "--json"])
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["version"] == 3
