"""Acceptance of trending through the real local host: orders reach /api/recommendations/trending through the
change feed within seconds, with no training run, and a batch the feed delivers twice counts once."""
from shared.adapters.sqlite_store import SqliteStore
from shared.domain.ports import LEASES, MODELS, ORDERS
from shared.domain.trending import PARTITION
from tests.integration.localhost import ADMIN_KEY, ORDERS_LEASE_ID, LocalHostProcess, lease_position, wait_for

LEASE_ID = ORDERS_LEASE_ID
SETTINGS = {"RETRAIN_MIN_NEW_ORDERS": "0", "TRENDING_REFRESH_SECONDS": "1"}


def trending(host) -> list[dict]:
    status, body, _ = host.request("GET", "/api/recommendations/trending?k=5")
    assert status == 200, body
    return body["items"]



def buyers_stored(path: str, product_id: str) -> int:
    store = SqliteStore(path)
    try:
        return sum(len(doc["buyers"].get(product_id, ())) for doc in store.scan(MODELS)
                   if doc["modelVersion"] == PARTITION)
    finally:
        store.close()


def test_fifty_new_shoppers_put_a_product_on_top_within_seconds_and_a_redelivered_batch_counts_once(tmp_path):
    path = str(tmp_path / "store.sqlite3")
    host = LocalHostProcess(path, SETTINGS).start()
    try:
        # Background: one shopper buys P-OTHER over and over (one distinct buyer), a few buy P-SOME.
        for number in range(20):
            assert host.request("POST", "/api/orders", {"userId": "loyal", "items": [
                {"productId": "P-OTHER", "quantity": 1}]})[0] == 201
        for number in range(10):
            assert host.request("POST", "/api/orders", {"userId": f"some-{number}", "items": [
                {"productId": "P-SOME", "quantity": 1}]})[0] == 201
        wait_for(lambda: [item["productId"] for item in trending(host)][:1] == ["P-SOME"], 10,
                 "the background products trend", host)
        for number in range(50):
            status, body, _ = host.request("POST", "/api/orders", {"userId": f"new-shopper-{number}", "items": [
                {"productId": "P-HOT", "quantity": 1}]})
            assert status == 201, body
        top = wait_for(lambda: (items := trending(host)) and items[0]["productId"] == "P-HOT" and items, 10,
                       "P-HOT tops trending", host)
        scores = {item["productId"]: item["score"] for item in top}
        # 50 distinct buyers, in this hour's bucket or (across an hour boundary) the one before: the decay from a
        # bucket's middle is then at most 1.5 hours, 0.5 ** (1.5 / 24 / 5) > 0.991; the loyal shopper is one.
        assert 49.5 < scores["P-HOT"] <= 50 and 9.9 < scores["P-SOME"] <= 10 and scores["P-OTHER"] <= 1
        status, runs, _ = host.request("GET", "/api/manage/training-runs", key=ADMIN_KEY)
        assert status == 200 and runs["items"] == []

        # The host dies; its lease is set back: on restart the feed delivers every order again.
        host.kill()
        store = SqliteStore(path)
        last = store.latest_sequence(ORDERS)
        store.upsert(LEASES, {"id": LEASE_ID, "continuation": 0, "owner": "devhost"})
        store.close()
        host = LocalHostProcess(path, SETTINGS).start()
        wait_for(lambda: lease_position(path) >= last, 20, "the orders were delivered again", host)
        assert buyers_stored(path, "P-HOT") == 50 and buyers_stored(path, "P-OTHER") == 1
        again = {item["productId"]: item["score"] for item in trending(host)}
        assert 49.5 < again["P-HOT"] <= 50 and 9.9 < again["P-SOME"] <= 10
        assert "on_orders_changed failed" not in host.log()
    finally:
        host.stop()
