"""Bad model files are refused cleanly in every language (tests/CONTRACT.md, "Verifying a model
version before loading it"): damaged files, missing and unlisted files, no manifest; and the
producer's atomic export survives being killed at any moment."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import latest
from tests.harness.consumers import CONSUMERS, ROOT, by_name, reference, with_reference
from tests.harness.corruption import FLIPS_PER_FILE, Variant, make_variants

LANGUAGES = [c.name for c in CONSUMERS]
REQUEST = "golden/seed_example_rows.request.json"


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> list[Variant]:
    return make_variants(latest("linear"), tmp_path_factory.mktemp("corrupt"))


def _outcomes(language: str, variants: list[Variant], *flags: str) -> dict[str, tuple[int, str]]:
    """variant name -> (exit status, stderr) of ``predict`` on it in ``language``."""
    request = latest("linear") / REQUEST
    consumer = by_name(language)
    out = {}
    for v in variants:
        done = consumer.run(
            ["predict", "--model", str(v.path), "--format", v.model_format, *flags],
            stdin=request.read_bytes(),
        )
        out[v.name] = (done.returncode, done.stderr.decode("utf-8", "replace"))
    return out


def test_at_least_100_variants(variants):
    assert len(variants) >= 100
    assert {v.target for v in variants} >= {"saved_model.pb", "manifest.json"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_damaged_files_are_refused_naming_the_file(language, variants):
    prog = by_name(language).prog
    outcomes = _outcomes(language, variants)
    for v in variants:
        status, stderr = outcomes[v.name]
        lines = stderr.strip().splitlines()
        if v.target == "manifest.json" and status == 0:
            # A flip inside a value that nothing checks (such as the "created" time) leaves
            # every listed file and hash intact: the model is still the producer's.
            continue
        assert status == 2, (v.name, status, stderr)
        assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), (v.name, stderr)
        if v.target != "manifest.json":
            assert v.target in lines[0], (v.name, lines[0])
    refused = sum(1 for v in variants if outcomes[v.name][0] == 2)
    assert refused >= len(variants) - FLIPS_PER_FILE, refused


@pytest.mark.parametrize("language", LANGUAGES)
def test_damaged_files_never_crash_without_verification(language, variants):
    """With --skip-verification TensorFlow sees the damage itself: a clean answer, refusal or
    error every time (exit 0, 1 or 2, at most one stderr line), never a signal."""
    prog = by_name(language).prog
    outcomes = _outcomes(language, variants, "--skip-verification")
    for v in variants:
        status, stderr = outcomes[v.name]
        assert status in (0, 1, 2), (v.name, status, stderr[-2000:])
        lines = stderr.strip().splitlines()
        assert status == 0 or (len(lines) == 1 and lines[0].startswith(f"{prog}: error: ")), (
            v.name,
            stderr[-2000:],
        )


def _copy(tmp_path: Path) -> Path:
    version = tmp_path / "linear" / "1"
    shutil.copytree(latest("linear"), version)
    return version


DAMAGES = {
    "flipped": lambda v: _flip(v / "variables" / "variables.data-00000-of-00001"),
    "truncated": lambda v: _truncate(v / "saved_model.pb", 7),
    "missing": lambda v: (v / "frozen" / "serving_default.pbtxt").unlink(),
    "unlisted": lambda v: (v / "variables" / "extra.bin").write_bytes(b"planted"),
    "no_manifest": lambda v: (v / "manifest.json").unlink(),
}  # fmt: skip


def _truncate(path: Path, n: int) -> None:
    path.write_bytes(path.read_bytes()[:-n])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_same_refusal_text_in_every_language(damage, tmp_path):
    version = _copy(tmp_path)
    DAMAGES[damage](version)
    messages = {}
    for consumer in with_reference():
        done = consumer.run(
            ["predict", "--model", str(version)],
            stdin=(latest("linear") / REQUEST).read_bytes(),
        )
        assert done.returncode == 2, done.stderr.decode()
        line = done.stderr.decode().strip()
        assert line.startswith(f"{consumer.prog}: error: ") and "\n" not in line, line
        messages[consumer.name] = line.removeprefix(f"{consumer.prog}: error: ")
    assert len(set(messages.values())) == 1, messages
    expected = {
        "flipped": "variables/variables.data-00000-of-00001: SHA-256 ",
        "truncated": "saved_model.pb: ",
        "missing": "frozen/serving_default.pbtxt: listed in manifest.json but missing",
        "unlisted": "variables/extra.bin: not listed in manifest.json",
        "no_manifest": "has no manifest.json to verify; pass --skip-verification",
    }[damage]
    assert expected in messages[reference().name]


def _wait_for_staging(root: Path, process: subprocess.Popen) -> bool:
    """Return True once a staging folder exists under ``root``, False if the process ended
    first (its export completed before the folder was seen)."""
    while process.poll() is None:
        if any(root.glob(".tmp-*")):
            return True
        time.sleep(0.002)
    return False


def _train_linear(models: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "python_producer", "train", "linear", "--models", str(models),
         "--epochs", "300"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.slow
def test_killed_exports_never_leave_a_loadable_partial_version(tmp_path):
    """One export of linear runs to completion first (so there is always a complete version to
    fall back on, however slow the machine).  Then the producer is SIGKILLed 20 times, each in
    a copy of that model folder (two at a time, one per core): twice before it starts writing
    (while TensorFlow loads), and 18 times while its staging folder is being written, at the
    moment the folder appears or a seeded delay of up to 0.6 s after it.  Every time, the
    consumers load the newest complete version, which verifies; a partial one is never
    picked."""
    rng = random.Random(11)
    delays = [None, None, 0.0] + [rng.uniform(0.0, 0.6) for _ in range(17)]
    first = tmp_path / "first"
    request = (latest("linear") / REQUEST).read_bytes()
    assert _train_linear(first).wait(timeout=600) == 0
    assert [p.name for p in (first / "linear").iterdir()] == ["1"]

    def attempt(i: int) -> bool:
        """Kill attempt ``i``; check every consumer; return whether it died while writing."""
        models = tmp_path / f"attempt-{i}"
        shutil.copytree(first, models)
        root = models / "linear"
        process = _train_linear(models)
        if delays[i] is None:
            time.sleep(0.2)  # TensorFlow's import alone takes longer than this
            writing = False
        else:
            writing = _wait_for_staging(root, process)
            time.sleep(delays[i])
        process.send_signal(signal.SIGKILL)
        process.wait()
        left = list(root.glob(".tmp-*"))
        if delays[i] is None:
            assert not left, f"attempt {i} was meant to die before writing: {left}"
        complete = sorted(int(p.name) for p in root.glob("[0-9]*"))
        for consumer in CONSUMERS:
            done = consumer.run(["predict", "--model", str(root)], stdin=request)
            assert done.returncode == 0, (i, consumer.name, done.stderr.decode())
            shown = consumer.run(["inspect", "--model", str(root), "--json"])
            assert json.loads(shown.stdout)["version"] == complete[-1], (i, consumer.name)
        return writing and bool(left)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, range(len(delays))))
    # Attempt 2 is killed the moment its staging folder is seen: the export is then still
    # writing (the folder lives for as long as TensorFlow writes the SavedModel).
    killed_while_writing = sum(outcomes)
    assert killed_while_writing >= 1, killed_while_writing
