"""Training: end-to-end local training (read orders from the store, weight, fit, write every model document)
against implicit's bare fit on the same matrix, in the same run, as a ratio. On the Online Retail data (when
present beside the repository) and on a synthetic set of 10 million interactions (1 million users, 100,000
products). Targets: end to end at most 2x the bare fit, and under 5 s for Online Retail. Peak memory printed."""
from __future__ import annotations

import os
import time

import numpy as np

from bench.common import peak_rss_mb, rss_mb, temporary_folder
from shared.adapters.local_trainer import fit_als, train_model
from shared.adapters.sqlite_store import SqliteStore
from shared.domain.interactions import collect
from shared.domain.model_build import item_idf
from shared.domain.orders import parse_order
from shared.domain.ports import ORDERS
from shared.domain.training_params import TrainingParams
from shared.domain.weighting import bm25_matrix

DATASET = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "shared", "data", "online_retail.csv.gz")
SYNTH_USERS = int(os.environ.get("BENCH_SYNTH_USERS", 1_000_000))
SYNTH_PRODUCTS = int(os.environ.get("BENCH_SYNTH_PRODUCTS", 100_000))
SYNTH_INTERACTIONS = int(os.environ.get("BENCH_SYNTH_INTERACTIONS", 10_000_000))
THREADS = int(os.environ.get("TRAINING_THREADS", 2))


def compare(label: str, store, params: TrainingParams) -> dict:
    data = collect(store.scan(ORDERS), params.half_life_days)
    weights, _ = bm25_matrix(data.raw, item_idf(data), params.bm25_k1, params.bm25_b)
    started = time.perf_counter()
    fit_als(weights, params, THREADS)
    bare = time.perf_counter() - started
    del data, weights
    started = time.perf_counter()
    manifest = train_model(store, "20260101T000000Z-bench" + label[:3].lower(), params, THREADS)
    end_to_end = time.perf_counter() - started
    counts, timings = manifest["counts"], manifest["timings"]
    print(f"{label}: {counts['users']:,} users, {counts['products']:,} products, {counts['interactions']:,} "
          f"interactions from {counts['orders']:,} orders; {params.factors} factors, {params.iterations} "
          f"iterations, {THREADS} threads")
    print(f"  implicit bare fit          {bare:8.2f} s")
    print(f"  end to end (store to store){end_to_end:8.2f} s   = {end_to_end / bare:.2f}x the bare fit   "
          f"(read+weight {timings['read']:.2f} s, fit {timings['fit']:.2f} s, documents+write {timings['write']:.2f} s)")
    print(f"  peak RSS so far {peak_rss_mb():.0f} MB; RSS now {rss_mb():.0f} MB", flush=True)
    return {"bare": bare, "end_to_end": end_to_end, "ratio": end_to_end / bare}


def online_retail(folder: str) -> dict | None:
    if not os.path.exists(DATASET):
        print("Online Retail: data not found beside the repository; skipped")
        return None
    from shared.services.order_import import ImportStats, open_text, read_orders
    store = SqliteStore(os.path.join(folder, "retail.sqlite3"))
    with open_text(DATASET) as handle:
        bodies = [body for body, _ in read_orders(handle, ImportStats(), {})]
    store.upsert_many(ORDERS, [parse_order(body).to_document(body["createdAt"]) for body in bodies])
    result = compare("Online Retail", store, TrainingParams())
    print(f"  target: under 5 s end to end: {'met' if result['end_to_end'] < 5 else 'NOT met'}")
    return result


def synthetic(folder: str) -> dict:
    store = SqliteStore(os.path.join(folder, "synthetic.sqlite3"))
    rng = np.random.default_rng(0)
    popularity = 1.0 / np.arange(1, SYNTH_PRODUCTS + 1) ** 0.9
    products = rng.choice(SYNTH_PRODUCTS, size=SYNTH_INTERACTIONS, p=popularity / popularity.sum())
    users = rng.integers(0, SYNTH_USERS, size=SYNTH_INTERACTIONS)
    order_of = np.argsort(users, kind="stable")
    started = time.perf_counter()
    batch, lines, current = [], [], None
    for position in order_of:   # 5 lines per order, one user per order
        user = int(users[position])
        if user != current or len(lines) == 5:
            if lines:
                batch.append(_order(current, lines, len(batch)))
            current, lines = user, []
        lines.append(int(products[position]))
        if len(batch) >= 50_000:
            store.upsert_many(ORDERS, batch)
            batch = []
    batch.append(_order(current, lines, len(batch)))
    store.upsert_many(ORDERS, batch)
    print(f"Synthetic orders written in {time.perf_counter() - started:.0f} s", flush=True)
    return compare("Synthetic", store, TrainingParams())


_counter = iter(range(10**9))


def _order(user: int, products: list[int], _: int) -> dict:
    number = next(_counter)
    day = 1 + number % 28
    return {"id": f"o{number}", "userId": f"user-{user}", "type": "order",
            "createdAt": f"2026-01-{day:02d}T12:00:00.000Z", "receivedAt": "2026-02-01T00:00:00.000Z",
            "items": [{"productId": f"P{pid:06d}", "quantity": 1} for pid in products]}


def main() -> dict:
    with temporary_folder("bench-training-") as folder:
        return _run(folder)


def _run(folder: str) -> dict:
    results = {"online_retail": online_retail(folder)}
    results["synthetic"] = synthetic(folder)
    return results


if __name__ == "__main__":
    main()
