"""Merchandising rules and bought-together through the functions, over a real SQLite store and a trained model."""
import asyncio
import json
from dataclasses import replace

import azure.functions as func
import pytest

from functions.catalogue import put_product
from functions.recommendations import bought_together, popular_products, similar_products, user_recommendations
from functions.rules import delete_rule, get_rule, list_rules, put_rule
from shared import bootstrap
from tests.builders import clustered_orders, trained


@pytest.fixture
def serving(wired, settings):
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0), store=wired)
    trained(wired, bootstrap.model_registry(), clustered_orders())
    return wired


def call(function, method="GET", route_params=None, body=None, **params):
    request = func.HttpRequest(method, "/api/x", route_params=route_params or {},
                               params={key: str(value) for key, value in params.items()},
                               body=json.dumps(body).encode() if body is not None else b"")
    response = function(request)
    if asyncio.iscoroutine(response):
        response = asyncio.run(response)
    payload = response.get_body()
    return response.status_code, json.loads(payload) if payload else None


def ids(function, route_params=None, **params):
    status, body = call(function, route_params=route_params, **params)
    assert status == 200, body
    return [item["productId"] for item in body["items"]]


def every_list():
    return {"popular": ids(popular_products, k=20),
            "personalized": ids(user_recommendations, {"user_id": "u001"}, k=20),
            "similar": ids(similar_products, {"product_id": "p005"}, k=20),
            "boughtTogether": ids(bought_together, {"product_id": "p005"}, k=20)}


def test_bought_together_lists_partners_from_the_same_orders_without_the_product_or_out_of_stock(serving):
    status, body = call(bought_together, route_params={"product_id": "p005"}, k=5)
    assert status == 200 and body["productId"] == "p005" and 1 <= len(body["items"]) <= 5
    partners = [item["productId"] for item in body["items"]]
    assert "p005" not in partners and all(int(pid[1:]) % 4 == 1 for pid in partners)   # p005's own cluster
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and all(0 < score <= 1 for score in scores)
    call(put_product, "PUT", {"product_id": partners[0]}, {"title": "gone", "inStock": False})
    assert partners[0] not in ids(bought_together, {"product_id": "p005"}, k=5)


def test_bought_together_bad_input(serving):
    assert call(bought_together, route_params={"product_id": "nope"})[0] == 404
    status, body = call(bought_together, route_params={"product_id": "p005"}, k=0)
    assert status == 400 and body["error"]["code"] == "validation_error"


def test_a_hide_rule_removes_a_product_from_every_list_and_deleting_it_brings_it_back(serving):
    before = every_list()
    target = before["boughtTogether"][0]
    assert sum(target in items for items in before.values()) >= 2
    status, rule = call(put_rule, "PUT", {"rule_id": "recall"}, {"action": "hide", "products": [target]})
    assert status == 201 and rule["id"] == "recall"
    after = every_list()
    assert all(target not in items for items in after.values())
    assert call(delete_rule, "DELETE", {"rule_id": "recall"}) == (204, None)
    assert every_list() == before


def test_a_pin_puts_a_product_at_its_position_in_the_lists_it_names(serving):
    bought = {line["productId"] for body in clustered_orders() if body["userId"] == "u002" for line in body["items"]}
    similar_before = ids(similar_products, {"product_id": "p005"}, k=10)
    pinned = next(pid for pid in reversed(ids(popular_products, k=10)) if pid not in bought)
    call(put_rule, "PUT", {"rule_id": "launch"}, {"action": "pin", "products": [pinned, sorted(bought)[0]],
                                                   "position": 2, "lists": ["popular", "personalized"]})
    assert ids(popular_products, k=10)[1:3] == [pinned, sorted(bought)[0]]
    personalized = ids(user_recommendations, {"user_id": "u002"}, k=10)
    assert personalized[1] == pinned and not set(personalized) & bought   # a purchase is never pinned back in
    assert ids(similar_products, {"product_id": "p005"}, k=10) == similar_before   # not a list the pin names


def test_rules_routes_read_back_list_and_refuse_bad_rules(serving):
    assert call(list_rules) == (200, {"items": []})
    body = {"action": "boost", "category": "red", "weight": 3, "endsAt": "2030-01-01T00:00:00Z"}
    assert call(put_rule, "PUT", {"rule_id": "b1"}, body)[0] == 201
    assert call(put_rule, "PUT", {"rule_id": "b1"}, body)[0] == 200
    status, rule = call(get_rule, route_params={"rule_id": "b1"})
    assert status == 200 and rule["weight"] == 3.0 and rule["endsAt"] == "2030-01-01T00:00:00.000Z"
    assert [item["id"] for item in call(list_rules)[1]["items"]] == ["b1"]
    for bad in ({"action": "boost"}, {"action": "pin", "products": ["p1"]}, {"action": "hide", "products": ["p1"],
                                                                              "lists": ["nowhere"]}):
        status, error = call(put_rule, "PUT", {"rule_id": "bad"}, bad)
        assert status == 400 and set(error["error"]) == {"code", "message", "details"}
    request = func.HttpRequest("PUT", "/api/x", route_params={"rule_id": "bad"}, body=b"{not json")
    assert put_rule(request).status_code == 400
    assert call(put_rule, "PUT", {"rule_id": "a/b"}, {"action": "hide", "products": ["p1"]})[0] == 400
    assert call(get_rule, route_params={"rule_id": "ghost"})[0] == 404
    assert call(delete_rule, "DELETE", {"rule_id": "ghost"})[0] == 404


def test_a_pinned_item_is_explained_by_its_rule(serving):
    bought = {line["productId"] for body in clustered_orders() if body["userId"] == "u002" for line in body["items"]}
    pinned = next(pid for pid in reversed(ids(popular_products, k=20)) if pid not in bought)
    call(put_rule, "PUT", {"rule_id": "launch"}, {"action": "pin", "products": [pinned], "position": 1})
    status, body = call(user_recommendations, route_params={"user_id": "u002"}, k=5, explain="true")
    assert status == 200 and body["items"][0]["productId"] == pinned
    assert body["items"][0]["because"] == {"kind": "rule", "ruleId": "launch"}
    assert all(item["because"]["kind"] in ("history", "trending") for item in body["items"][1:])
