"""End to end over HTTP through the real local host: keys, routing, errors, restart and SIGKILL durability."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.localhost import ADMIN_KEY, LocalHostProcess


@pytest.fixture
def host(tmp_path):
    process = LocalHostProcess(str(tmp_path / "store.sqlite3")).start()
    yield process
    process.stop()


def order(number, user="u1"):
    return {"orderId": f"o-{number}", "userId": user, "items": [{"productId": f"p{number % 7}", "quantity": 1}]}


def test_health_is_anonymous_and_orders_need_a_key(host):
    assert host.request("GET", "/api/health", key=None)[0] == 200
    status, body, _ = host.request("POST", "/api/orders", order(1), key=None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert host.request("POST", "/api/orders", order(1), key="wrong")[0] == 401
    status, body, headers = host.request("POST", "/api/orders", order(1))
    assert status == 201 and headers["Location"] == "/api/users/u1/orders/o-1" and headers["X-Session-Token"]
    assert host.request("POST", "/api/orders", order(2), key=ADMIN_KEY)[0] == 201  # the admin key opens all
    assert host.request("GET", "/api/users/u1/orders?code=test-function-key", key=None)[0] == 200


def test_errors_are_json_with_the_right_status(host):
    status, body, headers = host.request("DELETE", "/api/orders")
    assert status == 405 and "POST" in headers["Allow"] and body["error"]["code"] == "method_not_allowed"
    assert host.request("GET", "/api/nothing-here")[0] == 404
    assert host.request("POST", "/api/orders", b"{broken")[0] == 400
    assert host.request("POST", "/api/orders", b"x" * (300 * 1024))[0] == 413
    assert host.request("GET", "/api/users/u1/orders")[1] == {"items": [], "continuationToken": None}


def test_orders_survive_a_restart(tmp_path, host):
    for number in range(5):
        assert host.request("POST", "/api/orders", order(number))[0] == 201
    host.stop()
    again = LocalHostProcess(host.env["SQLITE_PATH"]).start()
    try:
        items = again.request("GET", "/api/users/u1/orders?limit=100")[1]["items"]
        assert sorted(item["orderId"] for item in items) == [f"o-{n}" for n in range(5)]
    finally:
        again.stop()


def test_every_acknowledged_order_survives_sigkill_exactly_once(tmp_path, host):
    def place(number):
        return number, host.request("POST", "/api/orders", order(number, user=f"user-{number % 10}"))[0]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(place, range(300)))
    host.kill()  # SIGKILL right after the burst: no clean shutdown, no final checkpoint
    acknowledged = {number for number, status in results if status == 201}
    assert len(acknowledged) == 300
    again = LocalHostProcess(host.env["SQLITE_PATH"]).start()
    try:
        found = []
        for user in range(10):
            found += [item["orderId"] for item in
                      again.request("GET", f"/api/users/user-{user}/orders?limit=100")[1]["items"]]
        assert sorted(found) == sorted(f"o-{n}" for n in acknowledged)  # all there, none twice
    finally:
        again.stop()
