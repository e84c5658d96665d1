"""Trending on every store backend: the change feed's updater and a serving instance's board, through the
real adapters (SQLite, and the Cosmos protocol server through the azure-cosmos SDK)."""
from __future__ import annotations

import threading

import pytest

from shared import store_calls
from shared.domain.ports import MODELS
from shared.domain.trending import RankingParams, bucket_id, bucket_start
from shared.services.trending import TrendingBoard, TrendingUpdater
from tests.contract.store_backends import BACKENDS

NOW = 1_900_000_000.0           # 2030-03-17T17:46:40Z
PARAMS = RankingParams()


def stamp(seconds: float) -> str:
    from shared.domain.interactions import from_epoch_seconds
    return from_epoch_seconds(seconds)


def order(user: str, *products: str, at: float = NOW - 60, received: float | None = None) -> dict:
    return {"id": f"{user}-{'-'.join(products)}-{int(at)}", "userId": user, "type": "order",
            "items": [{"productId": pid, "quantity": 1} for pid in products],
            "createdAt": stamp(at), "receivedAt": stamp(NOW if received is None else received)}


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def trending_bucket_id(seconds: float) -> str:
    return bucket_id(bucket_start(seconds))


def board(store) -> TrendingBoard:
    return TrendingBoard(store, PARAMS, refresh_seconds=3600, clock=lambda: NOW)


def test_distinct_buyers_and_a_repeated_batch_counts_once(store):
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
    batch = [order(f"shopper-{n}", "hot") for n in range(30)] + [order("loyal", "other", at=NOW - 60 - n)
                                                                   for n in range(10)]
    assert updater.add(batch) == 1
    assert updater.add(batch) == 0                    # redelivered: nothing new, no write
    ranked = dict(board(store).ranked())
    assert 29.9 < ranked["hot"] <= 30 and 0.99 < ranked["other"] <= 1


def test_old_orders_never_trend_and_future_ones_count_when_received(store):
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
    too_old = NOW - (PARAMS.trending_window_days + 1) * 86400
    assert updater.add([order("a", "ancient", at=too_old, received=too_old)]) == 0
    # A client clock a day ahead: the order counts from when the store received it, at full weight now.
    updater.add([order("b", "early", at=NOW + 86400)])
    ranked = dict(board(store).ranked())
    assert "ancient" not in ranked and 0.99 < ranked["early"] <= 1


def test_decay_halves_a_bucket_every_half_life(store):
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
    half_life = PARAMS.trending_half_life_days * 86400
    updater.add([order(f"u{n}", "recent") for n in range(8)] +
                [order(f"v{n}", "older", at=NOW - half_life, received=NOW - half_life) for n in range(8)])
    ranked = dict(board(store).ranked())
    assert ranked["older"] == pytest.approx(ranked["recent"] / 2, rel=0.02)


def test_concurrent_change_feed_workers_lose_no_buyer(store):
    errors: list[BaseException] = []

    def worker(prefix: str):
        updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
        try:
            for batch in range(5):
                updater.add([order(f"{prefix}-{batch}-{n}", "shared") for n in range(4)])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert 59.9 < dict(board(store).ranked())["shared"] <= 60


def test_a_board_picks_up_new_buckets_with_one_single_partition_query(store):
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
    updater.add([order("a", "first")])
    serving = board(store)
    assert [pid for pid, _ in serving.ranked()] == ["first"]
    updater.add([order(f"b{n}", "second") for n in range(3)])
    with store_calls.recording() as calls:
        assert [pid for pid, _ in serving.ranked()] == ["first"]        # fresh enough: no store call
        assert calls.summary() == []
        serving.refresh()
    assert [kind for _, _, kind in calls.summary()] == [store_calls.SINGLE_PARTITION_QUERY]
    assert [pid for pid, _ in serving.ranked()] == ["second", "first"]


def test_the_change_feed_side_makes_no_query(store):
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW)
    with store_calls.recording() as calls:
        updater.add([order(f"u{n}", "p1", "p2") for n in range(100)])
        updater.add([order(f"u{n}", "p1", "p2") for n in range(100)])
    kinds = calls.kinds()
    assert set(kinds) <= {store_calls.POINT_READ, store_calls.WRITE}
    assert kinds[store_calls.WRITE] == 1 and kinds[store_calls.POINT_READ] == 2
    with store_calls.recording() as calls:   # new buyers: merged into the bucket this updater wrote, not read again
        updater.add([order(f"v{n}", "p1") for n in range(100)])
    assert calls.kinds() == {store_calls.WRITE: 1}


def test_a_bucket_another_worker_wrote_since_is_read_again_and_merged(store):
    first, second = (TrendingUpdater(store, PARAMS, clock=lambda: NOW) for _ in range(2))
    first.add([order("a", "p")])
    second.add([order("b", "p")])          # the bucket `first` remembers is now out of date
    with store_calls.recording() as calls:
        assert first.add([order("c", "p")]) == 1
    # One replace refused (etag), one read, one replace that lands: nobody's buyer is lost.
    assert calls.kinds()[store_calls.WRITE] == 2 and calls.kinds()[store_calls.POINT_READ] == 1
    assert 2.99 < dict(board(store).ranked())["p"] <= 3
    store.delete(MODELS, trending_bucket_id(NOW - 60), "trending")   # gone (expired, or deleted by hand)
    assert first.add([order("d", "p")]) == 1
    assert 0.99 < dict(board(store).ranked())["p"] <= 1


def test_an_hour_of_many_buyers_goes_into_parts_under_the_limit_and_still_counts_each_buyer_once(store):
    from shared.domain import trending as domain
    cap = 1000
    updater = TrendingUpdater(store, PARAMS, clock=lambda: NOW, max_bucket_bytes=cap)
    batches = [[order(f"shopper-{b}-{n}", f"p{(b + n) % 7}", f"p{(b * n) % 5}") for n in range(10)]
               for b in range(12)]
    buyers: dict[str, set[str]] = {}
    for batch in batches:
        updater.add(batch)
        for placed in batch:
            for line in placed["items"]:
                buyers.setdefault(line["productId"], set()).add(placed["userId"])
    start = bucket_start(NOW - 60)
    parts = []
    while True:
        try:
            parts.append(store.read(MODELS, bucket_id(start, len(parts)), "trending"))
        except Exception:  # noqa: BLE001 - NotFoundError: no more parts
            break
    assert len(parts) > 2 and all(domain.bucket_bytes(part["buyers"]) <= cap for part in parts)
    assert all(part["approxBytes"] >= domain.bucket_bytes(part["buyers"]) for part in parts)   # errs high only
    # A batch redelivered after the hour moved on, and a second instance that starts from the first part.
    assert TrendingUpdater(store, PARAMS, clock=lambda: NOW, max_bucket_bytes=cap).add(batches[0]) <= 1
    updater.add(batches[1])
    ranked = dict(board(store).ranked())
    weight = ranked["p0"] / len(buyers["p0"])
    assert 0.99 < weight <= 1
    assert {pid: round(score / weight, 6) for pid, score in ranked.items()} == \
        {pid: float(len(keys)) for pid, keys in buyers.items()}
