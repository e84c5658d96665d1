"""Recommendation functions over a real SQLite store and a really trained model."""
import asyncio
import json
import threading
from dataclasses import replace

import azure.functions as func
import pytest

from functions.catalogue import get_product, put_product
from functions.orders import create_order
from functions.recommendations import popular_products, similar_products, user_recommendations
from shared import bootstrap
from shared.adapters.local_trainer import train_model
from tests.builders import SMALL, clustered_orders, order_body, store_orders, trained


@pytest.fixture
def serving(wired, settings):
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0), store=wired)
    return wired


def recommend(user, headers=None, **params):
    response = asyncio.run(user_recommendations(func.HttpRequest(
        "GET", f"/api/users/{user}/recommendations", route_params={"user_id": user},
        params={key: str(value) for key, value in params.items()}, headers=headers or {}, body=b"")))
    return response.status_code, json.loads(response.get_body())


def post_order(body):
    response = asyncio.run(create_order(func.HttpRequest("POST", "/api/orders", body=json.dumps(body).encode())))
    return response.status_code, response.headers


def bought(user, bodies):
    return {line["productId"] for body in bodies if body["userId"] == user for line in body["items"]}


def test_no_model_yet_is_an_empty_popular_list(serving):
    status, body = recommend("anyone")
    assert status == 200 and body["items"] == [] and body["strategy"] == "popular" and body["modelVersion"] is None


