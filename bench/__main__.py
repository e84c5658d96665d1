"""`python -m bench [ingest|serving|serving-real|training ...]`: run benchmarks (all by default), print figures."""
import importlib
import sys

ALL = ["ingest", "serving", "serving_real", "cold_start", "training"]

if __name__ == "__main__":
    for name in sys.argv[1:] or ALL:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"bench.{name.replace('-', '_')}").main()
