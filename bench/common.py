"""Shared benchmark plumbing: percentiles, resident memory, an HTTP load generator, a local host process."""
from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import tempfile
import time
from typing import Callable, Iterator

from bench.loadgen import load
from tests.integration.localhost import FUNCTION_KEY, LocalHostProcess  # noqa: F401 - re-exported for the benchmarks

# Local host worker processes (FUNCTIONS_WORKER_PROCESS_COUNT): one per core, as one would set it on a VM.
PROCESSES = int(os.environ.get("BENCH_PROCESSES", os.cpu_count() or 1))


@contextlib.contextmanager
def temporary_folder(prefix: str) -> Iterator[str]:
    """A folder for a benchmark's stores and logs, deleted afterwards however the benchmark ends (the
    synthetic stores take gigabytes)."""
    folder = tempfile.mkdtemp(prefix=prefix)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def timed_calls(call: Callable[[int], object], count: int, warmup: int = 50) -> dict:
    for number in range(warmup):
        call(number)
    latencies = []
    started = time.perf_counter()
    for number in range(count):
        begin = time.perf_counter()
        call(number)
        latencies.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    return summary(latencies, elapsed)


def summary(latencies: list[float], elapsed: float) -> dict:
    return {"count": len(latencies), "per_second": len(latencies) / elapsed if elapsed else float("nan"),
            "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "p999_ms": percentile(latencies, 0.999) * 1000}


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), from /proc."""
    with open(f"/proc/{pid or os.getpid()}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used so far, from /proc."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def http_load(base: str, requests: list[tuple[str, str, bytes | None]], concurrency: int,
              key: str = FUNCTION_KEY) -> dict:
    """Send (method, path, body) requests with `concurrency` in flight over keep-alive connections.

    Uses the lean asyncio client in bench.loadgen (~0.05-0.1 ms of client CPU per request): an aiohttp
    ClientSession costs ~0.25-0.5 ms, which on two cores is taken from the server being measured.
    """
    latencies, elapsed, statuses = asyncio.run(load(base, requests, concurrency, key))
    result = summary(latencies, elapsed)
    result["statuses"] = statuses
    return result


def row(label: str, figures: dict) -> str:
    return (f"  {label:44} {figures['per_second']:>9.0f}/s   p50 {figures['p50_ms']:>7.2f} ms   "
            f"p99 {figures['p99_ms']:>7.2f} ms")