def test_known_user_gets_personalized_items_from_their_cluster_without_purchases(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    status, body = recommend("u001", k=5)
    assert status == 200 and body["strategy"] == "personalized" and len(body["items"]) == 5
    ids = [item["productId"] for item in body["items"]]
    assert not set(ids) & bought("u001", bodies)
    own_cluster_left = {f"p{n:03d}" for n in range(1, 40, 4)} - bought("u001", bodies)
    assert 0 < len(own_cluster_left) <= 5
    assert ids[0] in own_cluster_left   # the best pick is from the user's own cluster
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_include_purchased_and_exclude(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    _, everything = recommend("u002", k=40, includePurchased="true")
    assert bought("u002", bodies) <= {item["productId"] for item in everything["items"]}
    _, first = recommend("u002", k=3)
    skip = first["items"][0]["productId"]
    _, second = recommend("u002", k=3, exclude=skip)
    assert skip not in [item["productId"] for item in second["items"]]


def test_out_of_stock_and_category_filters_use_the_catalogue(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    _, before = recommend("u003", k=3)
    top = before["items"][0]["productId"]
    for number in range(40):
        pid = f"p{number:03d}"
        request = func.HttpRequest("PUT", f"/api/products/{pid}", route_params={"product_id": pid},
                                   body=json.dumps({"title": pid, "category": "odd" if number % 2 else "even",
                                                    "inStock": pid != top}).encode())
        assert put_product(request).status_code == 200
    _, after = recommend("u003", k=3)
    assert top not in [item["productId"] for item in after["items"]]
    assert after["items"][0]["title"] and after["items"][0]["category"] in ("odd", "even")
    _, even = recommend("u003", k=5, category="even")
    assert {item["category"] for item in even["items"]} == {"even"}


def test_cold_start_falls_back_to_popular_and_excludes_nothing_it_should_not(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    status, body = recommend("brand-new", k=5)
    assert status == 200 and body["strategy"] == "popular" and len(body["items"]) == 5
    popular = json.loads(popular_products(func.HttpRequest("GET", "/x", params={"k": "5"}, body=b"")).get_body())
    assert [item["productId"] for item in body["items"]] == [item["productId"] for item in popular["items"]]


def test_an_order_changes_the_next_response_at_once(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    status, headers = post_order(order_body("newbie", ["p000", "p004", "p008"], 70))
    assert status == 201
    status, body = recommend("newbie", k=5, headers={"X-Session-Token": headers["X-Session-Token"]})
    ids = [item["productId"] for item in body["items"]]
    assert body["strategy"] == "personalized" and not {"p000", "p004", "p008"} & set(ids)
    assert sum(int(pid[1:]) % 4 == 0 for pid in ids) >= 4


def test_a_new_order_of_a_known_user_is_folded_in(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    _, before = recommend("u005", k=5)
    # u005 (cluster 1) now buys heavily from cluster 2: the next answer must move towards it.
    for number in range(4):
        post_order(order_body("u005", ["p002", "p006", "p010", "p014"], 70 + number, f"switch-{number}"))
    _, after = recommend("u005", k=5)
    assert after["items"] != before["items"]
    assert not {"p002", "p006", "p010", "p014"} & {item["productId"] for item in after["items"]}


def test_model_switch_while_serving(serving):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies, version="20240301T000000Z-first001")
    assert recommend("u001")[1]["modelVersion"] == "20240301T000000Z-first001"
    train_model(serving, "20240302T000000Z-second01", replace(SMALL, seed=9))
    assert recommend("u001")[1]["modelVersion"] == "20240301T000000Z-first001"   # trained, not active yet
    bootstrap.model_registry().activate("20240302T000000Z-second01")
    assert recommend("u001")[1]["modelVersion"] == "20240302T000000Z-second01"


def test_similar_and_popular(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    response = similar_products(func.HttpRequest("GET", "/x", route_params={"product_id": "p001"},
                                                 params={"k": "3"}, body=b""))
    body = json.loads(response.get_body())
    assert response.status_code == 200 and len(body["items"]) == 3
    assert all(int(item["productId"][1:]) % 4 == 1 for item in body["items"])
    missing = similar_products(func.HttpRequest("GET", "/x", route_params={"product_id": "nope"}, body=b""))
    assert missing.status_code == 404


@pytest.mark.parametrize("params, headers", [
    ({"k": "0"}, {}), ({"k": "101"}, {}), ({"k": "x"}, {}), ({"includePurchased": "maybe"}, {}),
    ({}, {"X-Session-Token": "not-a-token"}),
])
def test_bad_requests_are_400(serving, params, headers):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    status, body = recommend("u001", headers=headers, **params)
    assert status == 400 and body["error"]["code"] == "validation_error"


def test_catalogue_put_validates_and_get_reads(serving):
    bad = put_product(func.HttpRequest("PUT", "/x", route_params={"product_id": "a"},
                                       body=json.dumps({"title": "", "colour": 1}).encode()))
    assert bad.status_code == 400
    good = put_product(func.HttpRequest("PUT", "/x", route_params={"product_id": "a"},
                                        body=json.dumps({"title": "A mug", "price": 3.5}).encode()))
    assert good.status_code == 200
    got = json.loads(get_product(func.HttpRequest("GET", "/x", route_params={"product_id": "a"}, body=b"")).get_body())
    assert got == {"productId": "a", "title": "A mug", "category": None, "price": 3.5, "inStock": True}


def test_a_signed_in_shopper_reads_only_their_own_recommendations(serving):
    store_orders(serving, clustered_orders())
    status, _ = recommend("u001", headers={"X-MS-CLIENT-PRINCIPAL-ID": "u002"})
    assert status == 403


def test_similar_products_without_a_precomputed_list_are_computed_on_demand_the_same(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    request = func.HttpRequest("GET", "/x", route_params={"product_id": "p003"}, params={"k": "5"}, body=b"")
    precomputed = json.loads(similar_products(request).get_body())["items"]
    train_model(serving, "20240302T000000Z-again001", SMALL)   # same data and seed: the same vectors
    bootstrap.model_registry().activate("20240302T000000Z-again001")
    for doc in list(serving.scan("models")):
        if doc["type"] == "similarShard" and doc["modelVersion"] == "20240302T000000Z-again001":
            serving.delete("models", doc["id"], doc["modelVersion"])
    on_demand = json.loads(similar_products(request).get_body())["items"]
    assert [item["productId"] for item in on_demand] == [item["productId"] for item in precomputed]
    assert [item["score"] for item in on_demand] == pytest.approx([item["score"] for item in precomputed], abs=1e-4)


class RemoteLikeStore:
    """The SQLite store posing as a network store (embedded = False), noting the threads its reads run in."""

    embedded = False

    def __init__(self, inner):
        self._inner = inner
        self.read_threads: set[int] = set()

    def read(self, *args, **kwargs):
        self.read_threads.add(threading.get_ident())
        return self._inner.read(*args, **kwargs)

    def read_if_changed(self, *args, **kwargs):
        self.read_threads.add(threading.get_ident())
        return self._inner.read_if_changed(*args, **kwargs)

    def query(self, *args, **kwargs):
        self.read_threads.add(threading.get_ident())
        return self._inner.query(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_with_a_network_store_the_reads_leave_the_event_loop_and_concurrent_requests_share_a_batch(serving, settings):
    bodies = clustered_orders()
    trained(serving, bootstrap.model_registry(), bodies)
    expected = {user: bootstrap.recommendation_service().for_user(user, k=5)["items"] for user in ("u001", "u002")}
    remote = RemoteLikeStore(serving)
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0), store=remote)

    async def both():
        loop_thread = threading.get_ident()
        service = bootstrap.recommendation_service()
        results = await asyncio.gather(*(service.for_user_async(user, k=5) for user in ("u001", "u002")))
        return loop_thread, results

    loop_thread, results = asyncio.run(both())
    assert remote.read_threads and loop_thread not in remote.read_threads
    assert [result["items"] for result in results] == [expected["u001"], expected["u002"]]


def test_an_order_dated_long_ago_still_personalizes_with_real_scores(serving):
    trained(serving, bootstrap.model_registry(), clustered_orders())
    status, _ = post_order({"userId": "from-2000", "createdAt": "2000-01-01T00:00:00Z",
                            "items": [{"productId": "p001", "quantity": 1}, {"productId": "p005", "quantity": 1}]})
    assert status == 201
    status, body = recommend("from-2000", k=5)
    assert status == 200 and body["strategy"] == "personalized"
    assert all(item["score"] != 0 for item in body["items"]) and len(body["items"]) == 5


def test_a_user_whose_scores_carry_no_information_gets_popular(serving):
    bodies = clustered_orders()
    for body in bodies:
        body["items"].append({"productId": "staple", "quantity": 1})   # bought by everyone: idf 0
    trained(serving, bootstrap.model_registry(), bodies)
    assert post_order({"userId": "staple-only", "items": [{"productId": "staple", "quantity": 1}]})[0] == 201
    status, body = recommend("staple-only", k=5)
    assert status == 200 and body["strategy"] == "popular" and len(body["items"]) == 5
    assert "staple" not in [item["productId"] for item in body["items"]]   # bought: still excluded


def test_after_a_bulk_import_the_orders_a_user_document_counts_are_not_counted_twice_and_a_late_one_is(serving):
    """All orders received within the fold-in overlap (an import): every one is in the user document's
    recentOrderIds, so serving uses the trained vector as it is; an order received inside the overlap that the
    document does not list (committed late) is folded in, and its products are excluded."""
    from shared.domain.model_docs import decode_vectors
    from shared.domain.orders import parse_order
    from shared.domain.ports import ORDERS, USER_VECTORS
    imported_at = "2024-03-01T00:00:00.000Z"
    bodies = clustered_orders()
    serving.upsert_many(ORDERS, [parse_order(body).to_document(imported_at) for body in bodies])
    train_model(serving, "20240301T000000Z-test0002", SMALL)
    bootstrap.model_registry().activate("20240301T000000Z-test0002")
    doc = serving.read(USER_VECTORS, "u005", "u005")
    assert len(doc["recentOrderIds"]) == sum(body["userId"] == "u005" for body in bodies) > 1
    model = bootstrap.model_cache().current()
    scores = decode_vectors(doc["vector"], model.vectors.shape[1])[0] @ model.vectors.T
    for pid in doc["interactions"]:
        scores[model.index[pid]] = float("-inf")
    expected = [model.product_ids[i] for i in scores.argsort()[::-1][:5]]
    _, before = recommend("u005", k=5)
    assert [item["productId"] for item in before["items"]] == expected
    late = parse_order(order_body("u005", ["p002", "p006"], 60, "late-1")).to_document("2024-02-29T23:59:30.000Z")
    serving.create(ORDERS, late)
    _, after = recommend("u005", k=5)
    assert after["strategy"] == "personalized" and after["items"] != before["items"]
    assert not {"p002", "p006"} & {item["productId"] for item in after["items"]}


def test_a_rewritten_user_document_is_served_at_once_not_a_kept_copy(serving):
    """The decoded user document state a process keeps is keyed by the document's etag."""
    from shared.domain.model_docs import encode_vectors
    from shared.domain.ports import USER_VECTORS
    import numpy as np
    trained(serving, bootstrap.model_registry(), clustered_orders())
    _, before = recommend("u005", k=5)
    doc = {key: value for key, value in serving.read(USER_VECTORS, "u005", "u005").items()
           if not key.startswith("_")}
    model = bootstrap.model_cache().current()
    other = model.vectors[model.index["p002"]] * 3   # points at cluster 2
    serving.upsert(USER_VECTORS, doc | {"vector": encode_vectors(np.asarray([other], dtype=np.float32))})
    _, after = recommend("u005", k=5)
    assert after["strategy"] == "personalized" and after["items"] != before["items"]
    assert sum(int(item["productId"][1:]) % 4 == 2 for item in after["items"]) >= 4


def test_an_unchanged_user_document_is_not_read_whole_again_and_a_deleted_one_is_not_served(serving):
    """A process asks for the user document again only if its etag changed (a conditional read, answered with no
    body when unchanged); once the shopper's data is erased they are a cold start, not their kept vector."""
    from shared import store_calls
    from shared.domain.ports import USER_VECTORS
    trained(serving, bootstrap.model_registry(), clustered_orders())
    _, first = recommend("u005", k=5)
    with store_calls.recording() as calls:
        _, again = recommend("u005", k=5)
    user_doc_calls = [(call.operation, call.items) for call in calls.calls if call.container == USER_VECTORS]
    assert user_doc_calls == [("read_if_changed", 0)]
    assert again["items"] == first["items"] and again["strategy"] == "personalized"
    serving.delete(USER_VECTORS, "u005", "u005")   # as erasing the shopper's data does, with their orders
    serving.delete_partition("orders", "u005")
    _, after = recommend("u005", k=5)
    assert after["strategy"] != "personalized"
