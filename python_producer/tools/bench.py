"""The Python side of ``bench`` (tests/CONTRACT.md, "Benchmark"): time predictions in-process.

Two runtimes, the two ways Python usually runs a model:

- ``python_signature`` (``--format saved_model``): ``tf.saved_model.load(dir).signatures[KEY]``
  called with eager tensors built once per batch size;
- ``python_session`` (``--format frozen``): the signature's frozen GraphDef imported into a
  ``tf.compat.v1.Session`` and run through ``Session.make_callable`` (TensorFlow's own
  low-overhead path for a fixed feed/fetch list).
"""

from __future__ import annotations

import json
import math
import statistics
import time

import numpy as np

from python_producer import tf_runtime
from python_producer.reference.predictor import Predictor
from python_producer.reference.status import StatusError
from python_producer.reference.tfjson import SUPPORTED_DTYPES, TensorSpec

WARMUP_CALLS = 10
WARMUP_SECONDS = 0.2
MIN_CALLS = 5


def parse_batch_sizes(text: str) -> list[int]:
    """Parse ``1,8,64`` into ``[1, 8, 64]``.

    Raises:
        StatusError: an empty list, a non-integer or a size below 1.
    """
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise StatusError(f'--batch-sizes "{text}": expected positive integers such as 1,8,64')
    return sizes


def make_input(spec: TensorSpec, alias: str, batch_size: int) -> np.ndarray:
    """Build one input as the contract says: dim 0 = batch, other unknown dims 1, values k % ...

    Raises:
        StatusError: a string or unknown-rank input (nothing to generate it from).
    """
    numpy_type = SUPPORTED_DTYPES.get(spec.dtype)
    dtype = np.dtype(numpy_type) if numpy_type not in (None, np.object_) else None
    if dtype is None or spec.shape is None:
        raise StatusError(
            f'bench needs numeric inputs of known rank; input "{alias}" is {spec.dtype} with '
            f"shape {spec.shape}"
        )
    shape = [batch_size if i == 0 else (1 if d < 0 else d) for i, d in enumerate(spec.shape)]
    k = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    if dtype.kind == "f":
        values = (k % 1000) / 1000.0
    elif dtype.kind == "b":
        values = k % 2 == 1
    else:
        values = k % 100
    return values.astype(dtype).reshape(shape)


def summarize(batch_size: int, times_ns: list[int]) -> dict:
    """Median, nearest-rank p99 and mean (µs) and rows per second of one batch size's calls."""
    ordered = sorted(times_ns)
    n = len(ordered)
    total = sum(ordered)
    return {
        "batch_size": batch_size,
        "calls": n,
        "median_us": statistics.median(ordered) / 1e3,
        "p99_us": ordered[max(0, math.ceil(0.99 * n) - 1)] / 1e3,
        "mean_us": total / n / 1e3,
        "rows_per_second": batch_size * n / (total / 1e9),
    }


def time_calls(call, seconds: float) -> list[int]:
    """Warm up, then time ``call()`` one call at a time for ``seconds`` (at least MIN_CALLS)."""
    start = time.perf_counter()
    done = 0
    while done < WARMUP_CALLS or time.perf_counter() - start < WARMUP_SECONDS:
        call()
        done += 1
    times = []
    deadline = time.monotonic_ns() + int(seconds * 1e9)
    while len(times) < MIN_CALLS or time.monotonic_ns() < deadline:
        t0 = time.monotonic_ns()
        call()
        times.append(time.monotonic_ns() - t0)
    return times


def bench(
    version_dir,
    signature: str,
    model_format: str,
    batch_sizes: list[int],
    seconds: float,
    intra_op_threads: int = 0,
    inter_op_threads: int = 0,
    allowed_ops: frozenset[str] = frozenset(),
) -> dict:
    """Run the benchmark and return the contract's JSON object (as a dict).

    Raises:
        StatusError: bad flags, an unknown signature or inputs that cannot be generated.
    """
    if not (seconds > 0 and math.isfinite(seconds)):
        raise StatusError(f"--seconds must be a number > 0, got {seconds}")
    if intra_op_threads < 0 or inter_op_threads < 0:
        raise StatusError("--intra-op-threads and --inter-op-threads must be 0 or more")
    tf = tf_runtime.tf()
    # TensorFlow fixes its eager thread pools when its context starts; setting the value they
    # already have is skipped (a process that ran other commands first, such as run-cases),
    # and asking for another one then fails with TensorFlow's RuntimeError.
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() != intra_op_threads:
        threading.set_intra_op_parallelism_threads(intra_op_threads)
    if threading.get_inter_op_parallelism_threads() != inter_op_threads:
        threading.set_inter_op_parallelism_threads(inter_op_threads)
    predictor = Predictor(version_dir, model_format, allowed_ops, [signature])
    in_specs, out_specs = predictor.signature(signature)
    results = []
    if model_format == "saved_model":
        runtime = "python_signature"
        fn = predictor.loaded.signatures[signature]
        for batch_size in batch_sizes:
            feeds = {a: tf.constant(make_input(s, a, batch_size)) for a, s in in_specs.items()}

            def call(feeds=feeds):
                for value in fn(**feeds).values():
                    value.numpy()

            results.append(summarize(batch_size, time_calls(call, seconds)))
    else:
        runtime = "python_session"
        _, graph = predictor.frozen_session(signature)
        config = tf_runtime.session_config(intra_op_threads, inter_op_threads)
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            aliases = sorted(in_specs)
            run = session.make_callable(
                [graph.get_tensor_by_name(s.name) for s in out_specs.values()],
                [graph.get_tensor_by_name(in_specs[a].name) for a in aliases],
            )
            for batch_size in batch_sizes:
                args = [make_input(in_specs[a], a, batch_size) for a in aliases]
                results.append(summarize(batch_size, time_calls(lambda a=args: run(*a), seconds)))
    predictor.close()
    return {
        "runtime": runtime,
        "tensorflow_version": tf_runtime.tf_version(),
        "model": str(version_dir),
        "signature": signature,
        "format": model_format,
        "intra_op_threads": intra_op_threads,
        "inter_op_threads": inter_op_threads,
        "results": results,
    }


def to_json(result: dict) -> str:
    """One line of JSON."""
    return json.dumps(result)
