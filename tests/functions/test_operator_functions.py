"""The dashboard's operator functions: GET manage/metrics counts what this process served, GET manage/models lists
the stored versions a rollback can go to; both admin-level."""
import asyncio
import json
import subprocess
import sys

import azure.functions as func

from functions.admin import list_models
from functions.metrics import live_metrics
from functions.orders import create_order
from functions.recommendations import user_recommendations
from shared import bootstrap
from tests.builders import SMALL, clustered_orders, order_body, trained
from tests.functions.test_indexing import ROOT


def call(function, path: str, body: bytes = b"", method: str = "GET", route_params=None):
    response = function(func.HttpRequest(method, path, body=body, route_params=route_params or {}))
    if asyncio.iscoroutine(response):
        response = asyncio.run(response)
    return response.status_code, json.loads(response.get_body())


def test_metrics_count_new_orders_once_and_every_recommendation(wired):
    trained(wired, bootstrap.model_registry(), clustered_orders(users=20, products=16))
    first = json.dumps(order_body("shopper-a", ["p001"], 100, order_id="o-1")).encode()
    assert call(create_order, "/api/orders", first, "POST")[0] == 201
    assert call(create_order, "/api/orders", first, "POST")[0] == 200   # the same order again: not a new order
    assert call(create_order, "/api/orders", json.dumps(order_body("shopper-b", ["p002"], 100)).encode(),
                "POST")[0] == 201
    for user in ("shopper-a", "nobody-yet", "user-0001"):
        status, _ = call(user_recommendations, f"/api/users/{user}/recommendations", route_params={"user_id": user})
        assert status == 200
    status, snapshot = call(live_metrics, "/api/manage/metrics")
    assert status == 200
    assert sum(minute["orders"] for minute in snapshot["ordersPerMinute"]) == 2
    served = snapshot["recommendations"]
    assert served["count"] == 3 and sum(served["strategies"].values()) == 3
    assert served["strategies"]["popular"] >= 1   # "nobody-yet" has neither a vector nor orders
    assert served["latencyMs"]["p50"] <= served["latencyMs"]["p99"]


def test_models_lists_stored_versions_newest_first_with_the_active_one(wired):
    registry = bootstrap.model_registry()
    bodies = clustered_orders(users=20, products=16)
    trained(wired, registry, bodies, version="20240301T000000Z-first001", params=SMALL)
    trained(wired, registry, [], version="20240302T000000Z-second01", params=SMALL)
    status, body = call(list_models, "/api/manage/models")
    assert status == 200
    assert [(item["modelVersion"], item["active"]) for item in body["items"]] == [
        ("20240302T000000Z-second01", True), ("20240301T000000Z-first001", False)]
    assert body["items"][0]["counts"]["users"] == 20


def test_operator_routes_need_the_admin_key():
    """In a fresh process, as the worker indexes the app (get_functions once per process)."""
    code = ("import json, function_app; print(json.dumps({f.get_function_name(): [f.get_trigger().route, "
            "str(getattr(f.get_trigger().auth_level, 'value', f.get_trigger().auth_level)).upper()] "
            "for f in function_app.app.get_functions() if f.get_trigger().type == 'httpTrigger'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    routes = json.loads(result.stdout)
    assert routes["live_metrics"] == ["manage/metrics", "ADMIN"]
    assert routes["list_models"] == ["manage/models", "ADMIN"]
