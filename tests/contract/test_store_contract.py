"""One contract for the DocumentStore port; every adapter must pass all of it."""
from __future__ import annotations

import pytest

from shared.domain.errors import ConflictError, NotFoundError, PreconditionFailedError
from shared.domain.ports import ETAG, NOT_IN, ORDERS, TIMESTAMP, TRAINING_RUNS, Filter, Query
from tests.contract.store_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def order(user, order_id, created, **extra):
    return {"id": order_id, "userId": user, "createdAt": created, "type": "order", "items": [], **extra}


def test_create_then_read_returns_document_with_etag_and_ts(store):
    written = store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z"))
    assert written.document[ETAG] and isinstance(written.document[TIMESTAMP], int)
    got = store.read(ORDERS, "o1", "u1")
    assert got["id"] == "o1" and got["userId"] == "u1" and got[ETAG] == written.document[ETAG]


def test_create_twice_is_a_conflict_and_keeps_the_first(store):
    store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z", note="first"))
    with pytest.raises(ConflictError):
        store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z", note="second"))
    assert store.read(ORDERS, "o1", "u1")["note"] == "first"


def test_same_id_in_two_partitions_are_two_documents(store):
    store.create(ORDERS, order("u1", "same", "2024-01-01T00:00:00.000Z", note="a"))
    store.create(ORDERS, order("u2", "same", "2024-01-01T00:00:00.000Z", note="b"))
    assert store.read(ORDERS, "same", "u1")["note"] == "a"
    assert store.read(ORDERS, "same", "u2")["note"] == "b"


def test_read_missing_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.read(ORDERS, "nope", "u1")


def test_upsert_replaces_and_changes_etag(store):
    first = store.upsert(TRAINING_RUNS, {"id": "r1", "state": "pending"})
    second = store.upsert(TRAINING_RUNS, {"id": "r1", "state": "running"})
    assert second.document[ETAG] != first.document[ETAG]
    assert store.read(TRAINING_RUNS, "r1", "r1")["state"] == "running"


def test_replace_with_stale_etag_fails_and_keeps_current(store):
    first = store.create(TRAINING_RUNS, {"id": "r1", "state": "pending"})
    store.replace(TRAINING_RUNS, {"id": "r1", "state": "running"}, if_match=first.document[ETAG])
    with pytest.raises(PreconditionFailedError):
        store.replace(TRAINING_RUNS, {"id": "r1", "state": "failed"}, if_match=first.document[ETAG])
    assert store.read(TRAINING_RUNS, "r1", "r1")["state"] == "running"


def test_replace_missing_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.replace(TRAINING_RUNS, {"id": "ghost", "state": "x"})


def test_delete(store):
    store.create(TRAINING_RUNS, {"id": "r1"})
    store.delete(TRAINING_RUNS, "r1", "r1")
    with pytest.raises(NotFoundError):
        store.read(TRAINING_RUNS, "r1", "r1")
    with pytest.raises(NotFoundError):
        store.delete(TRAINING_RUNS, "r1", "r1")


def test_query_in_partition_ordered_with_filters_and_pages(store):
    for day in range(1, 8):
        store.create(ORDERS, order("u1", f"o{day}", f"2024-01-0{day}T00:00:00.000Z"))
    store.create(ORDERS, order("u2", "other", "2024-01-05T00:00:00.000Z"))
    query = Query(partition_key="u1", filters=(Filter("createdAt", ">", "2024-01-02T00:00:00.000Z"),),
                  order_by="createdAt", descending=True, limit=2)
    seen, continuation = [], None
    while True:
        page = store.query(ORDERS, query, continuation=continuation)
        assert len(page.items) <= 2
        seen += [doc["id"] for doc in page.items]
        continuation = page.continuation
        if not continuation:
            break
    assert seen == ["o7", "o6", "o5", "o4", "o3"]


def test_query_not_in_leaves_out_the_listed_values(store):
    for day in range(1, 6):
        store.create(ORDERS, order("u1", f"o{day}", f"2024-01-0{day}T00:00:00.000Z", channel=f"c{day % 2}"))
    store.create(ORDERS, order("u2", "o9", "2024-01-09T00:00:00.000Z"))
    query = Query(partition_key="u1", filters=(Filter("createdAt", ">", "2024-01-01T00:00:00.000Z"),
                                               Filter("id", NOT_IN, ("o2", "o4", "o9", "elsewhere"))),
                  order_by="createdAt", descending=True, limit=10)
    assert [doc["id"] for doc in store.query(ORDERS, query).items] == ["o5", "o3"]
    none_left_out = Query(partition_key="u1", filters=(Filter("id", NOT_IN, ()),), order_by="createdAt")
    assert [doc["id"] for doc in store.query(ORDERS, none_left_out).items] == ["o1", "o2", "o3", "o4", "o5"]
    by_field = Query(partition_key="u1", filters=(Filter("channel", NOT_IN, ["c1"]),), order_by="createdAt")
    assert [doc["id"] for doc in store.query(ORDERS, by_field).items] == ["o2", "o4"]


