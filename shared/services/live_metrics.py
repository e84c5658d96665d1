"""Live figures one process knows about itself, for the operations dashboard: orders per minute, recommendation
latency (p50/p99) and the mix of strategies served. In memory and per process: with several worker processes (or
instances in Azure) each reports its own share; the figures are a view of this process, not of the service (for
that, Application Insights aggregates every instance)."""
from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter, deque
from datetime import datetime, timezone
from typing import Callable

WINDOW_SECONDS = 15 * 60          # what the dashboard's chart shows
MAX_LATENCY_SAMPLES = 20_000      # bounded memory under load; the oldest samples go first


class LiveMetrics:
    def __init__(self, window_seconds: int = WINDOW_SECONDS, clock: Callable[[], float] = time.time):
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()   # sync functions record from the thread pool, async ones from the loop
        self._orders: Counter[int] = Counter()   # minute number -> orders created in it
        self._served: deque[tuple[float, float, str]] = deque(maxlen=MAX_LATENCY_SAMPLES)
        self._started = clock()

    def order_placed(self) -> None:
        now = self._clock()
        with self._lock:
            self._orders[int(now // 60)] += 1
            self._forget(now)

    def recommendation_served(self, strategy: str | None, seconds: float) -> None:
        now = self._clock()
        with self._lock:
            self._served.append((now, seconds, strategy or "unknown"))
            self._forget(now)

    def snapshot(self) -> dict:
        now = self._clock()
        with self._lock:
            self._forget(now)
            this_minute = int(now // 60)
            minutes = range(this_minute - self._window // 60 + 1, this_minute + 1)
            per_minute = [{"minute": _iso(minute * 60), "orders": self._orders.get(minute, 0)} for minute in minutes]
            recent = [sample for sample in self._served if sample[0] > now - 300]
        latencies = sorted(seconds * 1000 for _, seconds, _ in recent)
        return {
            "process": os.getpid(),
            "since": _iso(self._started),
            "generatedAt": _iso(now),
            "windowSeconds": self._window,
            "ordersPerMinute": per_minute,
            "recommendations": {
                "windowSeconds": 300,
                "count": len(latencies),
                "latencyMs": {"p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99)},
                "strategies": dict(Counter(strategy for _, _, strategy in recent)),
            },
        }

    def _forget(self, now: float) -> None:
        oldest_minute = int(now // 60) - self._window // 60
        for minute in [minute for minute in self._orders if minute <= oldest_minute]:
            del self._orders[minute]
        while self._served and self._served[0][0] <= now - self._window:
            self._served.popleft()


def _percentile(sorted_values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile: a value that was really observed."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 3)


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
