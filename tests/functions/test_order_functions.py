"""The HTTP functions called directly with func.HttpRequest, over a real SQLite store."""
import asyncio
import json

import azure.functions as func
import pytest

from functions.health import health
from functions.orders import create_order, get_user_order, list_user_orders
from shared.domain.ports import ORDERS


def post(body, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return asyncio.run(create_order(func.HttpRequest("POST", "/api/orders", headers=headers or {}, body=raw)))


def get_orders(user, params=None, headers=None):
    return list_user_orders(func.HttpRequest("GET", f"/api/users/{user}/orders", params=params or {},
                                             route_params={"user_id": user}, headers=headers or {}, body=b""))


ORDER = {"orderId": "o-1", "userId": "u1", "items": [{"productId": "p1", "quantity": 2, "unitPrice": 3.5}]}


def test_create_returns_201_location_and_session_token(wired):
    response = post(ORDER)
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/users/u1/orders/o-1"
    assert response.headers["X-Session-Token"]
    stored = json.loads(response.get_body())
    assert stored["orderId"] == "o-1" and stored["items"][0]["quantity"] == 2


def test_retry_with_same_body_is_200_without_second_write(wired):
    assert post(ORDER).status_code == 201
    before = wired.latest_sequence(ORDERS)
    again = post(ORDER)
    assert again.status_code == 200
    assert wired.latest_sequence(ORDERS) == before and wired.count(ORDERS) == 1


def test_same_order_id_with_other_body_is_409(wired):
    post(ORDER)
    changed = dict(ORDER, items=[{"productId": "p2", "quantity": 1}])
    response = post(changed)
    assert response.status_code == 409
    assert json.loads(response.get_body())["error"]["code"] == "conflict"


@pytest.mark.parametrize("raw, status", [
    (b"{not json", 400),
    (b"", 400),
    (b"NaN", 400),
    (json.dumps({"userId": "u1"}).encode(), 400),
    (json.dumps(dict(ORDER, coupon="x")).encode(), 400),
    (json.dumps(dict(ORDER, items=[])).encode(), 400),
    (json.dumps(dict(ORDER, items=[{"productId": "p", "quantity": 10**7}])).encode(), 400),
    (json.dumps(dict(ORDER, userId="u\x07")).encode(), 400),
    (json.dumps(dict(ORDER, orderId="o" * 500)).encode(), 400),
    (b'{"userId": "u1", "items": [' + b'{"productId": "p", "quantity": 1},' * 20000 + b"{}]}", 413),
])
def test_bad_input_is_a_json_4xx_and_nothing_is_stored(wired, raw, status):
    response = post(raw)
    assert response.status_code == status
    error = json.loads(response.get_body())["error"]
    assert set(error) == {"code", "message", "details"}
    assert wired.count(ORDERS) == 0


def test_list_newest_first_with_paging(wired):
    for day in range(1, 6):
        post({"orderId": f"o{day}", "userId": "u1", "createdAt": f"2024-01-0{day}T12:00:00Z",
              "items": [{"productId": "p", "quantity": 1}]})
    first = json.loads(get_orders("u1", {"limit": "3"}).get_body())
    assert [o["orderId"] for o in first["items"]] == ["o5", "o4", "o3"]
    rest = json.loads(get_orders("u1", {"limit": "3", "continuationToken": first["continuationToken"]}).get_body())
    assert [o["orderId"] for o in rest["items"]] == ["o2", "o1"] and rest["continuationToken"] is None


def test_get_one_order_and_missing_is_404(wired):
    post(ORDER)
    request = func.HttpRequest("GET", "/api/users/u1/orders/o-1", route_params={"user_id": "u1", "order_id": "o-1"},
                               body=b"")
    assert json.loads(get_user_order(request).get_body())["orderId"] == "o-1"
    missing = func.HttpRequest("GET", "/x", route_params={"user_id": "u1", "order_id": "nope"}, body=b"")
    response = get_user_order(missing)
    assert response.status_code == 404 and json.loads(response.get_body())["error"]["code"] == "not_found"


def test_signed_in_shopper_may_only_use_their_own_user_id(wired):
    assert post(ORDER, {"X-MS-CLIENT-PRINCIPAL-ID": "someone-else"}).status_code == 403
    assert post(ORDER, {"X-MS-CLIENT-PRINCIPAL-ID": "u1"}).status_code == 201
    assert get_orders("u1", headers={"X-MS-CLIENT-PRINCIPAL-ID": "u2"}).status_code == 403
    assert wired.count(ORDERS) == 1


def test_bad_query_parameters_are_400(wired):
    assert get_orders("u1", {"limit": "0"}).status_code == 400
    assert get_orders("u1", {"limit": "ten"}).status_code == 400
    assert get_orders("u1", {"continuationToken": "garbage!"}).status_code == 400


def test_unexpected_failure_is_a_bare_500(wired):
    wired.close()
    wired.path = "/proc/definitely/not/here.sqlite3"  # every new connection now fails
    response = post(ORDER)
    body = response.get_body().decode()
    assert response.status_code in (500, 503) and "Traceback" not in body and "File " not in body


def test_health_reports_store_and_no_model(wired):
    response = health(func.HttpRequest("GET", "/api/health", body=b""))
    report = json.loads(response.get_body())
    assert response.status_code == 200 and report["store"]["reachable"] and report["activeModel"] is None
