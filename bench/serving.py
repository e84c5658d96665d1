"""Serving: a synthetic model (100,000 products, 64 factors, 1,000,000 users) in the SQLite store.

Side by side in one run: our service call (user vector + new orders read, fold-in when needed, scoring all
products, exclusions, top-k) against (a) reading a precomputed top-10 list from the same store (the Azure
reference architecture's approach) and (b) implicit's recommend(..., recalculate_user=True) for the same user
(after the same user document read). In process (latency) and over HTTP through the local host (throughput at
concurrency 32). Targets: service p50 < 2 ms, p99 < 10 ms; >= 1,000 requests/s over HTTP; at most 3x (a);
no slower than (b)."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from bench.common import FUNCTION_KEY, PROCESSES, cpu_seconds, http_load, row, rss_mb, temporary_folder, timed_calls
from bench.serving_host import IMPLICIT_OVER_HTTP_UP_TO, implicit_model, implicit_recommend
from bench.synthetic_model import VERSION, write_synthetic_model
from shared import bootstrap
from shared.config import Settings
from shared.domain.ports import USER_VECTORS
from shared.services.model_cache import ModelCache
from shared.services.recommendations import RecommendationService
from tests.integration.localhost import ROOT, free_port

USERS = int(os.environ.get("BENCH_USERS", 1_000_000))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", 100_000))
FACTORS = 64
SAMPLE = 3000
CONCURRENCY = 32
RECALL_SAMPLE = 300
HTTP_ROUNDS = 4   # every sampled user asked this many times over HTTP: runs of several seconds each


def main() -> dict:
    with temporary_folder("bench-serving-") as folder:
        return _run(folder)


def _run(folder: str) -> dict:
    path = os.path.join(folder, "store.sqlite3")
    bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": path, "MODEL_REFRESH_SECONDS": "5"}))
    store = bootstrap.store()
    started = time.perf_counter()
    write_synthetic_model(store, USERS, PRODUCTS, FACTORS)
    bootstrap.model_registry().activate(VERSION)
    print(f"Serving: {PRODUCTS:,} products x {FACTORS} factors, {USERS:,} users; model written in "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    rng = random.Random(5)
    users = [f"user-{rng.randrange(USERS)}" for _ in range(SAMPLE)]
    service = bootstrap.recommendation_service()
    rss_before = rss_mb()
    started = time.perf_counter()
    service.for_user(users[0])   # loads the model from the store
    print(f"  model loaded from the store in {time.perf_counter() - started:.1f} s, "
          f"+{rss_mb() - rss_before:.0f} MB RSS", flush=True)

    precomputed = [{"id": f"top10-{user}", "userId": user,
                    "items": [[item["productId"], item["score"]] for item in service.for_user(user)["items"]]}
                   for user in set(users)]
    store.upsert_many(USER_VECTORS, precomputed)
    model, index = implicit_model()

    ours = timed_calls(lambda n: service.for_user(users[n % SAMPLE], k=10), SAMPLE)
    listed = timed_calls(lambda n: store.read(USER_VECTORS, f"top10-{users[n % SAMPLE]}", users[n % SAMPLE]), SAMPLE)
    theirs = timed_calls(lambda n: implicit_recommend(model, index, store.read(USER_VECTORS, users[n % SAMPLE],
                                                                              users[n % SAMPLE])), SAMPLE)
    scorer = type(service._models.current().scorer).__name__
    print(f"In process (one thread; scoring: {scorer}):")
    print(row("service call (fold-in + score + top-k)", ours))
    print(row("(a) precomputed top-10 list read", listed))
    print(row("(b) implicit recommend(recalculate_user=True)", theirs))
    print(f"  service p50 / (a) p50 = {ours['p50_ms'] / listed['p50_ms']:.1f}x; "
          f"service p50 / (b) p50 = {ours['p50_ms'] / theirs['p50_ms']:.2f}x; "
          f"model in memory: +{rss_mb() - rss_before:.0f} MB RSS in this process")
    recall = recall_at_10(store, service, users[:RECALL_SAMPLE]) if scorer == "ApproximateScorer" else None
    http = over_http(path, users)
    bootstrap.reset()
    return {"in_process": {"service": ours, "precomputed": listed, "implicit": theirs}, "http": http,
            "recall_at_10": recall}


def recall_at_10(store, service, users: list[str]) -> float:
    """The approximate index's top 10 against exact scoring of every product, same users, same store."""
    exact = RecommendationService(store, ModelCache(store, 3600, approximate_from=0), bootstrap.catalogue())
    overlaps, exact_calls = [], []
    for user in users:
        ours = {item["productId"] for item in service.for_user(user, k=10)["items"]}
        started = time.perf_counter()
        reference = exact.for_user(user, k=10)["items"]
        exact_calls.append(time.perf_counter() - started)
        overlaps.append(len(ours & {item["productId"] for item in reference}) / max(len(reference), 1))
    recall = sum(overlaps) / len(overlaps)
    exact_calls.sort()
    print(f"  recall@10 of the approximate index against exact scoring, {len(users)} users: {recall:.4f} "
          f"(exact scoring of every product: p50 {exact_calls[len(users) // 2] * 1000:.1f} ms per call)")
    return recall


def over_http(path: str, users: list[str]) -> dict:
    port = free_port()
    env = dict(os.environ, SQLITE_PATH=path, LOCAL_FUNCTION_KEY=FUNCTION_KEY, LOCAL_ADMIN_KEY="bench-admin",
               RECONCILE_SCHEDULE="0 0 0 1 1 *", FUNCTIONS_WORKER_PROCESS_COUNT=str(PROCESSES))
    process = subprocess.Popen([sys.executable, "-m", "bench.serving_host", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        json.loads(process.stdout.readline())
        pids = [process.pid, *child_pids(process.pid)]
        base = f"http://127.0.0.1:{port}"
        wait_until_listening(base)
        paths = {"service": "/api/users/{}/recommendations?k=10", "(a) precomputed": "/api/bench/precomputed/{}",
                 "(b) implicit": "/api/bench/implicit/{}"}
        if PRODUCTS > IMPLICIT_OVER_HTTP_UP_TO:   # tens of ms a call: minutes for its requests, in process is enough
            del paths["(b) implicit"]
        results = {}
        print(f"Over HTTP through the local host ({PROCESSES} worker processes, concurrency {CONCURRENCY}):")
        for label, template in paths.items():
            requests = [("GET", template.format(user), None) for user in users] * HTTP_ROUNDS
            http_load(base, requests[:1000], CONCURRENCY)   # warm up
            cpu_before = cpu_seconds(pids)
            results[label] = http_load(base, requests, CONCURRENCY)
            results[label]["server_cpu_ms"] = (cpu_seconds(pids) - cpu_before) / len(requests) * 1000
            print(row(label, results[label]) + f"   server CPU {results[label]['server_cpu_ms']:.2f} ms/request"
                  f"   {results[label]['statuses']}")
        service, listed = results["service"], results["(a) precomputed"]
        implicit = results.get("(b) implicit")
        print(f"  service / (a) throughput = {service['per_second'] / listed['per_second']:.2f}; "
              + (f"service / (b) throughput = {service['per_second'] / implicit['per_second']:.2f}; "
                 if implicit else "")
              + f"serving processes' RSS {' + '.join(f'{rss_mb(pid):.0f}' for pid in pids)} MB")
        return results
    finally:
        process.terminate()
        process.wait(10)


def child_pids(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as handle:
        return [int(child) for child in handle.read().split()]


def wait_until_listening(base: str, timeout: float = 60) -> None:
    import urllib.request
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/api/health", timeout=5).read()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    main()
