"""Bring your own model: models made elsewhere (tests/harness/import_sources.py) are imported
with ``python -m python_producer import`` and checked with ``make check MODELS=DIR`` in every
language and format (tests/CONTRACT.md, "Importing a model")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from python_producer.producer.export import file_hashes
from python_producer.reference.status import EDGES, Code
from tests.harness.cases import BAD_IMPORTS
from tests.harness.compare import ulp_distance
from tests.harness.consumers import reference
from tests.harness.import_sources import SOURCES, build_all

ROOT = Path(__file__).resolve().parents[1]
#: Signatures per imported model, and the ones without a frozen graph (with why).
SIGNATURES = {
    "lookup": {"serving_default"},
    "keras_two": {"serving_default", "serve"},
    "tf1_saver": {"serving_default"},
    "frozen_pb": {"serving_default"},
    "loop": {"serving_default"},
}
UNFROZEN = {
    "lookup": "convert_variables_to_constants_v2 left inputs that are not signature inputs",
    "loop": "convert_variables_to_constants_v2 failed",
}


def _producer(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "python_producer", *argv],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip


def _make_check(models: Path) -> subprocess.CompletedProcess:
    """``make check MODELS=DIR`` as a user runs it (outside any make that runs the tests)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "-s", "check", f"MODELS={models}"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1200,
    )  # fmt: skip


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    out = tmp_path_factory.mktemp("sources")
    return out, build_all(out)


@pytest.fixture(scope="module")
def imported(sources, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Every source imported into one models folder; ``(folder, {name: import stdout})``."""
    _, args = sources
    models = tmp_path_factory.mktemp("imported")
    printed = {}
    for name, source_args in args.items():
        done = _producer("import", "--name", name, "--models", str(models), *source_args)
        assert done.returncode == 0, f"import {name}: {done.stderr}"
        printed[name] = done.stdout
    return models, printed


def _rows(table: str) -> dict[tuple[str, str, str, str], str]:
    """``(model/version, signature, language, format) -> status`` of the parity table."""
    rows = {}
    for line in table.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and "/" in parts[0] and parts[3] in ("saved_model", "frozen"):
            rows[tuple(parts[:4])] = parts[5]
    return rows


def test_every_source_becomes_a_complete_version(imported):
    models, printed = imported
    for name, keys in SIGNATURES.items():
        version = models / name / "1"
        manifest = json.loads((version / "manifest.json").read_text())
        assert set(manifest["signatures"]) == keys
        assert manifest["tensorflow_version"] == "2.21.0"
        assert manifest["files"] == file_hashes(version)
        assert not list((models / name).glob(".tmp-*"))
        for key in keys:
            entry = manifest["signatures"][key]
            if name in UNFROZEN:
                assert "frozen" not in entry
                assert entry["frozen_unavailable"].startswith(UNFROZEN[name])
                assert f"signature {key}: no frozen graph ({UNFROZEN[name]}" in printed[name]
            else:
                assert (version / entry["frozen"]["graph"]).is_file()
                assert f"signature {key}: frozen/{key}.pb;" in printed[name]
        cases = [p.name for p in (version / "golden").glob("*.request.json")]
        assert cases, name


def test_generated_requests_cover_batches_and_edges(imported):
    models, _ = imported
    golden = models / "tf1_saver" / "1" / "golden"
    names = sorted(p.name.removesuffix(".request.json") for p in golden.glob("*.request.json"))
    assert names == [
        "generated_serving_default_batch_1",
        "generated_serving_default_batch_4",
        "generated_serving_default_edges",
    ]
    edges = json.loads((golden / "generated_serving_default_edges.request.json").read_text())
    x = [v for row in edges["inputs"]["x_sample"] for v in row]
    assert {5e-324, 2.2250738585072014e-308, 1.7976931348623157e308} <= set(x)
    text = (golden / "generated_serving_default_edges.request.json").read_text()
    assert "-0.0" in text and "-5e-324" in text
    batch = json.loads((golden / "generated_serving_default_batch_4.request.json").read_text())
    assert len(batch["inputs"]["x_sample"]) == 4 and len(batch["inputs"]["x_sample"][0]) == 3


def test_user_requests_become_the_golden_cases(imported):
    models, _ = imported
    golden = models / "lookup" / "1" / "golden"
    assert [p.name for p in golden.glob("*.request.json")] == ["lookup_words.request.json"]
    response = json.loads((golden / "lookup_words.response.json").read_text())
    assert response == {"predictions": [1, -1, 0, 2]}


def test_make_check_passes_on_the_imported_models(imported):
    models, _ = imported
    done = _make_check(models)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    rows = _rows(done.stdout)
    expected = {
        (f"{name}/1", key, language, model_format)
        for name, keys in SIGNATURES.items() for key in keys
        for language in ("python", "go", "java") for model_format in ("saved_model", "frozen")
    }  # fmt: skip
    assert set(rows) == expected
    for (model, _key, _, model_format), status in rows.items():
        name = model.split("/")[0]
        if model_format == "frozen" and name in UNFROZEN:
            assert status.startswith(f"not available: {UNFROZEN[name]}"), status
        else:
            assert status.startswith("ok (") and "bit-identical" in status, status
            assert "FAIL" not in status
    na = sum(1 for name in UNFROZEN for _ in SIGNATURES[name]) * 3
    assert f"{len(expected)} cells, 0 failures, {na} not available" in done.stdout


def _change_first_number(path: Path) -> tuple[str, str]:
    """Change the last digit of the response's first number; return (old, new) literal."""
    text = path.read_text()
    start = text.index("[") + 1
    while not text[start].isdigit():
        start += 1
    end = start
    while end < len(text) and (text[end].isdigit() or text[end] in ".e-+"):
        end += 1
    last = end - 1
    while not text[last].isdigit():
        last -= 1
    digit = "1" if text[last] != "1" else "2"
    changed = text[:last] + digit + text[last + 1 :]
    path.write_text(changed)
    return text[start:end], changed[start:end]


def test_a_changed_golden_byte_fails_the_check(imported, tmp_path):
    """A golden response changed (and re-hashed, as a mistaken re-export would) fails the check
    naming model, version, signature, case, language, format and the first differing element
    with both values and the ULP distance; changed without re-hashing, every consumer refuses
    the version's files, naming the file."""
    models, _ = imported
    rehashed = tmp_path / "rehashed"
    shutil.copytree(models / "frozen_pb", rehashed / "frozen_pb")
    version = rehashed / "frozen_pb" / "1"
    case = "generated_serving_default_batch_4"
    old, new = _change_first_number(version / "golden" / f"{case}.response.json")
    got, want = np.float32(old), np.float32(new)
    ulp = ulp_distance(np.array([got]), np.array([want]))
    assert ulp > 0
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"] = file_hashes(version)
    (version / "manifest.json").write_text(json.dumps(manifest, indent=2))
    done = _make_check(rehashed)
    assert done.returncode != 0
    for language in ("python", "go", "java"):
        for model_format in ("saved_model", "frozen"):
            header = f"{language} consuming frozen_pb/1 serving_default ({model_format}):"
            assert header in done.stdout, done.stdout[-3000:]
            block = done.stdout.split(header, 1)[1].split("\n\n", 1)[0]
            assert (
                f"- {case}: scores: max {ulp:g} ULP; first difference at [0, 0]: "
                f"got {got!s}, want {want!s} ({ulp:g} ULP)"
            ) in block
    assert "6 failures" in done.stdout

    tampered = tmp_path / "tampered"
    shutil.copytree(models / "frozen_pb", tampered / "frozen_pb")
    _change_first_number(tampered / "frozen_pb" / "1" / "golden" / f"{case}.response.json")
    done = _make_check(tampered)
    assert done.returncode != 0
    assert f"golden/{case}.response.json: SHA-256" in done.stdout


def test_tolerances_beside_the_models_are_strict(imported, tmp_path):
    """DIR/tolerances.json grants a cell a tolerance; a granted cell that is bit-identical
    fails the check as STALE."""
    models, _ = imported
    shutil.copytree(models / "frozen_pb", tmp_path / "frozen_pb")
    (tmp_path / "tolerances.json").write_text(json.dumps({
        "frozen_pb/serving_default": {"max_ulp": 4, "cells": ["go/frozen"], "why": "a test"}
    }))  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tests.harness.parity", "--models", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    assert (
        "STALE tolerance" in _rows(done.stdout)[("frozen_pb/1", "serving_default", "go", "frozen")]
    )


