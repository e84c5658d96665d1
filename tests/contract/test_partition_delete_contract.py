"""The DocumentStore contract for deleting one logical partition (a shopper's data); every adapter passes it."""
from __future__ import annotations

import pytest

from shared.domain.ports import ORDERS, USER_VECTORS, Query
from tests.contract.store_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def order(user, order_id):
    return {"id": order_id, "userId": user, "createdAt": "2024-01-01T00:00:00.000Z", "type": "order", "items": []}


def test_delete_partition_removes_that_partition_only_and_is_idempotent(store):
    store.upsert_many(ORDERS, [order("u1", f"o{number}") for number in range(12)])
    store.create(ORDERS, order("u2", "o1"))            # the same id in another partition stays
    store.create(USER_VECTORS, {"id": "u1", "userId": "u1"})   # the same key in another container stays
    assert store.delete_partition(ORDERS, "u1") == 12
    assert store.query(ORDERS, Query(partition_key="u1")).items == []
    assert [doc["id"] for doc in store.scan(ORDERS)] == ["o1"]
    assert store.read(USER_VECTORS, "u1", "u1")["userId"] == "u1"
    assert store.delete_partition(ORDERS, "u1") == 0
    assert store.delete_partition(ORDERS, "never-seen") == 0


def test_a_partition_can_be_written_again_after_its_delete(store):
    store.create(ORDERS, order("u1", "o1"))
    store.delete_partition(ORDERS, "u1")
    store.create(ORDERS, order("u1", "o1"))   # no tombstone: the id is free again
    assert store.count(ORDERS, Query(partition_key="u1")) == 1
