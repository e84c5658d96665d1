"""Deleting and exporting a shopper's data, through the functions, over a real SQLite store and really trained
models (the local trainer)."""
import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import azure.functions as func
from azure.functions.timer import TimerRequest
import pytest

from functions.recommendations import user_recommendations
from functions.users import delete_user, export_user, manage_delete_user, manage_export_user, sweep_erasures
from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.config import Settings
from shared.domain.ports import ORDERS, TRAINING_RUNS, USER_VECTORS, Query
from shared.services.users import ERASURE_WATCH_SECONDS, erasure_id
from tests.builders import SMALL, clustered_orders, trained
from tests.fakes.oidc_provider import OidcProvider

GONE, KEPT = "u001", "u002"


@pytest.fixture
def shop(wired, settings):
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0), store=wired)
    trained(wired, bootstrap.model_registry(), clustered_orders())
    return wired


def call(function, user, method="GET", headers=None):
    return function(func.HttpRequest(method, f"/api/users/{user}", route_params={"user_id": user},
                                     headers=headers or {}, body=b""))


def body_of(response):
    return json.loads(response.get_body())


def recommend(user):
    return body_of(asyncio.run(user_recommendations(func.HttpRequest(
        "GET", f"/api/users/{user}/recommendations", route_params={"user_id": user}, body=b""))))


def test_export_returns_everything_stored_about_the_shopper(shop):
    exported = body_of(call(export_user, GONE))
    stored = list(shop.scan(ORDERS, Query(partition_key=GONE)))
    assert exported["userId"] == GONE and len(exported["orders"]) == len(stored) > 0
    assert {order["id"] for order in exported["orders"]} == {doc["id"] for doc in stored}
    assert all(order["userId"] == GONE and "items" in order for order in exported["orders"])
    assert exported["userVector"]["userId"] == GONE and exported["userVector"]["vector"]
    assert exported["erasure"] is None
    assert not any(key.startswith("_") for order in exported["orders"] for key in order)


def test_delete_removes_orders_and_vector_of_that_shopper_only_and_is_idempotent(shop):
    kept_orders = shop.count(ORDERS, Query(partition_key=KEPT))
    response = call(delete_user, GONE, "DELETE")
    assert response.status_code == 200
    summary = body_of(response)
    assert summary["deleted"]["orders"] > 0 and summary["deleted"]["userVectors"] == 1
    assert shop.count(ORDERS, Query(partition_key=GONE)) == 0
    assert shop.count(USER_VECTORS, Query(partition_key=GONE)) == 0
    assert shop.count(ORDERS, Query(partition_key=KEPT)) == kept_orders
    assert shop.read(USER_VECTORS, KEPT, KEPT)
    again = call(delete_user, GONE, "DELETE")
    assert again.status_code == 200 and body_of(again)["deleted"] == {"orders": 0, "userVectors": 0}
    exported = body_of(call(export_user, GONE))
    assert exported["orders"] == [] and exported["userVector"] is None
    assert exported["erasure"]["erasedAt"] == body_of(again)["erasedAt"]
    assert recommend(GONE)["strategy"] == "popular"   # nothing personal is left to personalize with


def test_the_next_training_run_no_longer_sees_the_shopper(shop):
    before = bootstrap.model_registry().manifest(bootstrap.model_registry().pointer()["activeVersion"])
    call(manage_delete_user, GONE, "DELETE")
    after = train_model(shop, "20240302T000000Z-test0002", SMALL)
    assert after["counts"]["users"] == before["counts"]["users"] - 1
    assert shop.count(USER_VECTORS, Query(partition_key=GONE)) == 0
    assert shop.read(USER_VECTORS, KEPT, KEPT)["modelVersion"] == "20240302T000000Z-test0002"


def test_a_vector_a_run_in_flight_writes_after_the_deletion_is_swept(shop):
    """A run that read the orders before the deletion writes the shopper's vector after it: the timer deletes it.
    A vector from orders the shopper placed after the deletion is theirs anew and stays."""
    stale = shop.read(USER_VECTORS, GONE, GONE)   # what that run would write
    call(delete_user, GONE, "DELETE")
    shop.upsert(USER_VECTORS, {key: value for key, value in stale.items() if not key.startswith("_")})
    sweep_erasures(TimerRequest(past_due=False))
    assert shop.count(USER_VECTORS, Query(partition_key=GONE)) == 0
    fresh = dict(stale, receivedThrough="2999-01-01T00:00:00.000Z")
    shop.upsert(USER_VECTORS, {key: value for key, value in fresh.items() if not key.startswith("_")})
    assert bootstrap.user_data().sweep() == {"vectorsDeleted": 0, "erasuresRetired": 0}
    assert shop.read(USER_VECTORS, GONE, GONE)


def test_erasure_records_are_retired_after_the_watch_window(shop):
    call(delete_user, GONE, "DELETE")
    later = datetime.now(timezone.utc) + timedelta(seconds=ERASURE_WATCH_SECONDS + 60)
    assert bootstrap.user_data().sweep(now=later)["erasuresRetired"] == 1
    assert shop.count(TRAINING_RUNS, Query(partition_key=erasure_id(GONE))) == 0


def test_admin_export_and_bad_ids(shop):
    assert body_of(call(manage_export_user, KEPT))["orders"]
    for function in (delete_user, export_user, manage_delete_user, manage_export_user):
        response = call(function, "a\x07b", "DELETE")
        assert response.status_code == 400 and body_of(response)["error"]["code"] == "validation_error"


def test_with_jwt_a_shopper_deletes_and_exports_only_themselves(tmp_path, sqlite_store):
    provider = OidcProvider()
    try:
        settings = Settings.from_env({"SQLITE_PATH": str(tmp_path / "store.sqlite3"), **provider.settings_env()})
        bootstrap.override(settings=settings, store=sqlite_store)
        trained(sqlite_store, bootstrap.model_registry(), clustered_orders())
        mine = {"Authorization": f"Bearer {provider.token(GONE)}"}
        assert call(export_user, KEPT, headers=mine).status_code == 403
        assert call(delete_user, KEPT, "DELETE", headers=mine).status_code == 403
        assert call(delete_user, GONE, "DELETE").status_code == 401
        assert sqlite_store.count(ORDERS, Query(partition_key=KEPT)) > 0
        assert body_of(call(export_user, GONE, headers=mine))["orders"]
        assert call(delete_user, GONE, "DELETE", headers=mine).status_code == 200
        assert sqlite_store.count(ORDERS, Query(partition_key=GONE)) == 0
    finally:
        bootstrap.reset()
        provider.close()
