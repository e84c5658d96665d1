"""Offline evaluation through the serving path: split orders by time, train on the past, ask the
recommendation service (the code the HTTP function calls) for every test user, score the answers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from shared.domain.validation import format_timestamp, parse_timestamp


@dataclass
class Split:
    cutoff: str
    train_orders: list[dict] = field(default_factory=list)
    targets: dict[str, set[str]] = field(default_factory=dict)     # test user -> products new to them


def split_by_time(orders: list[dict], test_days: int) -> Split:
    """The last `test_days` days are the test window; test users bought before it; targets are products a
    test user bought in the window and never before."""
    newest = max(order["createdAt"] for order in orders)
    cutoff = format_timestamp(parse_timestamp(newest, "createdAt") - timedelta(days=test_days))
    split = Split(cutoff)
    bought_before: dict[str, set[str]] = {}
    later: list[dict] = []
    for order in orders:
        if order["createdAt"] < cutoff:
            split.train_orders.append(order)
            bought_before.setdefault(order["userId"], set()).update(line["productId"] for line in order["items"])
        else:
            later.append(order)
    for order in later:
        history = bought_before.get(order["userId"])
        if history is None:
            continue
        new = {line["productId"] for line in order["items"]} - history
        if new:
            split.targets.setdefault(order["userId"], set()).update(new)
    return split


def metrics_at(ranked: list[str], relevant: set[str], k: int) -> dict[str, float]:
    top = ranked[:k]
    hits = [1.0 if pid in relevant else 0.0 for pid in top]
    dcg = sum(hit / math.log2(rank + 2) for rank, hit in enumerate(hits))
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(relevant), k)))
    precisions = [sum(hits[:rank + 1]) / (rank + 1) for rank, hit in enumerate(hits) if hit]
    return {"precision": sum(hits) / k, "recall": sum(hits) / len(relevant), "ndcg": dcg / ideal if ideal else 0.0,
            "map": sum(precisions) / min(len(relevant), k)}


def summarize(per_user: list[dict[str, float]], recommended: set[str], catalogue_size: int) -> dict[str, float]:
    count = max(len(per_user), 1)
    result = {name: round(sum(row[name] for row in per_user) / count, 5)
              for name in ("precision", "recall", "ndcg", "map")}
    result["coverage"] = round(len(recommended) / catalogue_size, 5) if catalogue_size else 0.0
    return result


def evaluate_lists(lists: dict[str, list[str]], targets: dict[str, set[str]], k: int,
                   catalogue_size: int) -> dict[str, float]:
    rows, seen = [], set()
    for user, relevant in targets.items():
        ranked = lists.get(user, [])
        seen.update(ranked[:k])
        rows.append(metrics_at(ranked, relevant, k))
    return summarize(rows, seen, catalogue_size)

