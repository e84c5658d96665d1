"""Every bad input is a JSON 4xx, never a 500 (issue 13, point 4): the functions called as the worker calls them."""
import asyncio
import base64
import json

import azure.functions as func
import pytest

from functions.admin import start_training_run
from functions.catalogue import get_product, put_product
from functions.orders import create_order, get_user_order, list_user_orders
from functions.recommendations import popular_products, similar_products, user_recommendations

ITEMS = [{"productId": "p1", "quantity": 1}]


def call(function, method="GET", body=b"", route_params=None, params=None, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = function(func.HttpRequest(method, "/api/x", body=raw, route_params=route_params or {},
                                         params=params or {}, headers=headers or {}))
    if asyncio.iscoroutine(response):
        response = asyncio.run(response)
    return response.status_code, json.loads(response.get_body())


def assert_4xx(result, status=400):
    code, body = result
    assert code == status, body
    assert set(body["error"]) == {"code", "message", "details"}


def order_bytes(user='"u1"', items=None, extra=""):
    return (f'{{"userId": {user}, "items": {json.dumps(items or ITEMS)}{extra}}}').encode()


@pytest.mark.parametrize("raw", [
    order_bytes(user='"\\ud800"'),
    order_bytes(items=[{"productId": "p", "quantity": 1}]).replace(b'"p"', b'"\\udfff"'),
    order_bytes(extra=', "orderId": "a\\ud800b"'),
    order_bytes(extra=', "createdAt": "2024-01-01T00:00:00Z\\ud800"'),
], ids=["userId", "productId", "orderId", "createdAt"])
def test_lone_surrogates_in_any_field(wired, raw):
    assert_4xx(call(create_order, "POST", raw))


def test_lone_surrogates_in_route_ids_and_product_text(wired):
    assert_4xx(call(list_user_orders, route_params={"user_id": "\ud800"}))
    assert_4xx(call(get_product, route_params={"product_id": "p\udc00"}))
    assert_4xx(call(put_product, "PUT", b'{"title": "\\ud800"}', route_params={"product_id": "p1"}))


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_timestamps_that_overflow_in_utc(wired, stamp):
    assert_4xx(call(create_order, "POST", {"userId": "u1", "items": ITEMS, "createdAt": stamp}))


def test_deeply_nested_json_under_the_size_limit(wired):
    assert_4xx(call(create_order, "POST", b"[" * 100_000))
    assert_4xx(call(create_order, "POST", b'{"userId": "u1", "items": ' + b"[" * 5000 + b"]" * 5000 + b"}"))


def test_a_continuation_token_with_a_huge_offset(wired):
    for offset in (10 ** 30, 2 ** 63, -1, 1.5, "1"):
        token = base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
        assert_4xx(call(list_user_orders, route_params={"user_id": "u1"}, params={"continuationToken": token}))


def test_numbers_that_overflow_in_training_parameters(wired):
    for raw in (b'{"params": {"alpha": 1e400}}', b'{"params": {"factors": 1e400}}',
                b'{"params": {"alpha": -1e400}}', b'{"params": {"alpha": NaN}}'):
        assert_4xx(call(start_training_run, "POST", raw))


def test_a_body_that_claims_gzip_but_is_not(wired):
    assert_4xx(call(create_order, "POST", b"\x1f\x8b not really gzip", headers={"Content-Encoding": "gzip"}))


@pytest.mark.parametrize("bad_id", [".", "..", "\u200b", "\u200b\ufeff", " \u00a0", "\uffff", "a\ufdd0",
                                    "\u0301"])
def test_ids_that_are_dots_invisible_or_noncharacters(wired, bad_id):
    assert_4xx(call(create_order, "POST", {"userId": bad_id, "items": ITEMS}))
    assert_4xx(call(create_order, "POST", {"userId": "u1", "items": [{"productId": bad_id, "quantity": 1}]}))
    assert_4xx(call(user_recommendations, route_params={"user_id": bad_id}))
    assert_4xx(call(get_user_order, route_params={"user_id": "u1", "order_id": bad_id}))
    assert_4xx(call(similar_products, route_params={"product_id": bad_id}))


@pytest.mark.parametrize("value", ["٥", "５", " 5", "5_0", "+5", "5.0", "5,6", "99999999999999999999"])
def test_integers_in_the_query_are_ascii_digits_only(wired, value):
    assert_4xx(call(list_user_orders, route_params={"user_id": "u1"}, params={"limit": value}))
    assert_4xx(call(user_recommendations, route_params={"user_id": "u1"}, params={"k": value}))
    assert_4xx(call(popular_products, params={"k": value}))


def test_a_repeated_parameter_means_its_values_joined_with_commas(wired):
    # As the Functions host hands them over: category=a&category=b arrives as "a,b"; k=5&k=6 as "5,6" (a 400).
    status, body = call(popular_products, params={"category": "a,b", "k": "5"})
    assert status == 200 and body["items"] == []
    assert_4xx(call(popular_products, params={"k": "5,6"}))
    assert_4xx(call(user_recommendations, route_params={"user_id": "u1"},
                    params={"includePurchased": "true,false"}))


def test_a_null_unit_price_is_the_same_order_as_none(wired):
    with_null = {"orderId": "o-null", "userId": "u1", "items": [{"productId": "p1", "quantity": 1,
                                                                 "unitPrice": None}]}
    status, stored = call(create_order, "POST", with_null)
    assert status == 201 and stored["items"] == [{"productId": "p1", "quantity": 1}]
    without = {"orderId": "o-null", "userId": "u1", "items": [{"productId": "p1", "quantity": 1}]}
    status, again = call(create_order, "POST", without)
    assert status == 200 and again == stored   # the same order again, not a 409
