"""The DocumentStore contract for the conditional point read (`read_if_changed`, Cosmos DB If-None-Match); every
adapter passes it."""
from __future__ import annotations

import time

import pytest

from shared import store_calls
from shared.domain.errors import NotFoundError
from shared.domain.ports import ETAG, TRAINING_RUNS, USER_VECTORS
from tests.contract.store_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def user_vector(user: str, **fields) -> dict:
    return {"id": user, "userId": user, "modelVersion": "m1", "interactions": {"p1": 1.0}, **fields}


def test_an_unchanged_document_is_none_and_reported_as_a_point_read_of_nothing(store):
    written = store.upsert(USER_VECTORS, user_vector("u1"))
    etag = written.document[ETAG]
    with store_calls.recording() as calls:
        assert store.read_if_changed(USER_VECTORS, "u1", "u1", etag) is None
        assert store.read_if_changed(USER_VECTORS, "u1", "u1", etag, session_token=written.session_token) is None
    assert [(call.operation, call.kind, call.items, call.item_bytes) for call in calls.calls] == \
        [("read_if_changed", store_calls.POINT_READ, 0, 0)] * 2
    assert store.read(USER_VECTORS, "u1", "u1")[ETAG] == etag   # a conditional read changes nothing


@pytest.mark.parametrize("change", ["replace", "upsert", "patch"])
def test_a_changed_document_comes_back_whole_with_its_new_etag(store, change):
    old = store.upsert(USER_VECTORS, user_vector("u1", note="old")).document[ETAG]
    if change == "replace":
        store.replace(USER_VECTORS, user_vector("u1", note="new"), if_match=old)
    elif change == "upsert":
        store.upsert(USER_VECTORS, user_vector("u1", note="new"))
    else:
        store.patch(USER_VECTORS, "u1", "u1", set_fields={"note": "new"})
    with store_calls.recording() as calls:
        got = store.read_if_changed(USER_VECTORS, "u1", "u1", old)
    assert got == store.read(USER_VECTORS, "u1", "u1")
    assert got["note"] == "new" and got["interactions"] == {"p1": 1.0} and got[ETAG] != old
    [call] = calls.calls
    assert (call.operation, call.kind, call.items) == ("read_if_changed", store_calls.POINT_READ, 1)
    assert call.item_bytes > 50
    assert store.read_if_changed(USER_VECTORS, "u1", "u1", got[ETAG]) is None   # the new etag now matches


def test_an_etag_the_store_did_not_hand_out_never_matches(store):
    current = store.upsert(USER_VECTORS, user_vector("u1")).document[ETAG]
    other = store.upsert(USER_VECTORS, user_vector("u2")).document[ETAG]
    # Ours with a leading zero, another document's, Cosmos-like, empty, the wildcard, a header-breaking one.
    for etag in (current[:1] + "0" + current[1:], other, '"00000000-0000-0000-0000-000000000000"', "garbage",
                 "", "*", " " + current, "bad\r\netag"):
        got = store.read_if_changed(USER_VECTORS, "u1", "u1", etag)
        assert got is not None and got["id"] == "u1" and got[ETAG] == current, etag


def test_a_missing_document_is_not_found(store):
    with pytest.raises(NotFoundError):
        store.read_if_changed(USER_VECTORS, "ghost", "ghost", "anything")
    etag = store.upsert(USER_VECTORS, user_vector("u1")).document[ETAG]
    with pytest.raises(NotFoundError):
        store.read_if_changed(USER_VECTORS, "u1", "other-partition", etag)
    store.delete(USER_VECTORS, "u1", "u1")
    with store_calls.recording() as calls:
        with pytest.raises(NotFoundError):
            store.read_if_changed(USER_VECTORS, "u1", "u1", etag)   # the etag it had is no answer for a deleted one
    assert [(call.operation, call.items) for call in calls.calls] == [("read_if_changed", 0)]


def test_read_if_changed_of_an_expired_document_is_not_found(store):
    etag = store.upsert(TRAINING_RUNS, {"id": "short", "ttl": 1}).document[ETAG]
    assert store.read_if_changed(TRAINING_RUNS, "short", "short", etag) is None
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            store.read_if_changed(TRAINING_RUNS, "short", "short", etag)
        except NotFoundError:
            return
        time.sleep(0.5)
    raise AssertionError("an expired document was still answered as not modified after 10 s")
