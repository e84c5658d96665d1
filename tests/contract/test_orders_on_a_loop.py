"""Orders placed on an event loop (`OrderService.place_async`, what the create_order function calls): on both
stores each order is stored once and answered as created, replayed or refused; on the embedded store the
orders of one moment are written together (shared.services.order_writes) and each is on disk when answered."""
from __future__ import annotations

import asyncio

import pytest

from shared.adapters.sqlite_store import SqliteStore
from shared.domain.errors import ConflictError, ValidationError
from shared.domain.ports import ORDERS
from shared.services.orders import OrderService
from tests.contract.store_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def order(number: int, product: str = "p1") -> dict:
    return {"orderId": f"o-{number}", "userId": f"user-{number % 5}", "items": [{"productId": product, "quantity": 1}]}


async def place_all(service: OrderService, bodies: list[dict]) -> list:
    return await asyncio.gather(*(service.place_async(body) for body in bodies), return_exceptions=True)


def test_concurrent_orders_are_each_stored_once_and_answered_by_outcome(store):
    service = OrderService(store)
    bodies = [order(n) for n in range(24)] + [order(3), order(7)] + [order(11, product="another")] + \
        [{"userId": "u1", "items": []}]
    outcomes = asyncio.run(place_all(service, bodies))
    created = [outcome for outcome in outcomes[:24] if not isinstance(outcome, Exception)]
    repeats = outcomes[24:26]
    # Each of o-3 and o-7 sent twice at once: one of the two is created, the other answered as a replay.
    assert len(created) == 24 and not any(isinstance(outcome, Exception) for outcome in repeats)
    assert sum(placed.created for placed in created + repeats) == 24
    assert isinstance(outcomes[26], ConflictError)      # o-11 with other items: refused
    assert isinstance(outcomes[27], ValidationError)    # nothing written for it
    stored = sorted(doc["id"] for doc in store.scan(ORDERS))
    assert stored == sorted(f"o-{n}" for n in range(24))
    for placed in created:   # readable as answered, with the id and items the shopper sent
        again = service.get(placed.order["userId"], placed.order["orderId"])
        assert again["items"] == placed.order["items"]


class CountingStore(SqliteStore):
    """The SQLite store, counting how many orders each batched write carried."""

    def __init__(self, path: str):
        super().__init__(path)
        self.batches: list[int] = []

    def create_each(self, container, docs):
        self.batches.append(len(docs))
        return super().create_each(container, docs)


def test_on_the_embedded_store_orders_of_one_moment_share_one_write_and_are_committed_when_answered(tmp_path):
    store = CountingStore(str(tmp_path / "orders.sqlite3"))
    service = OrderService(store)
    other = SqliteStore(store.path)   # another connection: sees only what is committed

    async def place_and_check(number: int) -> bool:
        placed = await service.place_async(order(number))
        return placed.created and other.read(ORDERS, placed.order["orderId"], placed.order["userId"]) is not None

    async def all_of_them():
        return await asyncio.gather(*(place_and_check(n) for n in range(40)))

    assert all(asyncio.run(all_of_them()))
    assert sum(store.batches) == 40 and max(store.batches) > 1   # the first alone, the rest together
    assert store.count(ORDERS) == 40
    other.close()
    store.close()
