"""`inspect` prints the recorded bytes in every consumer, and agrees with saved_model_cli.

The expected text and JSON of every zoo model were recorded at export in golden/commands.json
(tests/harness/commands.py); each consumer is compared with that recording, not with another
process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from python_producer.producer.models import ZOO
from tests.conftest import latest
from tests.harness.commands import recorded
from tests.harness.consumers import CONSUMERS, by_name, reference

LANGUAGES = [c.name for c in CONSUMERS]


def _inspect(language: str, model: Path, *extra: str) -> str:
    done = by_name(language).run(["inspect", "--model", str(model), *extra])
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode("utf-8")


@pytest.mark.parametrize("model", sorted(ZOO))
@pytest.mark.parametrize("language", LANGUAGES)
def test_text_identical_to_recorded(language, model):
    """Through the model folder (its highest version is the recorded one)."""
    command = recorded(latest(model))["inspect"]
    done = command.run(by_name(language), model_arg=latest(model).parent)
    assert done.returncode == command.status == 0, done.stderr.decode()
    assert done.stdout.decode("utf-8") == command.expected_stdout().decode("utf-8")


@pytest.mark.parametrize("model", sorted(ZOO))
@pytest.mark.parametrize("language", LANGUAGES)
def test_json_identical_to_recorded(language, model):
    command = recorded(latest(model))["inspect_json"]
    done = command.run(by_name(language))
    assert done.returncode == command.status == 0, done.stderr.decode()
    assert json.loads(done.stdout) == json.loads(command.expected_stdout())


def test_json_content(linear_dir):
    doc = json.loads(_inspect(reference().name, linear_dir, "--json"))
    assert doc["tensorflow_runtime"] == "2.21.0"
    assert doc["producer_tensorflow_version"] == "2.21.0"
    assert doc["version"] == int(linear_dir.name)
    (meta_graph,) = doc["meta_graphs"]
    assert meta_graph["tags"] == ["serve"]
    sig = meta_graph["signatures"]["serving_default"]
    assert sig["inputs"]["x"]["dtype"] == "DT_DOUBLE"
    assert sig["inputs"]["x"]["shape"] == [-1, -1]
    assert sig["outputs"]["y"]["shape"] == [-1, -1]
    assert sig["frozen_graph"] == "frozen/serving_default.pb"


@pytest.fixture(scope="module")
def saved_model_cli_shows() -> dict[str, str]:
    """model -> ``saved_model_cli show --dir <latest version> --all``, all models at once (one
    process each, started together: each pays TensorFlow's import)."""
    cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
    assert cli, "saved_model_cli is missing from the virtual environment"
    running = {
        model: subprocess.Popen(
            [cli, "show", "--dir", str(latest(model)), "--all"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for model in sorted(ZOO)
    }
    shows = {}
    for model, process in running.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"saved_model_cli on {model}: {err[-2000:]}"
        shows[model] = out
    return shows


@pytest.mark.parametrize("model", sorted(ZOO))
def test_signature_blocks_match_saved_model_cli(model, saved_model_cli_shows):
    version_dir = latest(model)
    shown = saved_model_cli_shows[model]
    ours = recorded(version_dir)["inspect"].expected_stdout().decode("utf-8")
    manifest = json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))
    train_step = manifest.get("training", {}).get("train_signature")
    blocks = ours.split("signature_def[")[1:]
    assert len(blocks) == ours.count("  Frozen graph: ") >= 1
    for block in blocks:
        body = "signature_def[" + block[: block.index("  Frozen graph:")]
        assert body in shown, body
        frozen = block[block.index("  Frozen graph: ") :].split("\n")[0]
        key = block[1 : block.index("'", 1)]
        # Internal signatures and a train step (it updates variables) have no frozen graph.
        want = "none" if key.startswith("__") or key == train_step else f"frozen/{key}.pb"
        assert frozen == f"  Frozen graph: {want}", block
