"""``bench`` in every runtime speaks tests/CONTRACT.md ("Benchmark"); timing itself is left to
``make bench`` (no speed is asserted here: these machines are noisy)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from python_producer.bench import make_input, summarize
from python_producer.tfjson import TensorSpec
from tests.conftest import latest
from tests.harness.bench import FLOOR, RUNTIMES, Target, bench_signature, command, floor_args
from tests.harness.consumers import by_name, names

FIELDS = {
    "runtime", "tensorflow_version", "model", "signature", "format", "intra_op_threads",
    "inter_op_threads", "results",
}  # fmt: skip
ROW_FIELDS = {"batch_size", "calls", "median_us", "p99_us", "mean_us", "rows_per_second"}


@pytest.fixture(scope="module")
def linear_target() -> Target:
    return Target(latest("linear"), "serving_default", (1, 3), 1, 0.05)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_reports_the_contract_json(runtime, linear_target):
    import subprocess

    if runtime == "c_floor" and not FLOOR.exists():
        pytest.fail(f"{FLOOR} is not built; run `make floor`")
    done = subprocess.run(command(runtime, linear_target), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert set(report) >= FIELDS
    assert report["runtime"] == runtime
    assert report["tensorflow_version"] == "2.21.0"
    assert [r["batch_size"] for r in report["results"]] == [1, 3]
    for row in report["results"]:
        assert set(row) >= ROW_FIELDS
        assert row["calls"] >= 5
        assert 0 < row["median_us"] <= row["p99_us"]
        assert row["rows_per_second"] > 0


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--seconds", "0"], "--seconds"),
        (["--batch-sizes", "1,0"], "batch"),
        (["--batch-sizes", ""], "batch"),
        (["--intra-op-threads", "-1"], "threads"),
    ],
)
@pytest.mark.parametrize("language", names("bench"))
def test_bench_refusals(language, args, needle, linear_target):
    consumer = by_name(language)
    done = consumer.run(["bench", "--model", str(linear_target.version_dir), *args])
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{consumer.prog}: error: "), stderr
    assert needle in lines[0]


@pytest.mark.parametrize("language", names("bench"))
def test_string_inputs_are_refused(language):
    consumer = by_name(language)
    done = consumer.run(["bench", "--model", str(latest("charlm")), "--seconds", "0.05"])
    assert done.returncode == 2, done.stderr.decode()
    assert "prefix" in done.stderr.decode()


def test_harness_picks_numeric_signatures():
    assert bench_signature(latest("linear")) == "serving_default"
    assert bench_signature(latest("digits")) == "pixels"  # serving_default takes PNG bytes
    assert bench_signature(latest("charlm")) is None  # only string inputs
    args = floor_args(Target(latest("linear"), "serving_default", (1,), 1, 1.0))
    assert args[2:] == ["--input", "serving_default_x:0:DT_DOUBLE:-1,-1", "--output",
                        "StatefulPartitionedCall:0"]  # fmt: skip


def test_inputs_follow_the_contract():
    spec = TensorSpec(alias="x", name="x:0", dtype="DT_FLOAT", shape=(-1, 3, -1))
    value = make_input(spec, "x", 2)
    assert value.shape == (2, 3, 1) and value.dtype.name == "float32"
    expected = np.array([0.0, 0.001, 0.002, 0.003, 0.004, 0.005], dtype=np.float32)
    assert value.reshape(-1).tobytes() == expected.tobytes()
    ints = make_input(replace(spec, dtype="DT_INT64", shape=(-1, 60)), "x", 2).reshape(-1)
    assert ints[99] == 99 and ints[100] == 0
    flags = make_input(replace(spec, dtype="DT_BOOL", shape=(-1,)), "x", 3)
    assert flags.tolist() == [False, True, False]


def test_statistics_nearest_rank():
    times = [1000 * (i + 1) for i in range(200)]  # 1..200 µs
    row = summarize(4, times)
    assert row["p99_us"] == 198.0  # nearest rank: ceil(0.99 * 200) = 198th value
    assert row["median_us"] == 100.5
    assert row["rows_per_second"] == pytest.approx(4 * 200 / (sum(times) / 1e9))
