"""Every model of the zoo is exported completely (SavedModel, frozen graph per signature,
checkpoint, TensorBoard events, golden files, manifest), and each model's own promises hold:
sine's TFRecords and plot, digits' accuracy, charlm's generate.  Plus a SavedModel that nobody
prepared for this project (no manifest, no sidecars) works in every consumer unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from python_producer import tf_runtime
from python_producer.producer.export import sha256_of
from python_producer.producer.models import ZOO
from tests.conftest import latest
from tests.harness.compare import compare_bodies
from tests.harness.consumers import CONSUMERS, by_name
from tests.harness.parity import signatures_in

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("model", sorted(ZOO))
def test_complete_export(model):
    version_dir = latest(model)
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert manifest["model_name"] == model
    assert manifest["tensorflow_version"] == tf_runtime.PINNED_TF_VERSION
    on_disk = {p.relative_to(version_dir).as_posix() for p in version_dir.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for rel, entry in manifest["files"].items():
        assert sha256_of(version_dir / rel) == entry["sha256"], rel
    for rel in ["saved_model.pb", "variables/variables.index", "checkpoint/checkpoint"]:
        assert (version_dir / rel).is_file(), rel
    assert list((version_dir / "summaries").rglob("events.out.tfevents.*")), "no TensorBoard events"
    keys = signatures_in(version_dir, "saved_model")
    assert keys == signatures_in(version_dir, "frozen"), "a signature has no frozen graph"
    for key in keys:
        assert (version_dir / "frozen" / f"{key}.pb").is_file()
        assert (version_dir / "frozen" / f"{key}.pbtxt").is_file()


def test_sine_reads_sharded_tfrecords_and_plots():
    version_dir = latest("sine")
    train = sorted((version_dir / "data" / "train").glob("*.tfrecord"))
    validation = sorted((version_dir / "data" / "validation").glob("*.tfrecord"))
    assert len(train) >= 2 and len(validation) >= 2
    tf = tf_runtime.tf()
    count = sum(1 for _ in tf.data.TFRecordDataset([str(p) for p in validation]))
    assert count == 2048
    plot = version_dir / "plots" / "predictions.png"
    assert plot.read_bytes()[:8] == PNG_MAGIC
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(version_dir / "summaries")).Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["scalars"])
    assert {"train/loss", "validation/mse", "validation/mae"} <= tags


def test_sine_fits_the_biased_sine():
    from python_producer.reference.predictor import Predictor

    predictor = Predictor(latest("sine"))
    x = np.linspace(-6, 6, 49)
    body = json.dumps({"instances": [[float(v)] for v in x]})
    y = np.array(json.loads(predictor.predict(body))["predictions"]).ravel()
    predictor.close()
    assert np.max(np.abs(y - (np.sin(x) + 0.5))) < 0.15


def test_digits_test_accuracy_at_least_95_percent():
    metrics = json.loads((latest("digits") / "metrics.json").read_text())
    assert metrics["test_images"] == 360
    assert metrics["test_accuracy"] >= 0.95


def test_linear_reproduces_the_example_check():
    from python_producer.reference.predictor import Predictor

    predictor = Predictor(latest("linear"))
    answer = json.loads(predictor.predict('{"instances": [[1.0], [2.0], [3.0], [4.0]]}'))
    predictor.close()
    got = np.array(answer["predictions"]).ravel()
    assert np.allclose(got, 1.5 * np.array([1, 2, 3, 4]) - 3, atol=0.02)


@pytest.fixture(scope="module")
def bare_saved_model(tmp_path_factory):
    """A SavedModel written by plain tf.saved_model.save: no manifest, no golden, no frozen."""
    tf = tf_runtime.tf()
    path = tmp_path_factory.mktemp("bare") / "1"

    class Bare(tf.Module):
        def __init__(self):
            self.scale = tf.Variable([2.0, -1.0], dtype=tf.float32)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None, 2], tf.float32, name="values"),
                tf.TensorSpec([None], tf.int64, name="ids"),
            ]
        )
        def serve(self, values, ids):
            return {"scaled": values * self.scale, "next_id": ids + 1}

    module = Bare()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@pytest.mark.parametrize("language", [c.name for c in CONSUMERS])
def test_bare_saved_model_works_unchanged(language, bare_saved_model):
    """A SavedModel with no manifest is refused unless the user skips verification knowingly;
    then it is served unchanged (tests/CONTRACT.md, "Verifying a model version")."""
    from python_producer.reference.tfjson import TensorSpec

    request = b'{"instances": [{"values": [1.5, 0.1], "ids": 9007199254740993}]}'
    refused = by_name(language).run(["predict", "--model", str(bare_saved_model)], stdin=request)
    assert refused.returncode == 2
    assert b"has no manifest.json to verify; pass --skip-verification" in refused.stderr
    done = by_name(language).run(
        ["predict", "--model", str(bare_saved_model), "--skip-verification"], stdin=request
    )
    assert done.returncode == 0, done.stderr.decode()
    specs = {
        "scaled": TensorSpec("scaled", "", "DT_FLOAT", (-1, 2)),
        "next_id": TensorSpec("next_id", "", "DT_INT64", (-1,)),
    }
    expected = b'{"predictions": [{"next_id": 9007199254740994, "scaled": [3.0, -0.1]}]}'
    assert compare_bodies(done.stdout, expected, specs).identical, done.stdout
    shown = by_name(language).run(["inspect", "--model", str(bare_saved_model)])
    assert shown.returncode == 0, shown.stderr.decode()
    assert b"Frozen graph: none" in shown.stdout
    frozen = by_name(language).run(
        ["predict", "--model", str(bare_saved_model), "--format", "frozen", "--skip-verification"],
        stdin=request,
    )
    assert frozen.returncode == 2
    assert b"manifest" in frozen.stderr
