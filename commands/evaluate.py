"""`manage.py evaluate PATH`: recommendation quality on real orders, measured through the serving path.

Loads the orders into a fresh embedded store (the importer), splits by time, trains with the configured
defaults on the training part only, builds trending from the training part only (the change feed's own
updater, as of the cut), asks the recommendation service (the code behind the HTTP functions, purchased
products excluded) for every test user, and scores every list: the personalized list (ALS blended with
trending), ALS alone, trending and popularity."""
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
from shared.domain.interactions import to_epoch_seconds
from shared.domain.ports import ORDERS
from shared.domain.training_params import TrainingParams
from shared.domain.trending import RankingParams
from shared.services.basket_evaluation import basket_tasks, hit_rate, window_baskets
from shared.services.evaluation import evaluate_lists, split_by_time
from shared.services.order_import import ImportStats, open_text, read_orders
from shared.services.trending import TrendingBoard, TrendingUpdater

CURVE_MAX_K = 20
LISTS = ("model", "als", "trending", "popularity")   # "model" is the personalized list as served


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
        # Trending as the change feed would have built it by the cut: the training orders through the
        # updater, with the clock at the cut (the longest window allowed, so tune can try any window).
        self.cutoff_seconds = float(to_epoch_seconds([self.split.cutoff])[0])
        updater = TrendingUpdater(self.store, RankingParams(trending_window_days=60),
                                  clock=lambda: self.cutoff_seconds)
        for start in range(0, len(docs), 500):   # change feed sized batches
            updater.add(docs[start:start + 500])
        self.progress = progress
        self.versions = 0
        self._trained: tuple[TrainingParams, str, float] | None = None
        self._basket_results: dict = {}

    def run(self, params: TrainingParams, k: int, curve: bool = False, ranking: RankingParams | None = None) -> dict:
        """Scores every list for these training and ranking parameters; trains only when `params` changed."""
        version, train_seconds = self._train(params)
        ranking = ranking or bootstrap.settings().ranking_params()
        depth = max(k, CURVE_MAX_K if curve else k)
        lists = self._lists(depth, ranking)
        result = {"k": k, "test_users": len(self.split.targets), "ranking": ranking.to_json(),
                  **{name: evaluate_lists(lists[name], self.split.targets, k, len(self.catalogue))
                     for name in LISTS},
                  "train_seconds": round(train_seconds, 3), "model_version": version,
                  "baskets": self._baskets(version, k)}
        if curve:
            result["curve"] = {name: [evaluate_lists(lists[name], self.split.targets, at, len(self.catalogue))
                                      for at in range(1, CURVE_MAX_K + 1)] for name in LISTS}
        return result

    def _train(self, params: TrainingParams) -> tuple[str, float]:
        if self._trained is None or self._trained[0] != params:
            self.versions += 1
            version = f"20000101T000000Z-eval{self.versions:04d}"
            started = time.perf_counter()
            train_model(self.store, version, params, bootstrap.settings().training_threads)
            self._trained = (params, version, time.perf_counter() - started)
            bootstrap.model_registry().activate(version)
        return self._trained[1], self._trained[2]

    def _service(self, ranking: RankingParams):
        """The recommendation service as bootstrap builds it, with these ranking settings and trending as
        of the cut (an instance whose clock stands at the cut)."""
        settings = replace(bootstrap.settings(), trending_half_life_days=ranking.trending_half_life_days,
                           trending_window_days=ranking.trending_window_days,
                           trending_weight=ranking.trending_weight)
        board = TrendingBoard(self.store, ranking, refresh_seconds=float("inf"), clock=lambda: self.cutoff_seconds)
        bootstrap.override(settings=settings, trending_board=board)
        return bootstrap.recommendation_service()

    def _baskets(self, version: str, k: int) -> dict:
        """Held-out baskets: hit rate at k of bought-together and of similar products on the same pairs
        (once per model: the ranking parameters do not change these lists)."""
        if (version, k) in self._basket_results:
            return self._basket_results[(version, k)]
        service = bootstrap.recommendation_service()
        model = bootstrap.model_cache().current()
        tasks = basket_tasks(self.test_baskets, lambda pid: pid in model.index)
        result = {"tasks": len(tasks)}
        for name, ask in (("boughtTogether", service.bought_together), ("similar", service.similar)):
            result[name] = hit_rate(tasks, lambda pid: [item["productId"] for item in ask(pid, k=k)["items"]], k)
        self._basket_results[(version, k)] = result
        return result

    def _lists(self, depth: int, ranking: RankingParams) -> dict[str, dict[str, list[str]]]:
        service = self._service(ranking)
        popular = [item["productId"] for item in service.popular(k=100)["items"]]
        trending = [item["productId"] for item in service.trending(k=100)["items"]]
        als_only = self._service(replace(ranking, trending_weight=0.0))
        users = sorted(self.split.targets)
        if self.progress:
            from tqdm import tqdm
            users = tqdm(users, desc="recommend", unit=" users", file=sys.stderr, mininterval=0.5)
        lists: dict[str, dict[str, list[str]]] = {name: {} for name in LISTS}
        bought = {}
        for order in self.split.train_orders:
            bought.setdefault(order["userId"], set()).update(line["productId"] for line in order["items"])
        for user in users:
            lists["model"][user] = [item["productId"] for item in service.for_user(user, k=depth)["items"]]
            lists["als"][user] = [item["productId"] for item in als_only.for_user(user, k=depth)["items"]]
            lists["popularity"][user] = [pid for pid in popular if pid not in bought.get(user, ())][:depth]
            lists["trending"][user] = [pid for pid in trending if pid not in bought.get(user, ())][:depth]
        return lists


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
    for name in LISTS:
        row = result[name]
        print(f"{name:12}{row['precision']:>11.4f}{row['recall']:>9.4f}{row['ndcg']:>9.4f}{row['map']:>9.4f}"
              f"{row['coverage']:>10.4f}")
    baskets = result.get("baskets")
    if baskets:
        print(f"held-out baskets ({baskets['tasks']} test-window orders, one product hidden, asked with another):")
        for name in ("boughtTogether", "similar"):
            row = baskets[name]
            print(f"  {name:14} hit rate@{k} {row['hit_rate']:.4f}   answered {row['answered']:.4f}")
