"""Parity: the Spark job and the local trainer, trained on the same orders and served by the same code, both beat
popularity on a held-out split and land within 20% of each other on NDCG@10."""
import json
import os
import random

import pytest

from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.adapters.sqlite_store import SqliteStore
from shared.config import Settings
from shared.domain.orders import parse_order
from shared.domain.ports import MODELS, ORDERS, USER_VECTORS
from shared.domain.training_params import TrainingParams
from shared.services.evaluation import evaluate_lists
from tests.builders import order_body
from tests.jobs.conftest import read_jsonl

PARAMS = TrainingParams(factors=16, iterations=10, regularization=0.1, similar_k=5, popular_k=100)
pytestmark = pytest.mark.spark


def shop(users=150, products=80, groups=5, seed=11):
    """Shoppers of one taste group buy within it, with popular products bought by all."""
    rng = random.Random(seed)
    train, targets = [], {}
    for user in range(users):
        group = [pid for pid in range(products) if pid % groups == user % groups]
        picks = rng.sample(group, 7) + rng.sample(range(5), 1)
        held_out = picks[-2]
        for number, pid in enumerate(pid for pid in picks if pid != held_out):
            train.append(order_body(f"u{user:03d}", [f"p{pid:03d}"], day=number, order_id=f"o{user}-{number}"))
        if f"p{held_out:03d}" not in {f"p{p:03d}" for p in picks if p != held_out}:
            targets[f"u{user:03d}"] = {f"p{held_out:03d}"}
    return train, targets


def served_ndcg(store_path, version, targets):
    bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": store_path, "MODEL_REFRESH_SECONDS": "0"}))
    try:
        bootstrap.model_registry().activate(version)
        service = bootstrap.recommendation_service()
        lists = {user: [item["productId"] for item in service.for_user(user, k=10)["items"]] for user in targets}
        popular = [item["productId"] for item in service.popular(k=100)["items"]]
        return lists, popular
    finally:
        bootstrap.reset()


def test_spark_and_local_models_both_beat_popularity_and_agree(spark, tmp_path):
    import train_als

    train, targets = shop()
    docs = [parse_order(body).to_document(body["createdAt"]) for body in train]

    local_path = str(tmp_path / "local.sqlite3")
    local_store = SqliteStore(local_path)
    local_store.upsert_many(ORDERS, docs)
    train_model(local_store, "20240101T000000Z-local001", PARAMS)
    local_store.close()

    orders_file = tmp_path / "orders.jsonl"
    orders_file.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
    output = tmp_path / "spark-out"
    argv = ["--io_mode=files", f"--input_path={orders_file}", f"--output_path={output}",
            "--model_version=20240101T000000Z-spark001"] + [f"--{name}={value}" for name, value in
                                                         PARAMS.to_json().items()]
    assert train_als.main(argv, spark=spark) == 0
    spark_path = str(tmp_path / "spark.sqlite3")
    spark_store = SqliteStore(spark_path)
    spark_store.upsert_many(ORDERS, docs)
    spark_store.upsert_many(MODELS, read_jsonl(os.path.join(output, "models.jsonl")))
    spark_store.upsert_many(USER_VECTORS, read_jsonl(os.path.join(output, "userVectors.jsonl")))
    spark_store.close()

    local_lists, popular = served_ndcg(local_path, "20240101T000000Z-local001", targets)
    spark_lists, _ = served_ndcg(spark_path, "20240101T000000Z-spark001", targets)
    bought = {}
    for body in train:
        bought.setdefault(body["userId"], set()).update(line["productId"] for line in body["items"])
    popular_lists = {user: [pid for pid in popular if pid not in bought[user]][:10] for user in targets}

    local = evaluate_lists(local_lists, targets, 10, 80)["ndcg"]
    spark_ndcg = evaluate_lists(spark_lists, targets, 10, 80)["ndcg"]
    baseline = evaluate_lists(popular_lists, targets, 10, 80)["ndcg"]
    print(f"NDCG@10 local {local:.3f} spark {spark_ndcg:.3f} popularity {baseline:.3f}")
    assert local > baseline and spark_ndcg > baseline
    assert abs(local - spark_ndcg) <= 0.2 * max(local, spark_ndcg)
