"""``make bench``'s load test: ``go_consumer serve`` against the Python baseline server, side by
side, over TensorFlow Serving's REST and gRPC APIs (tests/CONTRACT.md, "Load test").

For each model (``linear`` and ``sine`` by default) and protocol, each server is started on
loopback ports, and ``go_consumer/bin/loadgen`` sends it a fixed number of batch-1 predict
requests at each concurrency (1, 8 and 32), 5% of them malformed. The servers:

- ``python``: ``tests/harness/python_server.py``, the Python reference path behind the standard
  library's HTTP server and grpcio's server;
- ``go``: ``go_consumer serve``, batching off;
- ``go_batching``: ``go_consumer serve --enable-batching`` with :data:`BATCHING_FLAGS`.

A run fails (exit 1, and :func:`check` lists why) when a well-formed request is not answered
OK, a malformed one is not refused (400 / INVALID_ARGUMENT), an answer differs from the Python
reference's (:class:`python_producer.reference.predictor.Predictor`, in this process) in any
bit, or a server does not stop with status 0 on SIGTERM. Speed targets are reported, not
enforced.

Writes ``bench/loadtest.json`` (every run and the environment) and ``bench/loadtest.md``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.harness.compare import compare_bodies, compare_tensors
from tests.harness.consumers import ROOT
from tests.harness.parity import latest_versions
from tests.harness.serving import SERVING, Server

LOADGEN = ROOT / "go_consumer" / "bin" / "loadgen"
SERVERS = ("python", "go", "go_batching")
PROTOCOLS = ("grpc", "rest")
CONCURRENCY = (1, 8, 32)
#: TF Serving's batching parameters for go_batching: up to 32 rows per run, a batch waits at most
#: 1 ms for more requests, one thread per core forms batches.
BATCHING_FLAGS = (
    "--enable-batching",
    "--max-batch-size",
    "32",
    "--batch-timeout-micros",
    "1000",
    "--num-batch-threads",
    "2",
    "--max-enqueued-batches",
    "1000",
)
#: The targets of issue 7: (name, what is divided by what, at least).
TARGETS = (
    ("go_vs_python", "go rps / python rps, linear, concurrency 8", 4.0),
    ("batching_gain", "go_batching rps / go rps, sine, concurrency 32", 2.0),
)
ITEMS = 16  # distinct well-formed requests per model


@dataclass
class Plan:
    """The requests of one model in both protocols' forms, and the reference's answers."""

    model: str
    version_dir: Path
    signature: str
    output_specs: dict = field(default_factory=dict)  # alias -> TensorSpec, to read answers
    well_formed: list[dict] = field(default_factory=list)  # {"rest", "grpc"}
    malformed: list[dict] = field(default_factory=list)
    inputs: list[dict[str, np.ndarray]] = field(default_factory=list)
    expected: list[dict[str, np.ndarray]] = field(default_factory=list)
    expected_bodies: list[str] = field(default_factory=list)

    def write(self, path: Path) -> Path:
        doc = {"well_formed": self.well_formed, "malformed": self.malformed}
        path.write_text(json.dumps(doc), encoding="utf-8")
        return path


def make_plan(version_dir: Path, signature: str = "serving_default") -> Plan:
    """Build :data:`ITEMS` batch-1 requests of a model whose inputs are all float, and a few
    malformed ones, with the reference's answers.

    Raises:
        ValueError: an input is not a float tensor of known rank.
    """
    from python_producer import tf_runtime

    # tf() first: tensorflow_serving imports TensorFlow, which must see the contract's numeric
    # settings (TF_ENABLE_ONEDNN_OPTS=0), or the reference's bits would not be the contract's.
    tf = tf_runtime.tf()
    from tensorflow_serving.apis import predict_pb2

    from python_producer.reference.predictor import Predictor
    from python_producer.reference.tfjson import FLOAT_DTYPES

    model = version_dir.parent.name
    predictor = Predictor(version_dir)
    in_specs, out_specs = predictor.signature(signature)
    plan = Plan(model, version_dir, signature, out_specs)

    def grpc_request(tensors: dict[str, np.ndarray]) -> str:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.model_spec.signature_name = signature
        for alias, value in tensors.items():
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(value))
        return base64.b64encode(request.SerializeToString()).decode("ascii")

    for spec in in_specs.values():
        if spec.dtype not in FLOAT_DTYPES or spec.shape is None:
            raise ValueError(
                f"{model}: input {spec.describe()} is not a float tensor of known rank"
            )
    for k in range(ITEMS):
        tensors = {}
        for i, (alias, spec) in enumerate(sorted(in_specs.items())):
            shape = [1] + [max(d, 1) for d in spec.shape[1:]]
            start = -2.0 + k * 0.25 + i * 0.125  # exact in every float dtype
            values = start + 0.0625 * np.arange(int(np.prod(shape)))
            tensors[alias] = values.reshape(shape).astype(FLOAT_DTYPES[spec.dtype])
        rest = {"signature_name": signature, "inputs": {a: v.tolist() for a, v in tensors.items()}}
        body = json.dumps(rest)
        plan.well_formed.append({"rest": body, "grpc": grpc_request(tensors)})
        plan.inputs.append(tensors)
        plan.expected.append(predictor.run(signature, tensors))
        plan.expected_bodies.append(predictor.predict(body))
    first_alias, first_spec = sorted(in_specs.items())[0]
    good = plan.inputs[0]
    plan.malformed = [
        {  # a string where a number belongs / the wrong dtype
            "rest": json.dumps({"inputs": {first_alias: [["x"]]}}),
            "grpc": grpc_request({**good, first_alias: np.array([[b"x"]], dtype=object)}),
        },
        {  # one rank too few
            "rest": json.dumps({"inputs": {a: v[0].tolist() for a, v in good.items()}}),
            "grpc": grpc_request({a: v[0] for a, v in good.items()}),
        },
        {  # an input the signature does not have
            "rest": json.dumps({"inputs": {"no_such_input": [[1.0]]}}),
            "grpc": grpc_request({"no_such_input": np.array([[1.0]], dtype=np.float32)}),
        },
        {  # truncated JSON / a float64 tensor where the signature takes another dtype
            "rest": '{"instances": [[1.0]',
            "grpc": grpc_request(
                {
                    **good,
                    first_alias: good[first_alias].astype(
                        np.float16 if first_spec.dtype != "DT_HALF" else np.float64
                    ),
                }
            ),
        },
    ]
    predictor.close()
    return plan


def server_command(kind: str) -> tuple[list[str], tuple[str, ...]]:
    """(argv, extra flags) of a server kind; both take --model-base-path and the port flags."""
    if kind == "python":
        return [sys.executable, "-m", "tests.harness.python_server"], ()
    if kind == "go":
        return [*SERVING.argv, "serve"], ()
    if kind == "go_batching":
        return [*SERVING.argv, "serve"], BATCHING_FLAGS
    raise ValueError(f"unknown server {kind!r}; expected one of {', '.join(SERVERS)}")


def check_answers(plan: Plan, report: dict) -> list[str]:
    """Compare the first answer to each well-formed request with the reference, bit for bit."""
    if report["answer_kind"] == "grpc_base64":
        from python_producer import tf_runtime

        tf = tf_runtime.tf()
        from tensorflow_serving.apis import predict_pb2
    problems = []
    for k, answer in enumerate(report["answers"]):
        if not answer:
            continue  # never answered OK; counted as failed already
        if report["answer_kind"] == "rest_body":
            comparison = compare_bodies(answer, plan.expected_bodies[k], plan.output_specs)
        else:
            response = predict_pb2.PredictResponse.FromString(base64.b64decode(answer))
            got = {a: tf.make_ndarray(t) for a, t in response.outputs.items()}
            comparison = compare_tensors(got, plan.expected[k])
        if not comparison.identical:
            problems.append(f"request {k}: answer differs from the reference: {comparison}")
    return problems


def run_loadgen(
    protocol: str, address: str, plan_file: Path, model: str, requests: int, concurrency: int
) -> dict:
    """Run loadgen once and return its report (RuntimeError when it exits non-zero)."""
    done = subprocess.run(
        [
            str(LOADGEN),
            "--protocol",
            protocol,
            "--address",
            address,
            "--model",
            model,
            "--plan",
            str(plan_file),
            "--requests",
            str(requests),
            "--concurrency",
            str(concurrency),
            "--warmup",
            "50",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadgen exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def check(report: dict) -> list[str]:
    """What is wrong with one loadgen report: failures, unexpected answers, missed refusals."""
    problems = [
        f"{report['failed']} well-formed request(s) failed" if report["failed"] else "",
        f"{report['unexpected']} malformed request(s) not refused" if report["unexpected"] else "",
        "refused != malformed" if report["refused"] != report["malformed"] else "",
        "ok + failed != well_formed"
        if report["ok"] + report["failed"] != report["well_formed"]
        else "",
    ]
    return [p for p in problems if p] + report["errors"][:3]


def load_test(
    models_dir: Path,
    models: list[str],
    servers: tuple[str, ...] = SERVERS,
    protocols: tuple[str, ...] = PROTOCOLS,
    concurrency: tuple[int, ...] = CONCURRENCY,
    requests: int = 4000,
    log=print,
) -> tuple[list[dict], list[str]]:
    """Run every (model, protocol, server, concurrency); return (runs, problems)."""
    versions = {p.parent.name: p for p in latest_versions(models_dir)}
    runs, problems = [], []
    with tempfile.TemporaryDirectory(prefix="loadtest-") as tmp:
        for model in models:
            plan = make_plan(versions[model])
            plan_file = plan.write(Path(tmp) / f"{model}.plan.json")
            for kind in servers:
                argv, extra = server_command(kind)
                with Server(
                    models_dir, "--model-name", model, *extra, command=argv, cwd=ROOT
                ) as server:
                    for protocol in protocols:
                        address = server.grpc_address if protocol == "grpc" else server.address
                        for c in concurrency:
                            report = run_loadgen(protocol, address, plan_file, model, requests, c)
                            found = check(report) + check_answers(plan, report)
                            if server.process.poll() is not None:
                                found.append(f"server exited {server.process.returncode}")
                            runs.append(
                                {
                                    "model": model,
                                    "version": int(plan.version_dir.name),
                                    "protocol": protocol,
                                    "server": kind,
                                    **{k: v for k, v in report.items() if k != "answers"},
                                    "problems": found,
                                }
                            )
                            problems += [f"{model} {protocol} {kind} c={c}: {p}" for p in found]
                            log(
                                f"{model:7} {protocol:4} {kind:12} c={c:<3} "
                                f"{report['rps']:9.0f} rps  "
                                f"median {report['latency_us']['median']:8.0f} µs  "
                                f"p99 {report['latency_us']['p99']:8.0f} µs  ok {report['ok']} "
                                f"refused {report['refused']} failed {report['failed']}"
                            )
                    status = server.stop()
                    if status != 0:
                        problems.append(f"{model} {kind}: exit status {status}")
    return runs, problems


def ratio(runs: list[dict], protocol: str, model: str, c: int, num: str, den: str) -> float | None:
    """rps of server ``num`` / rps of server ``den`` in the same cell, or None if missing."""
    cell = {
        r["server"]: r["rps"]
        for r in runs
        if r["model"] == model and r["protocol"] == protocol and r["concurrency"] == c
    }
    if num in cell and den in cell and cell[den] > 0:
        return cell[num] / cell[den]
    return None


def targets(runs: list[dict]) -> list[dict]:
    """Issue 7's targets per protocol, measured in these runs."""
    out = []
    for protocol in PROTOCOLS:
        for name, what, at_least in TARGETS:
            if name == "go_vs_python":
                value = ratio(runs, protocol, "linear", 8, "go", "python")
            else:
                value = ratio(runs, protocol, "sine", 32, "go_batching", "go")
            if value is not None:
                out.append(
                    {
                        "target": name,
                        "protocol": protocol,
                        "what": what,
                        "at_least": at_least,
                        "measured": round(value, 2),
                        "met": value >= at_least,
                    }
                )
    return out


