"""The ``train`` command in Python, Go and Java (tests/CONTRACT.md, "Training").

The same run (data, order, steps, learning rate) must end with bit-identical variables and
byte-identical stdout in every language; resuming must continue exactly; the version a language
writes must be served identically by all three, by ``tf.saved_model.load`` and read by
``saved_model_cli``.  Every run trains a private copy of ``models/affine``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from python_producer import tf_runtime
from python_producer.producer.export import sha256_of
from python_producer.reference.status import EDGES, Code
from tests.conftest import latest
from tests.harness.consumers import FORMATS, ROOT, by_name, compared, names, reference
from tests.harness.parity import run_model
from tests.harness.training import private_copy, read_variables, same_bits, source_version, train

pytestmark = pytest.mark.slow

STEPS = 1000
LANGUAGES = names("train")
REFERENCE = reference().name
BAD_TRAIN = json.loads((ROOT / "tests" / "cases" / "bad_train.json").read_text())["cases"]


@pytest.fixture(scope="module")
def source() -> Path:
    found = source_version(latest("affine").parent.parent)
    if found is None:
        pytest.fail("models/affine has no version with a training section; run `make models`")
    return found


class _FullRuns(dict):
    """language -> the TrainRun of STEPS steps from the source version (checkpoint every 250),
    trained the first time a test asks for that language."""

    def __init__(self, source: Path, factory):
        super().__init__()
        self.source, self.factory = source, factory

    def __missing__(self, name: str):
        work = self.factory.mktemp(f"full-{name}")
        copy = private_copy(self.source, work)
        run = train(by_name(name), copy, work / "checkpoints", STEPS, "--checkpoint-every", "250")
        assert run.returncode == 0, run.explain()
        self[name] = run
        return run


@pytest.fixture(scope="module")
def full_runs(source, tmp_path_factory) -> _FullRuns:
    return _FullRuns(source, tmp_path_factory)


def _step_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("step: ")]


def test_python_reaches_the_true_function(full_runs, source):
    variables = full_runs[REFERENCE].variables
    start = read_variables(source / "variables" / "variables")
    assert int(variables["global_step"]) == int(start["global_step"]) + STEPS
    assert abs(float(variables["W"]) - 3.0) <= 1e-3, variables
    assert abs(float(variables["b"]) - 2.0) <= 1e-3, variables
    assert len(_step_lines(full_runs[REFERENCE].stdout)) == STEPS // 100


@pytest.mark.parametrize("language", compared("train"))
def test_same_run_same_bits_as_python(full_runs, language):
    run, reference = full_runs[language], full_runs[REFERENCE]
    assert run.stdout == reference.stdout
    assert same_bits(run.variables, reference.variables), (run.variables, reference.variables)
    assert run.steps_per_second > 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_checkpoints_every_k_steps_newest_five_kept(full_runs, language):
    tf = tf_runtime.tf()
    directory = full_runs[language].exported.parent.parent / "checkpoints"
    state = tf.train.get_checkpoint_state(str(directory))
    names = [Path(p).name for p in state.all_model_checkpoint_paths]
    start = int(full_runs[language].variables["global_step"]) - STEPS
    assert names == [f"ckpt-{start + k}" for k in (250, 500, 750, 1000)]
    assert Path(tf.train.latest_checkpoint(str(directory))).name == f"ckpt-{start + STEPS}"
    saved = read_variables(directory / f"ckpt-{start + STEPS}")
    assert same_bits(saved, full_runs[language].variables)


@pytest.mark.parametrize("language", LANGUAGES)
def test_resume_continues_exactly(full_runs, source, tmp_path, language):
    consumer = by_name(language)
    copy = private_copy(source, tmp_path)
    checkpoints = tmp_path / "checkpoints"
    first = train(consumer, copy, checkpoints, STEPS // 2)
    assert first.returncode == 0, first.explain()
    second = train(consumer, copy, checkpoints, STEPS // 2, "--resume")
    assert second.returncode == 0, second.explain()
    whole = full_runs[language]
    assert same_bits(second.variables, whole.variables)
    assert _step_lines(first.stdout) + _step_lines(second.stdout) == _step_lines(whole.stdout)
    manifest = json.loads((second.exported / "manifest.json").read_text())
    start = int(whole.variables["global_step"]) - STEPS
    assert manifest["training"]["run"]["resumed_from"] == f"ckpt-{start + STEPS // 2}"


def test_resume_across_languages(full_runs, source, tmp_path):
    """Each trainer resumes the previous one's checkpoint (the reference last): same bits as one
    run."""
    copy = private_copy(source, tmp_path)
    checkpoints = tmp_path / "checkpoints"
    run = None
    trainers = [*compared("train"), REFERENCE]
    share = STEPS // len(trainers)
    for i, name in enumerate(trainers):
        steps = STEPS - share * (len(trainers) - 1) if i == 0 else share
        run = train(by_name(name), copy, checkpoints, steps, *(("--resume",) if i else ()))
        assert run.returncode == 0, run.explain()
    assert same_bits(run.variables, full_runs[REFERENCE].variables)


@pytest.mark.parametrize("trainer", LANGUAGES)
def test_trained_version_is_complete(full_runs, source, trainer):
    version = full_runs[trainer].exported
    assert version.name == str(int(source.name) + 1)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["version"] == int(version.name)
    assert manifest["tensorflow_version"] == tf_runtime.PINNED_TF_VERSION
    on_disk = {p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    for rel, entry in manifest["files"].items():
        assert sha256_of(version / rel) == entry["sha256"], rel
        assert (version / rel).stat().st_size == entry["bytes"], rel
    assert (version / "saved_model.pb").read_bytes() == (source / "saved_model.pb").read_bytes()
    run = manifest["training"]["run"]
    assert run["language"] == trainer
    assert run["steps"] == STEPS and run["batch_size"] == 64 and run["learning_rate"] == "0.1"
    assert run["source_version"] == int(source.name) and run["resumed_from"] is None
    assert [d["rows"] for d in run["data"]] == [2048] * 4
    assert (
        manifest["signatures"] == json.loads((source / "manifest.json").read_text())["signatures"]
    )
    # The request/response pairs of the source; not its golden/commands.json (recorded by the
    # producer's export only: CONTRACT.md, "Model layout").
    assert sorted(p.name for p in (version / "golden").iterdir()) == sorted(
        p.name for p in (source / "golden").iterdir() if p.name != "commands.json"
    )
    assert (source / "golden" / "commands.json").is_file()
    tf = tf_runtime.tf()
    state = tf.train.get_checkpoint_state(str(version / "checkpoint"))
    kept = [Path(p).name for p in state.all_model_checkpoint_paths]
    assert kept == [f"ckpt-{run['global_step']}"]


@pytest.mark.parametrize("model_format", FORMATS)
@pytest.mark.parametrize("consumer_name", names())
@pytest.mark.parametrize("trainer", LANGUAGES)
def test_trained_version_served_identically(full_runs, trainer, consumer_name, model_format):
    """Every language answers the trainer's golden requests with the trainer's bits."""
    cells = run_model(by_name(consumer_name), full_runs[trainer].exported, model_format, {})
    assert cells, "no signature to check"
    for cell in cells:
        assert cell.cases > 0 and cell.ok and cell.identical == cell.cases, (cell, cell.failures)


@pytest.mark.parametrize("trainer", compared("train"))
def test_frozen_graphs_equal_pythons(full_runs, trainer):
    """The frozen GraphDefs a language rewrites are byte-identical to Python's."""
    reference = full_runs[REFERENCE].exported / "frozen"
    version = full_runs[trainer].exported / "frozen"
    graphs = sorted(p.name for p in reference.glob("*.pb"))
    assert graphs == sorted(p.name for p in version.glob("*.pb")) and graphs
    for name in graphs:
        assert (version / name).read_bytes() == (reference / name).read_bytes(), name
        # The text form is the same GraphDef (whitespace may differ between protobuf libraries).
        from google.protobuf import text_format
        from tensorflow.core.framework import graph_pb2

        parsed = text_format.Parse(
            (version / name).with_suffix(".pbtxt").read_text(), graph_pb2.GraphDef()
        )
        assert parsed.SerializeToString(deterministic=True) == (version / name).read_bytes()


