"""``bench`` in every runtime speaks tests/CONTRACT.md ("Benchmark"); timing itself is left to
``make bench`` (no speed is asserted here: these machines are noisy)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from python_producer.reference.tfjson import TensorSpec
from python_producer.tools.bench import make_input, summarize
from tests.conftest import latest
from tests.harness import bench
from tests.harness.bench import FLOOR, RUNTIMES, Target, bench_signature, command, floor_args
from tests.harness.consumers import MODELS, by_name, names

FIELDS = {
    "runtime", "tensorflow_version", "model", "signature", "format", "intra_op_threads",
    "inter_op_threads", "results",
}  # fmt: skip
ROW_FIELDS = {"batch_size", "calls", "median_us", "p99_us", "mean_us", "rows_per_second"}


@pytest.fixture(scope="module")
def linear_target() -> Target:
    return Target(latest("linear"), "serving_default", (1, 3), 1, 0.05)


def need_floor() -> None:
    if not FLOOR.exists():
        pytest.fail(f"{FLOOR} is not built; run `make floor`")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_reports_the_contract_json(runtime, linear_target):
    if runtime.startswith("c_floor"):
        need_floor()
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
    if runtime.startswith("c_floor"):
        assert report["constant_folding"] == ("on" if runtime == "c_floor_folding_on" else "off")


@pytest.mark.parametrize(
    "intra, inter, folding",
    [(0, 0, None), (0, 0, "off"), (0, 0, "on"), (3, 0, None), (0, 200, "off"), (3, 200, "on"),
     (2**31 - 1, 1, None)],
)  # fmt: skip
def test_floor_config_is_tensorflows_serialization(intra, inter, folding):
    """floor --print-config: the bytes it gives TF_SetConfig are those of TensorFlow's own
    ConfigProto with the contract's constant_folding = OFF (unless --constant-folding on)."""
    from tensorflow.core.protobuf import config_pb2, rewriter_config_pb2

    need_floor()
    argv = [str(FLOOR), "--print-config", "--intra-op-threads", str(intra)]
    argv += ["--inter-op-threads", str(inter)]
    if folding is not None:
        argv += ["--constant-folding", folding]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    expected = config_pb2.ConfigProto(
        intra_op_parallelism_threads=intra, inter_op_parallelism_threads=inter
    )
    if folding != "on":
        expected.graph_options.rewrite_options.constant_folding = (
            rewriter_config_pb2.RewriterConfig.OFF
        )
    assert done.stdout == expected.SerializeToString().hex() + "\n"


@pytest.mark.parametrize(
    "args, needle",
    [(["--constant-folding", "yes"], "--constant-folding"), (["--print-config=1"], "no value")],
)
def test_floor_refusals(args, needle):
    need_floor()
    done = subprocess.run([str(FLOOR), "--print-config", *args], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("floor: error: ") and needle in lines[0]


def test_folding_on_runs_beside_c_floor_in_every_round(monkeypatch):
    """c_floor_folding_on is timed in the same rounds as the others, on every planned model
    (keras_mlp, digits/pixels and linear among them), and reported as c_floor / it."""
    targets, linear, largest = bench.plan(MODELS, 1.0, 3)
    planned = {t.name: t for t in targets}
    assert {"linear", "keras_mlp", "digits"} <= planned.keys()
    assert planned["digits"].signature == "pixels"
    for runtime, folding in (("c_floor", "off"), ("c_floor_folding_on", "on")):
        argv = command(runtime, planned["keras_mlp"])
        assert argv[0] == str(FLOOR)
        assert argv[argv.index("--constant-folding") + 1] == folding

    def fake_run(runtime, target):
        us = 2.0 if runtime == "c_floor" else 1.6 if runtime == "c_floor_folding_on" else 3.0
        rows = [{"batch_size": b, "median_us": us, "p99_us": us, "rows_per_second": b / us}
                for b in target.batch_sizes]  # fmt: skip
        return {"runtime": runtime, "results": rows}

    monkeypatch.setattr(bench, "run_once", fake_run)
    runs = bench.run_all(targets, log=lambda _: None)
    for target in targets:
        for r in range(target.rounds):
            ran = [x["runtime"] for x in runs if x["model_name"] == target.name and x["round"] == r]
            assert sorted(ran) == sorted(RUNTIMES)
    table = bench.medians(runs)
    cost = bench.folding_cost(table, targets)
    assert len(cost) == sum(len(t.batch_sizes) for t in targets)
    assert all(c["ratio"] == pytest.approx(1.25) for c in cost)
    checks = bench.evaluate_targets(table, {}, largest)
    assert not any("folding" in c["target"] for c in checks)  # a figure, not a target
    markdown = bench.render_markdown(table, checks, {}, targets, "2.21.0")
    section = markdown.split("## Cost of constant folding off")[1].split("## Cold start")[0]
    assert "| keras_mlp / serving_default | 1.25 | — | 1.25 | — | — |" in section
    assert "| digits / pixels | 1.25 | 1.25 | 1.25 | 1.25 | 1.25 |" in section
    assert "| c_floor_folding_on |" in markdown


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
