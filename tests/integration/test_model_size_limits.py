"""The local trainer at the largest parameters the API accepts (512 factors, the largest similar_k and
popular_k, 128-character ids) writes no document over Cosmos DB's item limit, and the model still serves."""
from __future__ import annotations

import json

import pytest

from shared.adapters.local_trainer import train_model
from shared.domain import model_docs
from shared.domain.ports import MODELS, ORDERS, USER_VECTORS
from shared.domain.training_params import MAX_POPULAR_K, MAX_SIMILAR_K, TrainingParams
from shared.services.model_cache import load_model
from tests.jobs.wide_orders import wide_orders

VERSION = "20240401T000000Z-wide0001"
LARGEST = TrainingParams(factors=512, iterations=2, similar_k=MAX_SIMILAR_K, popular_k=MAX_POPULAR_K)


def utf8_json_bytes(doc: dict) -> int:
    return len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def test_largest_parameters_write_no_document_over_the_limit_and_the_model_loads(sqlite_store):
    orders = wide_orders()
    sqlite_store.upsert_many(ORDERS, orders)
    manifest = train_model(sqlite_store, VERSION, LARGEST)
    models = [doc for _, doc in sqlite_store.read_changes(MODELS, 0, 100_000)]
    users = [doc for _, doc in sqlite_store.read_changes(USER_VECTORS, 0, 100_000)]
    for doc in models + users:
        assert model_docs.json_bytes(doc) <= 2_000_000, (doc["type"], doc["id"])
        assert utf8_json_bytes(doc) <= 2_000_000
        model_docs.validate(doc, LARGEST.factors)
    kinds = [doc["type"] for doc in models]
    # The sizes matter here: several shards of each kind, each close to the shard budget.
    assert manifest["shards"] == {"products": kinds.count("productShard"), "similar": kinds.count("similarShard"),
                                  "boughtTogether": kinds.count("boughtTogetherShard")}
    assert manifest["shards"]["products"] >= 2 and manifest["shards"]["similar"] >= 10
    assert max(model_docs.json_bytes(doc) for doc in models) > 1_500_000
    model = load_model(sqlite_store, VERSION)
    assert len(model.product_ids) == manifest["counts"]["products"] == 700
    assert model.vectors.shape == (700, 512)
    lists = model.similar(sqlite_store)
    similar = {pid: lists.get(pid) for pid in model.product_ids}
    assert all(pairs is not None and len(pairs) <= MAX_SIMILAR_K for pairs in similar.values())
    assert max(len(pairs) for pairs in similar.values()) == MAX_SIMILAR_K
    assert lists.get("not-a-product") is None and lists.get("") is None and lists.get("~~~") is None


def test_a_user_document_over_the_limit_fails_the_run_before_the_manifest(sqlite_store):
    """A shopper with some 1,400 distinct products of astral-character ids: their userVector document (which
    holds the interactions fold-in needs) would be over 2 MB, so the run fails and no model becomes complete."""
    from shared.domain.orders import parse_order
    from tests.jobs.wide_orders import long_id

    heavy = [long_id("p", 3 * n + 2) for n in range(1400)]  # filler index 2: astral characters
    orders = [parse_order({"orderId": f"o-heavy-{n}", "userId": "u-heavy", "createdAt": "2024-03-02T00:00:00.000Z",
                           "items": [{"productId": pid, "quantity": 1} for pid in heavy[n:n + 100]]})
              .to_document("2024-03-02T00:00:00.000Z") for n in range(0, len(heavy), 100)]
    sqlite_store.upsert_many(ORDERS, orders + wide_orders(users=20, products=60))
    with pytest.raises(ValueError, match="userVector 'u-heavy' is .* over the 2,000,000-byte limit"):
        train_model(sqlite_store, VERSION, TrainingParams(factors=8, iterations=2))
    written = [doc for _, doc in sqlite_store.read_changes(USER_VECTORS, 0, 100_000)]
    assert all(doc["id"] != "u-heavy" for doc in written)
    assert not [doc for _, doc in sqlite_store.read_changes(MODELS, 0, 100_000) if doc["type"] == "manifest"]
