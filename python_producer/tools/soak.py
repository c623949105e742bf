"""The ``soak`` command: resident memory growth over many predictions and load cycles.

tests/CONTRACT.md, "Memory soak": after warm-up, the resident set size (``VmRSS`` of
``/proc/self/status``, KiB, read after ``gc.collect()`` and glibc's ``malloc_trim(0)``) before
and after ``N`` whole predictions on one loaded version, and before and after ``M``
open/answer/close cycles.
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable

PREDICTION_WARMUP = 1000
LOAD_CYCLE_WARMUP = 10


def _malloc_trim() -> None:
    """glibc's ``malloc_trim(0)``: return the allocator's free pages to the system (no-op
    where there is no glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_kib() -> int:
    """The process's resident set size in KiB (``VmRSS`` of ``/proc/self/status``).

    Raises:
        OSError: no ``/proc`` (this is Linux-only, as the benchmarks are).
    """
    gc.collect()
    _malloc_trim()
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise OSError("/proc/self/status has no VmRSS line")


def soak(
    open_predictor: Callable[[], object],
    body: bytes,
    signature: str,
    predictions: int,
    load_cycles: int,
) -> dict:
    """Run the two measurements; returns the contract's fields from ``predictions`` on.

    Args:
        open_predictor: opens the version (verification, unsafe-op check, load) and returns a
            :class:`~python_producer.reference.predictor.Predictor`.
        body: the request body, answered whole (parse, decode, run, encode) every time.
        signature: the default signature key for the request.
        predictions: ``N``, predictions measured after the warm-up.
        load_cycles: ``M``, open/answer/close cycles measured after the warm-up.

    Raises:
        StatusError: the request or the model is refused (before any loop).
    """
    predictor = open_predictor()
    try:
        for _ in range(PREDICTION_WARMUP):
            predictor.predict(body, signature)
        before = rss_kib()
        start = time.perf_counter()
        for _ in range(predictions):
            predictor.predict(body, signature)
        seconds = time.perf_counter() - start
        after = rss_kib()
    finally:
        predictor.close()

    def cycle() -> None:
        loaded = open_predictor()
        try:
            loaded.predict(body, signature)
        finally:
            loaded.close()

    for _ in range(LOAD_CYCLE_WARMUP):
        cycle()
    cycles_before = rss_kib()
    start = time.perf_counter()
    for _ in range(load_cycles):
        cycle()
    cycles_seconds = time.perf_counter() - start
    cycles_after = rss_kib()
    return {
        "predictions": predictions,
        "predictions_rss_kib": [before, after],
        "predictions_seconds": round(seconds, 3),
        "load_cycles": load_cycles,
        "load_cycles_rss_kib": [cycles_before, cycles_after],
        "load_cycles_seconds": round(cycles_seconds, 3),
    }
