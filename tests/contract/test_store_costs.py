"""What the paths that run all the time cost in store calls, counted through shared.store_calls on a real
SQLite store (the same calls Cosmos DB would be asked for; bench/costs.py prices them on the protocol server).

A change feed batch and a reconcile tick must cost the same whether the store holds 1,000 or 1,000,000 orders:
no query across partitions, nothing that reads the orders container at all."""
from __future__ import annotations

import pytest

from shared import store_calls
from shared.adapters.sqlite_store import SqliteStore
from shared.domain.ports import ORDERS
from shared.domain.retrain_policy import RetrainPolicy
from shared.services.models import ModelRegistry
from shared.services.training import TrainingService
from tests.builders import SMALL, clustered_orders, trained
from tests.fakes.trainers import FakeClock, FakeRuns, FakeTrainer

BATCH = 100
CHUNK = 100_000


def stored_orders(count: int, received: str = "2024-01-01T00:00:00.000Z"):
    for number in range(count):
        yield {"id": f"bulk-{number}", "userId": f"bulk-user-{number % 50_000}", "type": "order",
               "items": [{"productId": f"p{number % 40:03d}", "quantity": 1, "unitPrice": 1.0}],
               "createdAt": received, "receivedAt": received, "fingerprint": "x"}


def new_batch(prefix: str) -> list[dict]:
    return [{"id": f"{prefix}-{number}", "userId": f"shopper-{number}", "type": "order", "items": [],
             "createdAt": "2030-01-01T00:00:00.000Z", "receivedAt": f"2030-01-01T00:00:{number % 60:02d}.000Z"}
            for number in range(BATCH)]


def costs_with(tmp_path, orders_stored: int) -> list[tuple[str, str, str]]:
    store = SqliteStore(str(tmp_path / f"store-{orders_stored}.sqlite3"))
    try:
        trained(store, ModelRegistry(store), clustered_orders())      # an active model, as in production
        chunk: list[dict] = []
        for doc in stored_orders(orders_stored):                      # then many orders, through the real store
            chunk.append(doc)
            if len(chunk) == CHUNK:
                store.upsert_many(ORDERS, chunk)
                chunk = []
        store.upsert_many(ORDERS, chunk)
        assert store.count(ORDERS) >= orders_stored
        service = TrainingService(store, FakeTrainer(FakeRuns()), ModelRegistry(store),
                                  RetrainPolicy(3 * BATCH, 0, 86400), params=SMALL, clock=FakeClock())
        with store_calls.recording() as calls:
            service.on_orders(new_batch("first"))     # below the threshold: counted only
            service.on_orders(new_batch("first"))     # the same batch redelivered
            service.reconcile()
            service.on_orders(new_batch("second"))
            service.on_orders(new_batch("third"))     # reaches the threshold: a request is recorded and submitted
            service.reconcile()
        [request] = service.requests.recent()        # the threshold was reached once: the count worked
        assert request["state"] == "submitted"
        return calls.summary()
    finally:
        store.close()


def test_a_change_feed_batch_and_a_reconcile_tick_cost_the_same_with_1000_or_1000000_orders(tmp_path):
    small = costs_with(tmp_path, 1_000)
    large = costs_with(tmp_path, 1_000_000)
    assert small == large
    kinds = {kind for _, _, kind in small}
    assert store_calls.CROSS_PARTITION_QUERY not in kinds and ORDERS not in {container for _, container, _ in small}


# -- the request paths -------------------------------------------------------------------------------------------------

@pytest.fixture
def serving(tmp_path):
    from shared.services.catalogue import Catalogue
    from shared.services.model_cache import ModelCache
    from shared.services.recommendations import RecommendationService
    store = SqliteStore(str(tmp_path / "serving.sqlite3"))
    trained(store, ModelRegistry(store), clustered_orders())
    catalogue = Catalogue(store)
    catalogue.put("p001", {"title": "Mug", "category": "kitchen", "inStock": False})
    service = RecommendationService(store, ModelCache(store), catalogue)
    service.for_user("u001")     # the process warms up: model and catalogue in memory
    yield store, service, catalogue
    store.close()


def test_a_recommendation_for_a_known_user_is_one_point_read_and_one_single_partition_query(serving):
    store, service, _ = serving
    with store_calls.recording() as calls:
        result = service.for_user("u001")
    assert result["strategy"] == "personalized"
    # Asked for before (by the fixture): the user document is read only if its etag changed, still a point read.
    assert calls.summary() == [("read_if_changed", "userVectors", store_calls.POINT_READ),
                               ("query", ORDERS, store_calls.SINGLE_PARTITION_QUERY)]
    with store_calls.recording() as calls:
        service.for_user("u002")   # not asked for before: read whole
    assert calls.summary() == [("read", "userVectors", store_calls.POINT_READ),
                               ("query", ORDERS, store_calls.SINGLE_PARTITION_QUERY)]


def test_placing_an_order_is_one_write_and_a_retry_one_read_more(serving):
    from shared.services.orders import OrderService
    store = serving[0]
    body = {"orderId": "o-new", "userId": "u001", "items": [{"productId": "p002", "quantity": 1}]}
    with store_calls.recording() as calls:
        OrderService(store).place(body)
    assert calls.summary() == [("create", ORDERS, store_calls.WRITE)]
    with store_calls.recording() as calls:
        OrderService(store).place(body)
    assert calls.summary() == [("create", ORDERS, store_calls.WRITE), ("read", ORDERS, store_calls.POINT_READ)]


def test_the_catalogue_is_refreshed_off_the_request_path_reading_only_what_changed(serving):
    from shared.services.catalogue import Catalogue
    store, _, catalogue = serving
    elsewhere = Catalogue(store)          # another instance changes the catalogue
    elsewhere.put("p002", {"title": "Pan", "inStock": False})
    catalogue._refresh = 0                # the snapshot is now due for a refresh
    with store_calls.recording() as calls:
        before = catalogue.snapshot()     # the request goes on with the snapshot it has ...
        catalogue.wait_for_refresh(30)    # ... while one refresh runs beside it
    assert "p002" not in before and catalogue.snapshot()["p002"]["inStock"] is False
    [refresh] = calls.calls[:1]
    # Only what was written since the newest _ts seen: p002, and p001 again if both share a second.
    assert (refresh.container, refresh.operation) == ("products", "scan") and refresh.items in (1, 2)
