"""A damaged model never fails a request (issue 13, point 3): serving falls back to the previous good model, else
the damaged model's popularity, else an empty 200; /api/health says `degraded` and why; it is logged once;
and a model that fails validation is never activated."""
import asyncio
import json
import logging
import sqlite3
from dataclasses import replace

import azure.functions as func
import numpy as np
import pytest

from functions.health import health
from functions.recommendations import popular_products, similar_products, user_recommendations
from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.domain import model_docs
from shared.domain.errors import ValidationError
from shared.domain.ports import MODELS, Query
from tests.builders import SMALL, clustered_orders, store_orders, trained

V1 = "20240301T000000Z-test0001"
V2 = "20240302T000000Z-test0002"


@pytest.fixture
def serving(wired, settings):
    bootstrap.override(settings=replace(settings, model_refresh_seconds=0.0), store=wired)
    trained(wired, bootstrap.model_registry(), clustered_orders(), V1)
    return wired


def call(function, path, route_params=None, **params):
    request = func.HttpRequest("GET", path, route_params=route_params or {}, body=b"",
                               params={key: str(value) for key, value in params.items()})
    response = function(request)
    if asyncio.iscoroutine(response):
        response = asyncio.run(response)
    return response.status_code, json.loads(response.get_body())


def recommend(user="u001", k=5):
    return call(user_recommendations, f"/api/users/{user}/recommendations", {"user_id": user}, k=k)


def docs_of(store, version, kind):
    return [doc for doc in store.scan(MODELS, Query(partition_key=version)) if doc.get("type") == kind]


def bare(doc):
    return {key: value for key, value in doc.items() if not key.startswith("_")}


def drop_a_shard(store, version):
    shard = docs_of(store, version, "productShard")[0]
    store.delete(MODELS, shard["id"], version)


def drop_the_manifest(store, version):
    store.delete(MODELS, model_docs.MANIFEST_ID, version)


def garbage_vectors(store, version):
    shard = docs_of(store, version, "productShard")[0]
    store.upsert(MODELS, {**bare(shard), "vectors": "!!not base64!!"})


def nan_vectors(store, version):
    shard = docs_of(store, version, "productShard")[0]
    factors = SMALL.factors
    store.upsert(MODELS, {**bare(shard), "vectors": model_docs.encode_vectors(
        np.full((len(shard["productIds"]), factors), np.nan, dtype=np.float32))})


def pointer_to_a_missing_version(store, version):
    pointer = store.read(MODELS, model_docs.ACTIVE_POINTER_ID, model_docs.ACTIVE_POINTER_ID)
    store.upsert(MODELS, {**bare(pointer), "activeVersion": "20990101T000000Z-gone0001"})


def non_json_pointer(store, version):
    with sqlite3.connect(bootstrap.settings().sqlite_path) as connection:
        changed = connection.execute("UPDATE documents SET body = ? WHERE container = ? AND id = ?",
                                     ("{not json", MODELS, model_docs.ACTIVE_POINTER_ID)).rowcount
    assert changed == 1


DAMAGES = [drop_a_shard, drop_the_manifest, garbage_vectors, nan_vectors, pointer_to_a_missing_version,
           non_json_pointer]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda damage: damage.__name__)
def test_a_fresh_instance_serves_popularity_and_health_says_degraded(serving, damage, caplog):
    damage(serving, V1)
    with caplog.at_level(logging.ERROR, logger="models"):
        answers = [recommend() for _ in range(3)]
        popular = call(popular_products, "/api/recommendations/popular", k=5)
        similar = call(similar_products, "/api/products/p001/similar", {"product_id": "p001"}, k=5)
        status, report = call(health, "/api/health")
    for status_code, body in answers:
        assert status_code == 200 and body["strategy"] == "popular"
    assert popular[0] == 200 and similar[0] == 200 and similar[1]["items"] == []
    if damage in (pointer_to_a_missing_version, non_json_pointer):
        assert answers[0][1]["items"] == [] and popular[1]["items"] == []   # nothing readable: empty 200
    else:
        assert len(answers[0][1]["items"]) == 5 and len(popular[1]["items"]) == 5   # the model's popularity
    assert status == 200 and report["status"] == "degraded" and report["reason"]
    assert len([record for record in caplog.records if record.name == "models"]) == 1   # once, not per request


@pytest.mark.parametrize("damage", [drop_a_shard, nan_vectors, pointer_to_a_missing_version, non_json_pointer],
                         ids=lambda damage: damage.__name__)
def test_an_instance_keeps_serving_the_model_it_had(serving, damage):
    assert recommend()[1]["modelVersion"] == V1
    train_model(serving, V2, SMALL)
    bootstrap.model_registry().activate(V2)
    assert recommend()[1]["modelVersion"] == V2
    damage(serving, V2)
    status, body = recommend()
    assert status == 200 and body["strategy"] == "personalized" and body["modelVersion"] == V2   # in memory
    assert all(np.isfinite(item["score"]) and item["score"] != 0 for item in body["items"])


def test_a_fresh_instance_falls_back_to_the_previous_version(serving):
    train_model(serving, V2, SMALL)
    bootstrap.model_registry().activate(V2)
    drop_a_shard(serving, V2)
    status, body = recommend()
    assert status == 200 and body["strategy"] == "personalized" and body["modelVersion"] == V1
    assert call(health, "/api/health")[1]["status"] == "degraded"


def test_health_is_ok_again_once_a_good_model_is_active(serving):
    drop_a_shard(serving, V1)
    assert call(health, "/api/health")[1]["status"] == "degraded"
    store_orders(serving, clustered_orders(seed=5))
    train_model(serving, V2, SMALL)
    bootstrap.model_registry().activate(V2)
    assert call(health, "/api/health")[1]["status"] == "ok"
    assert recommend()[1]["modelVersion"] == V2


@pytest.mark.parametrize("damage", [drop_a_shard, garbage_vectors, nan_vectors], ids=lambda damage: damage.__name__)
def test_a_model_that_fails_validation_is_never_activated(serving, damage):
    train_model(serving, V2, SMALL)
    damage(serving, V2)
    with pytest.raises(ValidationError):
        bootstrap.model_registry().activate(V2)
    assert bootstrap.model_registry().active_version() == V1
