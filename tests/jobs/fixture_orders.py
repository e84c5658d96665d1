"""Synthetic order documents with clusters of taste, and the shared (numpy) weighting of the same orders."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import numpy as np
from scipy.sparse import csr_matrix

from shared.domain import weighting
from shared.domain.validation import format_timestamp, parse_timestamp

USERS, PRODUCTS, CLUSTERS = 60, 40, 4
STAPLE = "p-39"                      # bought by every user: its idf is clipped to 0
START = datetime(2024, 1, 1, 8, 0, tzinfo=timezone.utc)


def make_orders(seed: int = 7) -> list[dict]:
    """About 300 orders of 60 users over 200 days; user u mostly buys from cluster u % 4."""
    rng = random.Random(seed)
    per_cluster = (PRODUCTS - 1) // CLUSTERS
    orders = []
    for user in range(USERS):
        cluster = user % CLUSTERS
        own = [f"p-{cluster * per_cluster + k:02d}" for k in range(per_cluster)]
        for number in range(rng.randint(3, 7)):
            lines = [rng.choice(own) if rng.random() < 0.85 else f"p-{rng.randrange(PRODUCTS - 1):02d}"
                     for _ in range(rng.randint(1, 4))]
            if number == 0:
                lines.append(STAPLE)
            created = START + timedelta(days=rng.uniform(0, 200), milliseconds=rng.randrange(1000))
            received = created + timedelta(milliseconds=rng.randrange(5000))
            orders.append(_order(f"o-{user:02d}-{number}", f"u-{user:02d}", lines, created, received))
    orders[0]["items"].append(dict(orders[0]["items"][0]))       # the same product twice in one order
    newest = max(parse_timestamp(order["receivedAt"], "receivedAt") for order in orders)
    # Received close to the cutoff (one of them created long before: an order that arrived late).
    late = [_order("o-late-1", "u-01", ["p-00"], newest - timedelta(days=30), newest + timedelta(seconds=90)),
            _order("o-late-2", "u-02", ["p-10", "p-11"], newest + timedelta(seconds=30),
                   newest + timedelta(seconds=31)),
            _order("o-old-recv", "u-03", ["p-20"], newest - timedelta(days=2), newest - timedelta(seconds=60))]
    # A shopper who stopped buying years before the rest: their reference is their own newest order plus the
    # lag (shared.domain.weighting), not the newest order of all, which would decay them to nothing.
    lapsed = [_order(f"o-lapsed-{n}", "u-lapsed", [f"p-0{n}", "p-05"], START - timedelta(days=1500 + 40 * n),
                     START - timedelta(days=1500 + 40 * n)) for n in range(3)]
    return orders + late + lapsed + [{"id": "o-empty", "userId": "u-04", "items": [], "type": "order",
                             "createdAt": format_timestamp(START), "receivedAt": format_timestamp(START)}]


def _order(order_id, user_id, products, created, received) -> dict:
    return {"id": order_id, "userId": user_id, "type": "order",
            "items": [{"productId": pid, "quantity": 1 + len(pid) % 3, "unitPrice": 2.5} for pid in products],
            "createdAt": format_timestamp(created), "receivedAt": format_timestamp(received)}


def shared_weights(orders: list[dict], half_life_days: float, k1: float, b: float) -> dict:
    """The shared definition computed with numpy: {"raw": {(u, p): r}, "weight": {(u, p): w}, ...}."""
    with_items = [order for order in orders if order["items"]]
    reference = max(parse_timestamp(order["createdAt"], "createdAt") for order in with_items)
    newest: dict[str, float] = {}
    for order in with_items:
        seconds = parse_timestamp(order["createdAt"], "createdAt").timestamp()
        newest[order["userId"]] = max(newest.get(order["userId"], seconds), seconds)
    references = {user: float(weighting.user_reference(reference.timestamp(), seconds, half_life_days))
                  for user, seconds in newest.items()}
    raw: dict[tuple[str, str], float] = {}
    for order in with_items:
        age = references[order["userId"]] - parse_timestamp(order["createdAt"], "createdAt").timestamp()
        unit = float(weighting.decay(age / weighting.SECONDS_PER_DAY, half_life_days))
        for line in order["items"]:
            key = (order["userId"], line["productId"])
            raw[key] = raw.get(key, 0.0) + unit
    users = sorted({user for user, _ in raw})
    products = sorted({product for _, product in raw})
    rows = [users.index(user) for user, _ in raw]
    cols = [products.index(product) for _, product in raw]
    matrix = csr_matrix((list(raw.values()), (rows, cols)), shape=(len(users), len(products)))
    document_frequency = np.bincount(cols, minlength=len(products))
    idf = weighting.idf(document_frequency, len(users))
    weights, mean = weighting.bm25_matrix(matrix, idf, k1, b)
    weights = weights.tocoo()
    weight = {key: 0.0 for key in raw}   # scipy may drop the entries that BM25 made zero (idf clipped to 0)
    weight.update({(users[u], products[p]): float(value)
                   for u, p, value in zip(weights.row, weights.col, weights.data)})
    return {"raw": raw, "weight": weight, "idf": dict(zip(products, idf)), "meanRowSum": mean,
            "users": len(users), "reference": format_timestamp(reference),
            "user_references": {user: format_timestamp(datetime.fromtimestamp(seconds, timezone.utc))
                                for user, seconds in references.items()}}
