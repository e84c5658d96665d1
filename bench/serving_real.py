"""Serving on real shoppers: the Online Retail orders imported, a model trained on them, then requests replayed
over HTTP through the local host (`manage.py serve`) at concurrency 32, with 1 and then 2 worker processes.

Traffic, each measured on its own, all in one run:
- recommendations for customers sampled by how often they order (heavy customers as often as in the data),
- recommendations for the 12 heaviest customers alone,
- `POST /api/orders`: first orders of new shoppers,
- recommendations for those new shoppers (no user vector: fold-in of the order placed a moment ago),
- `GET /api/recommendations/popular`, the floor (one cached list).
Printed: requests/s, p50, p99, p99.9, server CPU per request (the host processes' user + system time divided by the
requests). Targets (2 processes): heavy >= 2,500/s with p99 < 30 ms; sampled >= 3,000/s with p99 < 25 ms and
within 2.5x of popular; orders >= 2,500/s with p99 < 30 ms."""
from __future__ import annotations

import collections
import json
import os
import random
import time

from bench.common import LocalHostProcess, cpu_seconds, http_load, row, temporary_folder
from bench.training import DATASET
from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.config import Settings
from shared.domain.ports import ORDERS
from shared.domain.training_params import TrainingParams

VERSION = "20260101T000000Z-benchreal"
CONCURRENCY = 32
REQUESTS = int(os.environ.get("BENCH_REAL_REQUESTS", 12_000))   # per traffic and run
NEW_SHOPPERS = 3000
PROCESS_COUNTS = [int(n) for n in os.environ.get("BENCH_REAL_PROCESSES", "1,2").split(",")]
TARGETS = {"heavy": (2500, 30), "sampled": (3000, 25), "orders": (2500, 30)}


def main() -> dict:
    if not os.path.exists(DATASET):
        print("Serving on real shoppers: Online Retail not found beside the repository; skipped")
        return {}
    with temporary_folder("bench-serving-real-") as folder:
        return _run(folder)


def _run(folder: str) -> dict:
    path = os.path.join(folder, "store.sqlite3")
    bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": path}))
    try:
        customers, products = _import_and_train()
    finally:
        bootstrap.reset()
    rng = random.Random(16)
    heaviest = [user for user, _ in customers.most_common(12)]
    users, weights = zip(*customers.items())
    sampled = rng.choices(users, weights=weights, k=REQUESTS)
    print(f"  {len(customers):,} customers; the 12 heaviest have {customers[heaviest[0]]:,} to "
          f"{customers[heaviest[-1]]:,} orders ({', '.join(heaviest[:4])}, ...)", flush=True)
    results = {}
    for processes in PROCESS_COUNTS:
        results[processes] = _over_http(path, processes, sampled, heaviest, products, rng)
    print(f"  load average now {_load_average()}")
    return results


def _import_and_train() -> tuple[collections.Counter, list[str]]:
    from commands.import_orders import import_file
    started = time.perf_counter()
    import_file(DATASET, progress=False)
    store = bootstrap.store()
    customers = collections.Counter(doc["userId"] for doc in store.scan(ORDERS))
    imported = time.perf_counter()
    manifest = train_model(store, VERSION, TrainingParams(), threads=2)
    bootstrap.model_registry().activate(VERSION)
    products = bootstrap.model_cache().current().product_ids
    print(f"Serving on real shoppers (Online Retail): {sum(customers.values()):,} orders imported in "
          f"{imported - started:.0f} s; model of {manifest['counts']['users']:,} users x {len(products):,} "
          f"products trained in {time.perf_counter() - imported:.1f} s", flush=True)
    return customers, products


def _over_http(path: str, processes: int, sampled: list[str], heaviest: list[str], products: list[str],
               rng: random.Random) -> dict:
    host = LocalHostProcess(path, {"FUNCTIONS_WORKER_PROCESS_COUNT": str(processes), "MODEL_REFRESH_SECONDS": "5",
                                   "RETRAIN_MIN_NEW_ORDERS": "0", "RECONCILE_SCHEDULE": "0 0 0 1 1 *"},
                            args=("--quiet",)).start()
    try:
        pids = _host_pids(host.process.pid, processes)
        run = f"p{processes}"
        new = [f"new-{run}-{n}" for n in range(NEW_SHOPPERS)]
        orders = [("POST", "/api/orders", json.dumps(_order(user, n, products, rng)).encode())
                  for n, user in enumerate(new * (REQUESTS // NEW_SHOPPERS + 1))][:REQUESTS]
        recommend = "/api/users/{}/recommendations?k=10"
        traffic = {
            "popular (the floor)": [("GET", "/api/recommendations/popular?k=10", None)] * REQUESTS,
            "sampled by orders": [("GET", recommend.format(user), None) for user in sampled],
            "12 heaviest": [("GET", recommend.format(heaviest[n % 12]), None) for n in range(REQUESTS)],
            "POST /api/orders (new shoppers)": orders,
            "new shoppers, just ordered": [("GET", recommend.format(new[n % NEW_SHOPPERS]), None)
                                           for n in range(REQUESTS)],
        }
        warmup = [("GET", recommend.format(user), None) for user in sampled[:1000]]
        http_load(host.base, warmup + traffic["popular (the floor)"][:500], CONCURRENCY)
        print(f"Over HTTP through the local host, {processes} worker process(es), concurrency {CONCURRENCY}, "
              f"load average before {_load_average()}:")
        results = {}
        for label, requests in traffic.items():
            before = cpu_seconds(pids)
            results[label] = figures = http_load(host.base, requests, CONCURRENCY)
            figures["server_cpu_ms"] = (cpu_seconds(pids) - before) / len(requests) * 1000
            print(row(label, figures) + f"   p99.9 {figures['p999_ms']:7.2f} ms   server CPU "
                  f"{figures['server_cpu_ms']:.2f} ms/request   {figures['statuses']}", flush=True)
        floor = results["popular (the floor)"]["per_second"]
        print(f"  popular / sampled throughput = {floor / results['sampled by orders']['per_second']:.2f}x "
              f"(target <= 2.5x); load average after {_load_average()}")
        if processes == 2:
            _against_targets(results)
        return results
    finally:
        host.stop()


def _against_targets(results: dict) -> None:
    for key, label in (("heavy", "12 heaviest"), ("sampled", "sampled by orders"),
                       ("orders", "POST /api/orders (new shoppers)")):
        rate, p99 = TARGETS[key]
        met = results[label]["per_second"] >= rate and results[label]["p99_ms"] < p99
        print(f"  target {label}: >= {rate:,}/s with p99 < {p99} ms: {'met' if met else 'NOT met'}")


def _order(user: str, number: int, products: list[str], rng: random.Random) -> dict:
    return {"orderId": f"{user}-o{number}", "userId": user,
            "items": [{"productId": rng.choice(products), "quantity": rng.randint(1, 6),
                       "unitPrice": round(rng.uniform(0.5, 15), 2)} for _ in range(rng.randint(1, 8))]}


def _host_pids(pid: int, processes: int, timeout: float = 60) -> list[int]:
    """The primary and its worker processes, once all have started (the primary answers before they do)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
            children = [int(child) for child in handle.read().split()]
        if len(children) >= processes - 1 or time.monotonic() > deadline:
            time.sleep(1)   # the children listen a moment after they exist
            return [pid, *children]
        time.sleep(0.2)


def _load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
