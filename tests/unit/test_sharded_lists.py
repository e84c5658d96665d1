"""Per-product lists read a shard at a time (shared.services.sharded_lists), over a real SQLite store."""
from __future__ import annotations

import math

from shared import store_calls
from shared.domain import model_docs
from shared.domain.ports import MODELS
from shared.services.sharded_lists import ShardedLists

VERSION = "20240501T000000Z-simi0001"


def write_lists(store, products: int = 400, budget: int = 1_200) -> tuple[dict, int]:
    lists = {f"p{n:04d}": [[f"p{(n + step) % products:04d}", round(1 - step / 10, 3)] for step in range(1, 6)]
             for n in range(0, products, 2)}   # only the even products have a list
    shards = list(model_docs.similar_shards(VERSION, lists, budget))
    store.upsert_many(MODELS, shards)
    return lists, len(shards)


def test_every_list_is_found_and_products_without_one_get_none(sqlite_store):
    lists, count = write_lists(sqlite_store)
    assert count >= 16
    similar = ShardedLists(sqlite_store, VERSION, "similar", count)
    for n in range(400):
        assert similar.get(f"p{n:04d}") == lists.get(f"p{n:04d}")
    assert similar.get("a") is None and similar.get("z", []) == []


def test_a_lookup_reads_a_few_shards_first_and_at_most_one_afterwards(sqlite_store):
    lists, count = write_lists(sqlite_store)
    similar = ShardedLists(sqlite_store, VERSION, "similar", count)
    with store_calls.recording() as first:
        assert similar.get("p0200") == lists["p0200"]
    assert 1 <= len(first.calls) <= math.ceil(math.log2(count)) + 1
    for n in range(0, 400, 2):   # every shard's bounds known now
        similar.get(f"p{n:04d}")
    for product in ("p0000", "p0398", "p0100", "p0302"):
        with store_calls.recording() as later:
            assert similar.get(product) == lists[product]
        assert len(later.calls) <= 1


def test_a_missing_shard_means_no_precomputed_list_not_an_error(sqlite_store):
    lists, count = write_lists(sqlite_store)
    middle = count // 2
    sqlite_store.delete(MODELS, model_docs.shard_id("similar", middle), VERSION)
    similar = ShardedLists(sqlite_store, VERSION, "similar", count)
    found = {pid: similar.get(pid) for pid in lists}
    assert None in found.values()
    assert all(pairs == lists[pid] for pid, pairs in found.items() if pairs is not None)