def markdown(doc: dict) -> str:
    """The tables of bench/loadtest.md."""
    env = doc["environment"]
    lines = [
        "# Load test: go_consumer serve vs the Python baseline",
        "",
        f"TensorFlow {env['tensorflow']}, {env['cpus']} CPUs ({env['machine']}), "
        f"{doc['requests']} requests per run ({doc['malformed_fraction']:.0%} malformed), "
        "batch-1 requests, loopback; the client (`go_consumer/bin/loadgen`) shares the CPUs "
        "with the server. Latency is over the well-formed requests.",
        "",
        f"`go_batching` is `go_consumer serve {' '.join(BATCHING_FLAGS)}`.",
        "",
        "| model | protocol | server | concurrency | requests/s | median µs | p99 µs "
        "| ok | refused | failed |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["runs"]:
        lines.append(
            f"| {r['model']} | {r['protocol']} | {r['server']} | {r['concurrency']} "
            f"| {r['rps']:.0f} | {r['latency_us']['median']:.0f} | {r['latency_us']['p99']:.0f} "
            f"| {r['ok']} | {r['refused']} | {r['failed']} |"
        )
    lines += ["", "## Targets", "", "| target | protocol | measured | at least | met |"]
    lines.append("|---|---|---:|---:|---|")
    for t in doc["targets"]:
        lines.append(
            f"| {t['what']} | {t['protocol']} | {t['measured']:.2f}× | {t['at_least']:.0f}× "
            f"| {'yes' if t['met'] else 'no'} |"
        )
    problems = doc["problems"] or ["none"]
    lines += ["", "## Problems", "", *[f"- {p}" for p in problems], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write ``OUT/loadtest.{json,md}``; 1 when any run had problems."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.loadtest")
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--model", action="append", help="model to load (default linear, sine)")
    parser.add_argument("--requests", type=int, default=4000, help="requests per run")
    args = parser.parse_args(argv)
    if not LOADGEN.exists():
        print(f"error: {LOADGEN} is missing; build it with: make go", file=sys.stderr)
        return 2
    from python_producer import tf_runtime

    start = time.monotonic()
    runs, problems = load_test(
        args.models, args.model or ["linear", "sine"], requests=args.requests
    )
    doc = {
        "environment": {
            "tensorflow": tf_runtime.tf_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "requests": args.requests,
        "malformed_fraction": 0.05,
        "batching_flags": list(BATCHING_FLAGS),
        "runs": runs,
        "targets": targets(runs),
        "problems": problems,
        "seconds": round(time.monotonic() - start, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loadtest.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (args.out / "loadtest.md").write_text(markdown(doc), encoding="utf-8")
    print(markdown(doc))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