@pytest.mark.parametrize("trainer", compared("train"))
def test_trained_version_loads_in_tf_saved_model_load(full_runs, trainer):
    tf = tf_runtime.tf()
    version = full_runs[trainer].exported
    loaded = tf.saved_model.load(str(version))
    got = {k: v.numpy() for k, v in loaded.signatures["get_variables"]().items()}
    assert same_bits(got, full_runs[trainer].variables)
    x = np.array([0.0, 1.0, -1.0, 2.5], np.float32)
    y = loaded.signatures["serving_default"](x=tf.constant(x))["y"].numpy()
    expected = json.loads((version / "golden" / "rows.response.json").read_text())["predictions"]
    assert y.tolist() == [float(np.float32(v)) for v in expected]
    cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
    assert cli, "saved_model_cli is missing from the virtual environment"
    done = subprocess.run(
        [cli, "show", "--dir", str(version), "--all"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for key in ("serving_default", "train_step", "get_variables"):
        assert f"signature_def['{key}']" in done.stdout


def _bad_case_ids():
    return [case["name"] for case in BAD_TRAIN]


@pytest.mark.parametrize("case", BAD_TRAIN, ids=_bad_case_ids())
@pytest.mark.parametrize("language", LANGUAGES)
def test_train_refusals(source, tmp_path, language, case):
    consumer = by_name(language)
    model = source if case.get("model", "affine") == "affine" else latest(case["model"])
    copy = private_copy(model, tmp_path / "models")
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, text in case.get("files", {}).items():
        (bad / name).write_text(text)
    checkpoints = tmp_path / "checkpoints"
    if case.get("prepare") == "previous_run":
        earlier = train(consumer, copy, checkpoints, 2)
        assert earlier.returncode == 0, earlier.explain()
    versions_before = sorted(p.name for p in copy.parent.iterdir())
    data = str(source / "data")
    args = [a.replace("{data}", data).replace("{bad}", str(bad)) for a in case["args"]]
    done = consumer.run(
        ["train", "--model", str(copy), "--checkpoint-dir", str(checkpoints), *args]
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == EDGES[Code[case["code"]]].exit_status, stderr
    assert done.code == case["code"], stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{consumer.prog}: error: "), stderr
    for text in case["message_has"]:
        assert text in lines[0], lines[0]
    assert sorted(p.name for p in copy.parent.iterdir()) == versions_before


def _messy(lines: list[str]) -> str:
    """The same rows in every layout the contract's CSV rules accept ("Data"): CRLF and LF line
    ends, ASCII white space around fields, blank lines, signs and other decimal spellings of the
    same float32 literal, and no end on the last line."""
    out = ["x ,\ty\r"]
    for i, line in enumerate(lines):
        x, y = line.split(",")
        x = f"+{x}" if i % 3 == 0 and not x.startswith("-") else x
        y = f"{y}e0" if i % 3 == 1 else y
        out.append(f" {x}\t, {y} " + ("\r" if i % 2 else ""))
        if i % 5 == 0:
            out.append(" \t\r")
    return "\n".join(out)


@pytest.mark.parametrize("language", LANGUAGES)
def test_csv_layouts_are_read_alike(source, tmp_path, language):
    """A shard written with CRLF, padding, blank lines and `+1`/`1e0` spellings trains to the
    same bits and stdout as the plain shard (tests/CONTRACT.md, "Data")."""
    consumer = by_name(language)
    shard = sorted((source / "data").glob("*.csv"))[0]
    rows = [line for line in shard.read_text().splitlines()[1:] if line]
    plain, messy = tmp_path / "plain", tmp_path / "messy"
    plain.mkdir()
    messy.mkdir()
    (plain / "a.csv").write_text("x,y\n" + "\n".join(rows) + "\n")
    (messy / "a.csv").write_bytes(_messy(rows).encode("utf-8"))
    runs = []
    for data in (plain, messy):
        copy = private_copy(source, tmp_path / data.name / "models")
        run = train(
            consumer, copy, tmp_path / data.name / "ckpt", 40, "--log-every", "10", data=data
        )
        assert run.returncode == 0, run.explain()
        runs.append(run)
    assert runs[1].stdout == runs[0].stdout
    assert same_bits(runs[1].variables, runs[0].variables)
