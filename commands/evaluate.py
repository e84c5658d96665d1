"""`manage.py evaluate PATH`: recommendation quality on real orders, measured through the serving path.

Loads the orders into a fresh embedded store (the importer), splits by time, trains with the configured
defaults on the training part only, asks the recommendation service (the code behind the HTTP function,
purchased products excluded) for every test user, and scores model and popularity baseline."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import replace

from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.domain.orders import parse_order
from shared.domain.ports import ORDERS
from shared.domain.training_params import TrainingParams
from shared.services.basket_evaluation import basket_tasks, hit_rate, window_baskets
from shared.services.evaluation import evaluate_lists, split_by_time
from shared.services.order_import import ImportStats, open_text, read_orders

CURVE_MAX_K = 20


def add_arguments(parser) -> None:
    parser.add_argument("path", help="orders file (Online Retail CSV, gzipped or not, or JSON lines)")
    parser.add_argument("--test-days", type=int, default=30)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", dest="json_out", help="write the results as JSON to this file")
    parser.add_argument("--report", help="write a Markdown report with a chart into this folder")


class Evaluation:
    """A loaded, split data set in a fresh store, ready to train and score parameter sets (tune reuses it)."""

    def __init__(self, path: str, test_days: int, progress: bool = True):
        folder = tempfile.mkdtemp(prefix="evaluate-")
        settings = replace(bootstrap.settings(), store_backend="sqlite",
                           sqlite_path=os.path.join(folder, "store.sqlite3"))
        bootstrap.override(settings=settings, store=bootstrap.build_store(settings))
        self.store = bootstrap.store()
        stats, self.catalogue = ImportStats(), {}
        with open_text(path) as handle:
            orders = [body for body, _ in read_orders(handle, stats, self.catalogue)]
        self.split = split_by_time(orders, test_days)
        self.test_baskets = window_baskets(orders, self.split.cutoff)
        docs = [parse_order(body).to_document(body["createdAt"]) for body in self.split.train_orders]
        self.store.upsert_many(ORDERS, docs)
        self.progress = progress
        self.versions = 0

    def run(self, params: TrainingParams, k: int, curve: bool = False) -> dict:
        self.versions += 1
        version = f"20000101T000000Z-eval{self.versions:04d}"
        started = time.perf_counter()
        train_model(self.store, version, params, bootstrap.settings().training_threads)
        train_seconds = time.perf_counter() - started
        bootstrap.model_registry().activate(version)
        bootstrap.model_cache().invalidate()
        depth = max(k, CURVE_MAX_K if curve else k)
        model_lists, popular_lists = self._lists(depth)
        result = {"k": k, "test_users": len(self.split.targets),
                  "model": evaluate_lists(model_lists, self.split.targets, k, len(self.catalogue)),
                  "popularity": evaluate_lists(popular_lists, self.split.targets, k, len(self.catalogue)),
                  "train_seconds": round(train_seconds, 3), "model_version": version,
                  "baskets": self._baskets(k)}
        if curve:
            result["curve"] = {name: [evaluate_lists(lists, self.split.targets, at, len(self.catalogue))
                                      for at in range(1, CURVE_MAX_K + 1)]
                               for name, lists in (("model", model_lists), ("popularity", popular_lists))}
        return result

    def _baskets(self, k: int) -> dict:
        """Held-out baskets: hit rate at k of bought-together and of similar products on the same pairs."""
        service = bootstrap.recommendation_service()
        model = bootstrap.model_cache().current()
        tasks = basket_tasks(self.test_baskets, lambda pid: pid in model.index)
        result = {"tasks": len(tasks)}
        for name, ask in (("boughtTogether", service.bought_together), ("similar", service.similar)):
            result[name] = hit_rate(tasks, lambda pid: [item["productId"] for item in ask(pid, k=k)["items"]], k)
        return result

    def _lists(self, depth: int):
        service = bootstrap.recommendation_service()
        popular = [item["productId"] for item in service.popular(k=100)["items"]]
        users = sorted(self.split.targets)
        if self.progress:
            from tqdm import tqdm
            users = tqdm(users, desc="recommend", unit=" users", file=sys.stderr, mininterval=0.5)
        model_lists, popular_lists = {}, {}
        bought = {}
        for order in self.split.train_orders:
            bought.setdefault(order["userId"], set()).update(line["productId"] for line in order["items"])
        for user in users:
            model_lists[user] = [item["productId"] for item in service.for_user(user, k=depth)["items"]]
            popular_lists[user] = [pid for pid in popular if pid not in bought.get(user, ())][:depth]
        return model_lists, popular_lists


def run(args) -> int:
    if not os.path.exists(args.path):
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    print("Loading and splitting orders ...", file=sys.stderr, flush=True)
    evaluation = Evaluation(args.path, args.test_days)
    result = evaluation.run(TrainingParams(), args.k, curve=bool(args.report))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print_table(result)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump({key: value for key, value in result.items() if key != "curve"}, handle, indent=2)
    if args.report:
        from commands.evaluation_report import write_report
        print(f"Report: {write_report(result, args.report, args.path, args.test_days)}")
    return 0


def print_table(result: dict) -> None:
    k = result["k"]
    print(f"{result['test_users']} test users, k={k}, trained in {result['train_seconds']} s, "
          f"{result.get('seconds', '?')} s in all")
    print(f"{'':12}{'precision':>11}{'recall':>9}{'ndcg':>9}{'map':>9}{'coverage':>10}")
    for name in ("model", "popularity"):
        row = result[name]
        print(f"{name:12}{row['precision']:>11.4f}{row['recall']:>9.4f}{row['ndcg']:>9.4f}{row['map']:>9.4f}"
              f"{row['coverage']:>10.4f}")
    baskets = result.get("baskets")
    if baskets:
        print(f"held-out baskets ({baskets['tasks']} test-window orders, one product hidden, asked with another):")
        for name in ("boughtTogether", "similar"):
            row = baskets[name]
            print(f"  {name:14} hit rate@{k} {row['hit_rate']:.4f}   answered {row['answered']:.4f}")