def test_query_across_partitions(store):
    store.create(ORDERS, order("u1", "a", "2024-01-01T00:00:00.000Z", type="order"))
    store.create(ORDERS, order("u2", "b", "2024-01-02T00:00:00.000Z", type="order"))
    page = store.query(ORDERS, Query(filters=(Filter("type", "=", "order"),), order_by="createdAt"))
    assert [doc["id"] for doc in page.items] == ["a", "b"]


def test_upsert_many_and_scan(store):
    docs = [{"id": f"r{number}", "state": "done", "n": number} for number in range(25)]
    assert store.upsert_many(TRAINING_RUNS, docs) == 25
    scanned = sorted(doc["n"] for doc in store.scan(TRAINING_RUNS))
    assert scanned == list(range(25))
    filtered = list(store.scan(TRAINING_RUNS, Query(filters=(Filter("n", ">=", 20),))))
    assert sorted(doc["n"] for doc in filtered) == [20, 21, 22, 23, 24]


def test_count_with_and_without_filters(store):
    for number in range(6):
        store.create(ORDERS, order(f"u{number % 2}", f"o{number}", f"2024-01-0{number + 1}T00:00:00.000Z"))
    assert store.count(ORDERS) == 6
    assert store.count(ORDERS, Query(filters=(Filter("createdAt", ">", "2024-01-03T00:00:00.000Z"),))) == 3
    assert store.count(ORDERS, Query(partition_key="u0")) == 3


def test_write_returns_a_session_token_that_reads_accept(store):
    written = store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z"))
    token = written.session_token
    assert store.read(ORDERS, "o1", "u1", session_token=token)["id"] == "o1"
    page = store.query(ORDERS, Query(partition_key="u1"), session_token=token)
    assert [doc["id"] for doc in page.items] == ["o1"]


def test_ping(store):
    assert store.ping().backend in ("sqlite", "cosmos")


def test_a_document_with_ttl_expires(store):
    import time
    store.upsert(TRAINING_RUNS, {"id": "short", "ttl": 1})
    store.upsert(TRAINING_RUNS, {"id": "long", "ttl": 3600})
    assert store.read(TRAINING_RUNS, "short", "short")["id"] == "short"
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            store.read(TRAINING_RUNS, "short", "short")
        except NotFoundError:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("a document with ttl 1 was still there after 10 s")
    assert [doc["id"] for doc in store.scan(TRAINING_RUNS)] == ["long"]


def test_patch_sets_and_increments_fields_without_sending_the_document(store):
    first = store.create(TRAINING_RUNS, {"id": "r1", "state": "pending", "n": 2, "keep": "me"})
    patched = store.patch(TRAINING_RUNS, "r1", "r1", set_fields={"ttl": 3600, "state": "done"},
                          increments={"n": 3, "fresh": 1})
    assert patched.document[ETAG] != first.document[ETAG]
    got = store.read(TRAINING_RUNS, "r1", "r1")
    assert {key: got[key] for key in ("state", "n", "fresh", "keep", "ttl")} == \
        {"state": "done", "n": 5, "fresh": 1, "keep": "me", "ttl": 3600}
    assert got[ETAG] == patched.document[ETAG]


def test_patch_of_a_missing_document_is_not_found_and_of_id_or_partition_key_is_refused(store):
    with pytest.raises(NotFoundError):
        store.patch(TRAINING_RUNS, "ghost", "ghost", set_fields={"ttl": 5})
    store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z"))
    for fields in ({"id": "o2"}, {"userId": "u2"}, {"_etag": "x"}, {}):
        with pytest.raises(ValueError):
            store.patch(ORDERS, "o1", "u1", set_fields=fields)
    assert store.read(ORDERS, "o1", "u1")["userId"] == "u1"


def test_every_call_is_reported_with_its_kind(store):
    from shared import store_calls
    store.create(ORDERS, order("u1", "o1", "2024-01-01T00:00:00.000Z"))
    with store_calls.recording() as calls:
        store.read(ORDERS, "o1", "u1")
        store.query(ORDERS, Query(partition_key="u1"))
        store.query(ORDERS, Query(filters=(Filter("type", "=", "order"),)))
        store.upsert(ORDERS, order("u1", "o2", "2024-01-02T00:00:00.000Z"))
        store.patch(ORDERS, "o2", "u1", set_fields={"note": "x"})
        list(store.scan(ORDERS, Query(partition_key="u1")))
        with pytest.raises(NotFoundError):
            store.read(ORDERS, "missing", "u1")
    assert calls.summary() == [
        ("read", ORDERS, store_calls.POINT_READ), ("query", ORDERS, store_calls.SINGLE_PARTITION_QUERY),
        ("query", ORDERS, store_calls.CROSS_PARTITION_QUERY), ("upsert", ORDERS, store_calls.WRITE),
        ("patch", ORDERS, store_calls.PATCH), ("scan", ORDERS, store_calls.SINGLE_PARTITION_QUERY),
        ("read", ORDERS, store_calls.POINT_READ)]
    first = calls.calls[0]
    assert first.items == 1 and first.item_bytes > 50 and first.duration_ms >= 0
    assert calls.calls[-1].items == 0
