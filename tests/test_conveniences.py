"""`classify` and `generate` (tests/CONTRACT.md): the same answers in every language, the same
refusals, built on the generic predict path.

The expected output of each classify and generate command line was recorded at export in
golden/commands.json (tests/harness/commands.py); every language is compared with it.
"""

from __future__ import annotations

import numpy as np
import pytest

from python_producer.producer.models.charlm import GENERATE_CASES
from tests.conftest import latest
from tests.harness.commands import recorded
from tests.harness.consumers import CONSUMERS, by_name

LANGUAGES = [c.name for c in CONSUMERS]


def _rows(stdout: bytes) -> list[tuple[str, int, np.float32]]:
    rows = []
    for line in stdout.decode("utf-8").splitlines():
        path, class_part, prob_part = line.split("\t")
        assert class_part.startswith("class_id=") and prob_part.startswith("probability=")
        rows.append((path, int(class_part[9:]), np.float32(prob_part[12:])))
    return rows


def _classify(language: str, model_format: str) -> tuple[bytes, bytes]:
    """(stdout, recorded stdout) of classify on every digit sample."""
    command = recorded(latest("digits"))[f"classify_samples_{model_format}"]
    done = command.run(by_name(language))
    assert done.returncode == command.status == 0, done.stderr.decode()
    return done.stdout, command.expected_stdout()


@pytest.fixture(scope="module")
def digit_samples() -> list[str]:
    samples = sorted(str(p) for p in (latest("digits") / "samples").glob("*.png"))
    assert len(samples) >= 10
    return samples


@pytest.mark.parametrize("language", LANGUAGES)
def test_classify_same_bits_as_recorded_and_right_digits(language, digit_samples):
    stdout, want = _classify(language, "saved_model")
    got = _rows(stdout)
    assert [(p, c) for p, c, _ in got] == [(p, c) for p, c, _ in _rows(want)]
    assert [p.tobytes() for _, _, p in got] == [p.tobytes() for _, _, p in _rows(want)]
    assert stdout == want
    assert [p for p, _, _ in got] == digit_samples
    # File names are digit-<label>-<i>.png; the classifier gets (nearly) all of them right.
    right = sum(int(path.rsplit("/", 1)[1].split("-")[1]) == c for path, c, _ in got)
    assert right >= len(got) - 1
    assert all(0.0 < p <= 1.0 for _, _, p in got)


@pytest.mark.parametrize("language", LANGUAGES)
def test_classify_frozen_graph_same_as_saved_model(language, digit_samples):
    frozen, want = _classify(language, "frozen")
    assert frozen == want
    assert frozen == _classify(language, "saved_model")[0]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("case", "status", "needle"),
    [
        ("missing_file", 2, "does-not-exist.png"),
        ("wrong_signature", 2, "DT_STRING"),
        ("not_an_image", 1, "image"),
        ("linear_model", 2, "DT_STRING"),
    ],
)
def test_classify_refusals(language, case, status, needle, tmp_path, digit_samples):
    digits = str(latest("digits").parent)
    not_png = tmp_path / "not.png"
    not_png.write_bytes(b"this is not an image")
    args = {
        "missing_file": ["--model", digits, digit_samples[0], str(tmp_path / "does-not-exist.png")],
        "wrong_signature": ["--model", digits, "--signature", "pixels", digit_samples[0]],
        "not_an_image": ["--model", digits, str(not_png)],
        "linear_model": ["--model", str(latest("linear").parent), digit_samples[0]],
    }[case]
    consumer = by_name(language)
    done = consumer.run(["classify", *args])
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == status, err
    assert done.stdout == b""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{consumer.prog}: error: "), err
    assert needle in lines[0]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("case", sorted(GENERATE_CASES))
def test_generate_byte_identical_to_recorded(language, case):
    command = recorded(latest("charlm"))[f"generate_{case}"]
    done = command.run(by_name(language), model_arg=latest("charlm").parent)
    assert done.returncode == command.status == 0, done.stderr.decode()
    got = done.stdout
    assert got == command.expected_stdout()
    args = GENERATE_CASES[case]
    prefix = args[args.index("--prefix") + 1].encode("utf-8")
    length = int(args[args.index("--length") + 1]) if "--length" in args else 100
    assert got.startswith(prefix) and got.endswith(b"\n")
    continuation = got[len(prefix) : -1]
    assert len(continuation) == length
    assert all(32 <= b < 127 or b in b"\n\t" for b in continuation), continuation


def test_generated_text_is_english_like():
    command = recorded(latest("charlm"))["generate_english_like"]
    assert command.argv[-4:] == ("--prefix", "The ", "--length", "200")
    text = command.expected_stdout()[4:].decode("ascii")
    words = text.split()
    assert len(words) >= 20
    common = {"the", "is", "a", "of", "to", "and", "in", "be", "for", "an"}
    assert sum(w.lower().strip(".,;:") in common for w in words) >= 3, text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--prefix", "x", "--length", "10001"], "--length"),
        (["--prefix", "x", "--length", "-1"], "--length"),
        (["--length", "5"], "prefix"),
        (["--prefix", "x", "--signature", "serving_default"], "continuation"),
    ],
    ids=["too_long", "negative", "no_prefix", "wrong_signature"],
)
def test_generate_refusals(language, args, needle):
    consumer = by_name(language)
    done = consumer.run(["generate", "--model", str(latest("charlm").parent), *args])
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{consumer.prog}: error: "), err
    assert needle in lines[0]
