"""Orders whose model documents are as large as the API allows: ids of the 128-character maximum (ASCII,
escaped Latin-1 and astral characters), for training at the largest factors and similar_k (both trainers)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from shared.domain.orders import parse_order
from shared.domain.validation import MAX_ID_LENGTH, format_timestamp

START = datetime(2024, 3, 1, tzinfo=timezone.utc)
_FILLERS = ("x", "\u00e9", "\U0001f600")


def long_id(prefix: str, number: int) -> str:
    head = f"{prefix}{number:06d}-"
    return head + _FILLERS[number % 3] * (MAX_ID_LENGTH - len(head))


def wide_orders(users: int = 60, products: int = 700, seed: int = 5) -> list[dict]:
    """Order documents as the order API stores them; every product is bought, in clusters of taste."""
    rng = random.Random(seed)
    product_ids = [long_id("p", n) for n in range(products)]
    clusters = 6
    documents = []
    for user in range(users):
        own = product_ids[user % clusters::clusters]
        for number in range(4):
            picks = rng.sample(own, 6) + [rng.choice(product_ids)]
            if number == 0:  # every product bought at least once, so every product has a vector
                picks += product_ids[user::users]
            created = format_timestamp(START + timedelta(days=rng.uniform(0, 60)))
            body = {"orderId": f"o-{user:04d}-{number}", "userId": long_id("u", user), "createdAt": created,
                    "items": [{"productId": pid, "quantity": 1} for pid in sorted(set(picks))]}
            documents.append(parse_order(body).to_document(created))
    return documents
