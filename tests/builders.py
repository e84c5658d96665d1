"""Small synthetic data for tests: orders with known structure, and a trained, active model on them."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from shared.adapters.local_trainer import train_model
from shared.domain.orders import parse_order
from shared.domain.ports import ORDERS
from shared.domain.training_params import TrainingParams
from shared.domain.validation import format_timestamp

SMALL = TrainingParams(factors=8, iterations=10, regularization=0.1, similar_k=5, popular_k=50)
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)


def order_body(user: str, products: list[str], day: float, order_id: str | None = None) -> dict:
    body = {"userId": user, "items": [{"productId": pid, "quantity": 1} for pid in products],
            "createdAt": format_timestamp(BASE + timedelta(days=day))}
    if order_id:
        body["orderId"] = order_id
    return body


def clustered_orders(users: int = 60, products: int = 40, clusters: int = 4, seed: int = 3) -> list[dict]:
    """Users keep to one cluster of products (pid % clusters == user % clusters), with a little noise."""
    rng = random.Random(seed)
    bodies = []
    for user in range(users):
        mine = [f"p{pid:03d}" for pid in range(products) if pid % clusters == user % clusters]
        for number in range(rng.randint(2, 5)):
            picks = rng.sample(mine, 3)
            if rng.random() < 0.1:
                picks.append(f"p{rng.randrange(products):03d}")
            bodies.append(order_body(f"u{user:03d}", sorted(set(picks)), rng.uniform(0, 60),
                                     f"o-{user:03d}-{number}"))
    return bodies


def store_orders(store, bodies: list[dict]) -> None:
    store.upsert_many(ORDERS, [parse_order(body).to_document(body["createdAt"]) for body in bodies])


def trained(store, registry, bodies: list[dict], version: str = "20240301T000000Z-test0001",
            params: TrainingParams = SMALL) -> dict:
    store_orders(store, bodies)
    manifest = train_model(store, version, params)
    registry.activate(version)
    return manifest
