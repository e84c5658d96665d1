"""Merchandising rules end to end: the real local host with two worker processes (two instances, each with its
own cache of the rules), demo data and a first model. A rule written through one process reaches the lists of
both within a few seconds; the store is polled, never waited on with a fixed sleep."""
import pytest

from tests.integration.localhost import ADMIN_KEY, LocalHostProcess, wait_for

LISTS = ("/api/recommendations/popular?k=20", "/api/users/demo-rules-shopper/recommendations?k=20",
         "/api/products/P0001/similar?k=20", "/api/products/P0001/bought-together?k=20")


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "store.sqlite3"
    process = LocalHostProcess(str(path), {"FUNCTIONS_WORKER_PROCESS_COUNT": "2", "RULES_REFRESH_SECONDS": "1",
                                           "RETRAIN_MIN_NEW_ORDERS": "0"}, args=("--demo",)).start(timeout=120)
    wait_for(lambda: "Admin key:" in process.log(), 60, "every process listens", process)
    yield process
    process.stop()


def lists(host) -> list[list[str]]:
    """Each list twice in a row: with two processes on one port, both answer sooner or later."""
    found = []
    for path in LISTS * 2:
        status, body, _ = host.request("GET", path)
        assert status == 200, body
        found.append([item["productId"] for item in body["items"]])
    return found


def test_a_hide_rule_reaches_every_list_on_every_process_and_a_pin_its_position(host):
    status, _, _ = host.request("POST", "/api/orders", {"userId": "demo-rules-shopper",
                                                        "items": [{"productId": "P0002", "quantity": 1}]})
    assert status == 201
    status, together, _ = host.request("GET", "/api/products/P0001/bought-together?k=20")
    assert status == 200 and together["items"], "the demo orders hold products bought together"
    target = together["items"][0]["productId"]
    assert sum(target in items for items in lists(host)) >= 2
    status, rule, _ = host.request("PUT", "/api/manage/rules/recall", {"action": "hide", "products": [target]},
                                   key=ADMIN_KEY)
    assert status == 201 and rule["action"] == "hide"
    wait_for(lambda: all(all(target not in items for items in lists(host)) for _ in range(3)), 10,
             f"{target} gone from every list on both processes", host)

    status, popular, _ = host.request("GET", "/api/recommendations/popular?k=10")
    pinned = popular["items"][-1]["productId"]
    assert host.request("PUT", "/api/manage/rules/launch", {"action": "pin", "products": [pinned], "position": 1,
                                                            "lists": ["popular"]}, key=ADMIN_KEY)[0] == 201
    wait_for(lambda: all(host.request("GET", "/api/recommendations/popular?k=10")[1]["items"][0]["productId"]
                         == pinned for _ in range(6)), 10, f"{pinned} first in popular on both processes", host)

    status, listed, _ = host.request("GET", "/api/manage/rules", key=ADMIN_KEY)
    assert status == 200 and [item["id"] for item in listed["items"]] == ["launch", "recall"]
    assert host.request("GET", "/api/manage/rules")[0] == 401                       # the admin key is needed
    status, error, _ = host.request("PUT", "/api/manage/rules/bad", {"action": "pin", "products": [pinned]},
                                    key=ADMIN_KEY)
    assert status == 400 and error["error"]["code"] == "validation_error"
    assert host.request("DELETE", "/api/manage/rules/recall", key=ADMIN_KEY)[0] == 204
    wait_for(lambda: any(target in items for items in lists(host)), 10, f"{target} back after the delete", host)
