"""Ingest: orders per second through the local host's HTTP interface (concurrency 16) and through the
service layer alone, side by side. Target: >= 500 orders/s over HTTP with p99 < 50 ms on 2 cores."""
from __future__ import annotations

import json
import random

from bench.common import PROCESSES, LocalHostProcess, http_load, row, temporary_folder, timed_calls
from shared.adapters.sqlite_store import SqliteStore
from shared.services.orders import OrderService

ORDERS = 5000
CONCURRENCY = 16
WARMUP = 300   # orders posted before the clock starts (first connections, first-time code paths)


def order(number: int, rng: random.Random) -> dict:
    return {"orderId": f"bench-{number}", "userId": f"user-{rng.randrange(2000)}",
            "items": [{"productId": f"P{rng.randrange(5000):05d}", "quantity": rng.randint(1, 5),
                       "unitPrice": round(rng.uniform(1, 20), 2)} for _ in range(rng.randint(1, 6))]}


def main() -> dict:
    with temporary_folder("bench-ingest-") as folder:
        return _run(folder)


def _run(folder: str) -> dict:
    rng = random.Random(1)
    bodies = [order(number, rng) for number in range(ORDERS)]

    service = OrderService(SqliteStore(f"{folder}/service.sqlite3"))
    in_process = timed_calls(lambda n: service.place(bodies[n % ORDERS] | {"orderId": f"svc-{n}"}), ORDERS)

    # Retraining is measured by bench/training.py; here it would only compete for the two cores.
    host = LocalHostProcess(f"{folder}/http.sqlite3", {"RETRAIN_MIN_NEW_ORDERS": "0",
                                                       "FUNCTIONS_WORKER_PROCESS_COUNT": str(PROCESSES)},
                            args=("--quiet",)).start()
    try:
        warmup = [("POST", "/api/orders", json.dumps(body | {"orderId": f"warmup-{n}"}).encode())
                  for n, body in enumerate(bodies[:WARMUP])]
        http_load(host.base, warmup, CONCURRENCY)
        requests = [("POST", "/api/orders", json.dumps(body).encode()) for body in bodies]
        over_http = http_load(host.base, requests, CONCURRENCY)
    finally:
        host.stop()
    print(f"Ingest: {ORDERS} orders of 1-6 lines (SQLite, WAL)")
    print(row("service layer (OrderService.place, 1 thread)", in_process))
    print(row(f"HTTP via local host ({PROCESSES} processes, concurrency {CONCURRENCY})", over_http))
    print(f"  HTTP statuses {over_http['statuses']}; HTTP/service throughput ratio "
          f"{over_http['per_second'] / in_process['per_second']:.2f}")
    print(f"  target >= 500/s over HTTP with p99 < 50 ms: "
          f"{'met' if over_http['per_second'] >= 500 and over_http['p99_ms'] < 50 else 'NOT met'}")
    return {"service": in_process, "http": over_http}


if __name__ == "__main__":
    main()
