"""The bought-together task of the offline evaluation: in each test-window order with at least two products the
model knows, hide one and ask with another; a hit when the hidden product is among the first k answers. The
same task scores every list that answers "given this product" (bought-together, similar products)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class BasketTask:
    order_id: str
    query: str
    hidden: str


def window_baskets(orders: Iterable[dict], cutoff: str) -> list[tuple[str, list[str]]]:
    """(order id, distinct products) of every order created at or after the cutoff (the test window)."""
    baskets = []
    for order in orders:
        if order["createdAt"] >= cutoff:
            products = sorted({line["productId"] for line in order["items"]})
            if len(products) >= 2:
                baskets.append((f"{order['userId']}/{order.get('orderId', '')}", products))
    return baskets


def basket_tasks(baskets: list[tuple[str, list[str]]], known: Callable[[str], bool]) -> list[BasketTask]:
    """One (query, hidden) pair per basket among the products the model knows, drawn reproducibly per order."""
    tasks = []
    for order_id, products in baskets:
        usable = [pid for pid in products if known(pid)]
        if len(usable) >= 2:
            hidden, query = random.Random(order_id).sample(usable, 2)
            tasks.append(BasketTask(order_id, query, hidden))
    return tasks


def hit_rate(tasks: list[BasketTask], answer: Callable[[str], list[str]], k: int) -> dict[str, float]:
    """Share of tasks whose hidden product is in the first k answers for the query, and how many answered."""
    hits = answered = 0
    for task in tasks:
        ranked = answer(task.query)[:k]
        answered += bool(ranked)
        hits += task.hidden in ranked
    count = max(len(tasks), 1)
    return {"hit_rate": round(hits / count, 5), "answered": round(answered / count, 5)}