def _fill(arg: str, src: Path, tmp: Path) -> str:
    return arg.replace("<SRC>", str(src)).replace("<TMP>", str(tmp))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("scratch")
    (tmp / "notes.txt").write_text("not a model\n")
    (tmp / "garbage.pb").write_bytes(b"\xff\xfe not a protocol buffer \x00\x01")
    (tmp / "garbage.keras").write_bytes(b"PK not really a zip")
    (tmp / "wrong_dtype.json").write_text('{"instances": [1, 2]}\n')
    return tmp


@pytest.mark.parametrize("case", BAD_IMPORTS, ids=lambda c: c["id"])
def test_import_refusals_are_one_line_with_their_code(case, sources, scratch, tmp_path):
    src, _ = sources
    models = tmp_path / "models"
    argv = [_fill(a, src, scratch) for a in case["argv"]]
    done = reference().run(["import", "--models", str(models), *argv])
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == EDGES[Code[case["code"]]].exit_status, stderr
    assert done.code == case["code"], stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("python_producer: error: ")
    assert _fill(case["message"], src, scratch) in lines[0]
    assert done.stdout == b""
    published = [p for p in models.rglob("*") if p.is_dir()] if models.exists() else []
    assert all(not p.name.isdigit() and not p.name.startswith(".tmp-") for p in published)


def test_every_source_builder_is_imported():
    assert set(SOURCES) == set(SIGNATURES)


def test_frozen_format_of_a_signature_without_one_says_why(consumer, imported):
    """``--format frozen`` on a signature the manifest records as unfrozen is refused with the
    manifest's reason, in every consumer (tests/CONTRACT.md, "manifest.json")."""
    models, _ = imported
    version = models / "lookup" / "1"
    manifest = json.loads((version / "manifest.json").read_text())
    reason = manifest["signatures"]["serving_default"]["frozen_unavailable"]
    done = consumer.run(
        ["predict", "--model", str(version), "--format", "frozen"], b'{"instances": ["apple"]}'
    )
    assert done.returncode == 2
    assert done.stderr.decode() == (
        f'{consumer.prog}: error: signature "serving_default" has no frozen graph ({reason}); '
        "use --format saved_model\n"
    )
