"""What TensorFlow's loader runs is scanned too, and file ops are exempt only by dataflow
(tests/CONTRACT.md, "Unsafe ops"): every case of tests/cases/loader_models.json in every
language, and the manifest covering assets."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from python_producer.producer.export import file_hashes
from tests.harness.consumers import ROOT, with_reference
from tests.harness.loader_models import BUILDERS

CASES = json.loads((ROOT / "tests" / "cases" / "loader_models.json").read_text())["cases"]
CONSUMERS = with_reference()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, Path, Path]]:
    """Every case's model, built once: id -> (version folder, secret file, target path)."""
    root = tmp_path_factory.mktemp("loader_models")
    models = {}
    for case in CASES:
        dest = root / case["id"]
        dest.mkdir()
        secret, target = root / f"{case['id']}.secret", root / f"{case['id']}.target"
        secret.write_text("not for the model\n")
        models[case["id"]] = (BUILDERS[case["builder"]](dest, secret, target), secret, target)
    return models


def _body(case: dict, secret: Path) -> bytes:
    return json.dumps(case["request"]).replace("@secret", str(secret)).encode()


def _refusal_pattern(refusal: str) -> re.Pattern:
    return re.compile(re.escape(refusal).replace(re.escape("<FUNCTION>"), r"[A-Za-z0-9_.]+"))


def test_every_builder_has_a_case():
    assert sorted(c["builder"] for c in CASES) == sorted(BUILDERS)
    assert all(("refusal" in c) != ("response" in c) for c in CASES)


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_loader_case(consumer, case, built):
    version, secret, target = built[case["id"]]
    done = consumer.run(
        ["predict", "--model", str(version), "--skip-verification"], stdin=_body(case, secret)
    )
    stderr = done.stderr.decode()
    assert not target.exists(), f"{consumer.name} let the model write {target}"
    if "refusal" in case:
        assert done.returncode == 2, stderr
        line = stderr.strip()
        prefix = f"{consumer.prog}: error: "
        assert line.startswith(prefix) and "\n" not in line, stderr
        assert _refusal_pattern(case["refusal"]).fullmatch(line.removeprefix(prefix)), line
        assert secret.read_text() not in done.stdout.decode()
    else:
        assert done.returncode == 0, stderr
        assert json.loads(done.stdout) == case["response"]


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_allow_op_still_accepts_a_refused_file_op(consumer, built):
    """``--allow-op`` remains the knowing escape: the constant-path table then loads."""
    version, secret, _ = built["table_from_constant_path"]
    done = consumer.run(
        ["predict", "--model", str(version), "--skip-verification",
         "--allow-op", "InitializeTableFromTextFileV2"],
        stdin=b'{"instances": ["banana", "kiwi"]}',
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {"predictions": [1, -1]}


@pytest.fixture(scope="module")
def verified_asset_model(built, tmp_path_factory) -> Path:
    """The TF2 table model with a manifest listing every file, its vocabulary asset too."""
    version = tmp_path_factory.mktemp("verified") / "1"
    shutil.copytree(built["tf2_table_from_own_asset"][0], version)
    manifest = {"manifest_version": 1, "files": file_hashes(version)}
    (version / "manifest.json").write_text(json.dumps(manifest))
    assert "assets/vocab.txt" in manifest["files"]
    return version


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_assets_are_verified(consumer, verified_asset_model, tmp_path):
    """An asset read at load reads exactly the bytes the manifest lists: a changed or an extra
    asset file is refused before loading."""
    body = b'{"instances": ["banana"]}'
    done = consumer.run(["predict", "--model", str(verified_asset_model)], stdin=body)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {"predictions": [1]}

    changed = tmp_path / "changed" / "1"
    shutil.copytree(verified_asset_model, changed)
    (changed / "assets" / "vocab.txt").write_text("banana\napple\ncherry\n")
    done = consumer.run(["predict", "--model", str(changed)], stdin=body)
    assert done.returncode == 2
    assert b"assets/vocab.txt: SHA-256 " in done.stderr, done.stderr

    extra = tmp_path / "extra" / "1"
    shutil.copytree(verified_asset_model, extra)
    (extra / "assets.extra").mkdir()
    (extra / "assets.extra" / "warmup").write_text("x")
    done = consumer.run(["predict", "--model", str(extra)], stdin=body)
    assert done.returncode == 2
    assert b"assets.extra/warmup: not listed in manifest.json" in done.stderr, done.stderr
