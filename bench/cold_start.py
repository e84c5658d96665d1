"""Cold start: a new process's time to its first recommendation (and to its first similar-products list), as a
Flex Consumption instance that scales out starts, with the synthetic model (100,000 products x 64 factors; the
number of users does not change what a process loads). Measured from the moment the parent starts the child,
interpreter start-up and imports included. Target: under 3 s."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench.common import temporary_folder
from bench.synthetic_model import VERSION, write_synthetic_model
from shared import bootstrap
from shared.config import Settings
from tests.integration.localhost import ROOT

PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", 100_000))
USERS = int(os.environ.get("BENCH_COLD_USERS", 20_000))
# Similar lists precomputed for the 10,000 most bought products, as training does; 0 for a million products,
# where that precomputation alone takes minutes (the lists are then computed on demand).
SIMILAR_K = int(os.environ.get("BENCH_COLD_SIMILAR_K", 20))
RUNS = 3
_CHILD = """
import json, os, sys, time
from shared import bootstrap
service = bootstrap.recommendation_service()
first = service.for_user("user-1", k=10)
recommended = time.time()
service.similar(first["items"][0]["productId"], k=10)
similar = time.time()
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")) / 1024
print(json.dumps({"recommended": recommended, "similar": similar, "rss_mb": rss,
                  "strategy": first["strategy"]}))
"""


def main() -> dict:
    with temporary_folder("bench-cold-start-") as folder:
        path = os.path.join(folder, "store.sqlite3")
        bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": path}))
        try:
            write_synthetic_model(bootstrap.store(), USERS, PRODUCTS, 64, similar_k=SIMILAR_K)
            bootstrap.model_registry().activate(VERSION)
        finally:
            bootstrap.reset()
        runs = [_one(path) for _ in range(RUNS)]
    print(f"Cold start ({PRODUCTS:,} products x 64 factors), new process to first response, {RUNS} runs:")
    for key, label in (("recommendation", "first recommendation"), ("similar", "then first similar list")):
        times = " / ".join(f"{run[key]:.2f}" for run in runs)
        print(f"  {label:28} {times} s")
    rss = " / ".join(f"{run['rss_mb']:.0f}" for run in runs)
    # Issue 16's targets: under 3 s with the 100,000-product model; a million products may take up to the 15 s
    # a model load may take.
    target = 3 if PRODUCTS <= 100_000 else 15
    print(f"  RSS after both {rss} MB; target first recommendation "
          f"under {target} s: {'met' if max(run['recommendation'] for run in runs) < target else 'NOT met'}")
    return {"runs": runs}


def _one(path: str) -> dict:
    env = dict(os.environ, SQLITE_PATH=path, RECONCILE_SCHEDULE="0 0 0 1 1 *")
    started = time.time()
    output = subprocess.run([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True).stdout
    child = json.loads(output.strip().splitlines()[-1])
    if child["strategy"] != "personalized":
        raise RuntimeError(f"the first recommendation was {child['strategy']}, not personalized")
    return {"recommendation": child["recommended"] - started, "similar": child["similar"] - child["recommended"],
            "rss_mb": child["rss_mb"]}
