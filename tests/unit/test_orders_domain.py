from datetime import datetime, timezone

import pytest

from shared.domain.errors import ValidationError
from shared.domain.orders import MAX_ITEMS, parse_order

NOW = datetime(2024, 5, 1, tzinfo=timezone.utc)


def body(**changes):
    order = {"userId": "u1", "items": [{"productId": "p1", "quantity": 2, "unitPrice": 1.5}]}
    order.update(changes)
    return order


def test_valid_order_is_normalized():
    order = parse_order(body(orderId="o1", createdAt="2024-04-30T10:00:00+02:00"), NOW)
    assert order.order_id == "o1" and order.created_at == "2024-04-30T08:00:00.000Z"
    assert order.lines[0].quantity == 2


def test_missing_order_id_gets_one_and_createdat_defaults_to_now():
    order = parse_order(body(), NOW)
    assert order.order_id and order.created_at == "2024-05-01T00:00:00.000Z"


def test_fingerprint_ignores_order_id_but_not_content():
    assert parse_order(body(orderId="a"), NOW).fingerprint == parse_order(body(orderId="b"), NOW).fingerprint
    other = body(items=[{"productId": "p1", "quantity": 3}])
    assert parse_order(other, NOW).fingerprint != parse_order(body(), NOW).fingerprint


@pytest.mark.parametrize("bad", [
    [],
    "not an object",
    {"items": [{"productId": "p", "quantity": 1}]},
    body(extra=1),
    body(items=[]),
    body(items=[{"productId": "p", "quantity": 1}] * (MAX_ITEMS + 1)),
    body(items=[{"productId": "p", "quantity": 0}]),
    body(items=[{"productId": "p", "quantity": -1}]),
    body(items=[{"productId": "p", "quantity": 10**9}]),
    body(items=[{"productId": "p", "quantity": 1.5}]),
    body(items=[{"productId": "p", "quantity": True}]),
    body(items=[{"productId": "p", "quantity": 1, "colour": "red"}]),
    body(items=[{"productId": "p", "quantity": 1, "unitPrice": -2}]),
    body(items=[{"productId": "", "quantity": 1}]),
    body(items="p1"),
    body(userId="x" * 129),
    body(userId="bad\x00id"),
    body(userId="a/b"),
    body(userId=42),
    body(orderId="line\nbreak"),
    body(createdAt="yesterday"),
    body(createdAt="2999-01-01T00:00:00Z"),
])
def test_bad_orders_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_order(bad, NOW)
