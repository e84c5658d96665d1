"""Trending, explanations and the category cap through the HTTP functions, over a real SQLite store, a
really trained model and the change feed function itself."""
import asyncio
import json
from dataclasses import replace
from datetime import datetime, timezone

import azure.functions as func
import numpy as np
import pytest

from functions.catalogue import put_product
from functions.recommendations import trending_products, user_recommendations
from functions.training import on_orders_changed
from shared import bootstrap
from shared.domain.validation import format_timestamp
from tests.builders import clustered_orders, trained


@pytest.fixture
def serving(wired, settings):
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0, trending_refresh_seconds=0.0,
                                        retrain_min_new_orders=0), store=wired)
    return wired


def now() -> str:
    return format_timestamp(datetime.now(timezone.utc))


def feed(orders: list[tuple[str, list[str]]], prefix: str = "t") -> func.DocumentList:
    """Orders as the change feed delivers them (stored documents), and deliver them."""
    docs = [{"id": f"{prefix}-{n}", "userId": user, "type": "order", "createdAt": now(), "receivedAt": now(),
             "items": [{"productId": pid, "quantity": 1} for pid in products]}
            for n, (user, products) in enumerate(orders)]
    batch = func.DocumentList([func.Document.from_dict(doc) for doc in docs])
    on_orders_changed(batch)
    return batch


def get(function, route_params=None, **params):
    request = func.HttpRequest("GET", "/api/x", route_params=route_params or {},
                               params={key: str(value) for key, value in params.items()}, body=b"")
    response = function(request)
    if asyncio.iscoroutine(response):
        response = asyncio.run(response)
    return response.status_code, json.loads(response.get_body())


def trending_ids(**params) -> list[str]:
    status, body = get(trending_products, **params)
    assert status == 200, body
    bootstrap.trending_board().wait_for_refresh()
    return [item["productId"] for item in body["items"]]


def put(pid: str, **fields):
    request = func.HttpRequest("PUT", f"/api/products/{pid}", route_params={"product_id": pid},
                               body=json.dumps({"title": pid, **fields}).encode())
    assert put_product(request).status_code == 200


def test_trending_follows_the_change_feed_and_a_redelivered_batch_changes_nothing(serving):
    assert trending_ids() == []
    batch = feed([(f"s{n}", ["hot"]) for n in range(5)] + [("one", ["warm"])] * 3)
    get(trending_products)   # starts the background refresh that reads the new bucket
    bootstrap.trending_board().wait_for_refresh()
    status, body = get(trending_products, k=5)
    assert status == 200 and [item["productId"] for item in body["items"]] == ["hot", "warm"]
    # five buyers in this hour's bucket, decayed from its middle: at most 1.5 hours (an hour boundary crossed)
    assert 5 * 0.5 ** (1.5 / 24 / 5) < body["items"][0]["score"] <= 5 and body["window"]["days"] == 14
    on_orders_changed(batch)
    bootstrap.trending_board().refresh()
    assert get(trending_products)[1]["items"] == body["items"]


def test_trending_skips_out_of_stock_and_filters_and_caps_categories(serving):
    feed([(f"s{n}-{pid}", [pid]) for pid, buyers in (("a1", 5), ("a2", 4), ("a3", 3), ("b1", 2))
          for n in range(buyers)])
    bootstrap.trending_board().refresh()
    put("a1", category="a", inStock=False)
    put("a2", category="a")
    put("a3", category="a")
    put("b1", category="b")
    assert trending_ids() == ["a2", "a3", "b1"]
    assert trending_ids(category="b") == ["b1"]
    assert trending_ids(maxPerCategory=1) == ["a2", "b1"]


@pytest.mark.parametrize("params", [{"k": "0"}, {"k": "x"}, {"maxPerCategory": "0"}, {"maxPerCategory": "many"}])
def test_bad_parameters_are_a_json_400(serving, params):
    status, body = get(trending_products, **params)
    assert status == 400 and set(body["error"]) >= {"code", "message", "details"}
    status, body = get(user_recommendations, {"user_id": "u001"}, **params)
    assert status == 400 and set(body["error"]) >= {"code", "message", "details"}
    status, body = get(user_recommendations, {"user_id": "u001"}, explain="perhaps")
    assert status == 400 and body["error"]["details"]["field"] == "explain"


def test_explain_names_history_products_and_trending(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    history = {line["productId"] for body in bodies if body["userId"] == "u001" for line in body["items"]}
    status, body = get(user_recommendations, {"user_id": "u001"}, k=5, explain="true")
    assert status == 200 and body["strategy"] == "personalized"
    for item in body["items"]:
        assert item["because"]["kind"] == "history"
        assert 1 <= len(item["because"]["productIds"]) <= 2 and set(item["because"]["productIds"]) <= history
    status, plain = get(user_recommendations, {"user_id": "u001"}, k=5)
    assert all("because" not in item for item in plain["items"])
    # A product of another cluster bought by many shoppers right now: trending brings it in, and says so.
    feed([(f"crowd-{n}", ["p002"]) for n in range(40)])
    bootstrap.trending_board().refresh()
    status, body = get(user_recommendations, {"user_id": "u001"}, k=5, explain="true")
    reasons = {item["productId"]: item["because"] for item in body["items"]}
    assert reasons.get("p002") == {"kind": "trending"}


def test_cold_start_is_the_trending_list_once_something_trends(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    feed([(f"crowd-{n}", ["p007"]) for n in range(3)])
    bootstrap.trending_board().refresh()
    status, body = get(user_recommendations, {"user_id": "brand-new"}, k=3, explain="true")
    assert status == 200 and body["strategy"] == "trending"
    assert body["items"][0] == {**body["items"][0], "productId": "p007", "because": {"kind": "trending"}}


def test_max_per_category_caps_the_personalized_list(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    for number in range(40):
        put(f"p{number:03d}", category=f"c{number % 3}")
    status, body = get(user_recommendations, {"user_id": "u001"}, k=6, maxPerCategory=2)
    assert status == 200 and len(body["items"]) == 6
    counts = {}
    for item in body["items"]:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    assert max(counts.values()) == 2
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    _, uncapped = get(user_recommendations, {"user_id": "u001"}, k=6)
    assert np.max(list(_categories(uncapped).values())) >= 2


def _categories(body) -> dict:
    counts = {}
    for item in body["items"]:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    return counts


def put_rule(rule_id: str, body: dict):
    from functions.rules import put_rule as put
    request = func.HttpRequest("PUT", f"/api/manage/rules/{rule_id}", route_params={"rule_id": rule_id},
                               body=json.dumps(body).encode())
    assert put(request).status_code in (200, 201)
    bootstrap.rule_book().refresh()


def test_rules_reach_trending_and_a_pin_is_explained_by_its_rule(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    feed([(f"s{n}-{pid}", [pid]) for pid, buyers in (("p001", 4), ("p002", 3), ("p003", 2)) for n in range(buyers)])
    bootstrap.trending_board().refresh()
    assert trending_ids() == ["p001", "p002", "p003"]
    put_rule("no-p001", {"action": "hide", "products": ["p001"], "lists": ["trending"]})
    put_rule("p003-first", {"action": "pin", "products": ["p003"], "position": 1})
    assert trending_ids() == ["p003", "p002"]
    status, body = get(user_recommendations, {"user_id": "u002"}, k=5, explain="true")
    assert status == 200 and body["items"][0]["productId"] == "p003"
    assert body["items"][0]["because"] == {"kind": "rule", "ruleId": "p003-first"}
    assert all(item["because"]["kind"] in ("history", "trending") for item in body["items"][1:])
