"""The Spark job on Spark local mode, files mode: its documents follow shared.domain.model_docs, its weighting
is shared.domain.weighting, and its user vectors are what fold-in recomputes at serving time."""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta

import numpy as np
import pytest

from shared.domain import model_docs
from shared.domain.validation import format_timestamp, parse_timestamp
from tests.jobs.conftest import TEST_ARGS, TEST_VERSION
from tests.jobs.fixture_orders import STAPLE, shared_weights

pytestmark = pytest.mark.spark
FACTORS = TEST_ARGS["factors"]
WEIGHTING = (TEST_ARGS["half_life_days"], TEST_ARGS["bm25_k1"], TEST_ARGS["bm25_b"])


def expected_weights(orders):
    return shared_weights(orders, *WEIGHTING)


def by_type(trained, kind):
    return [doc for doc in trained["models"] + trained["users"] if doc["type"] == kind]


def products_of(trained):
    ids, vectors, idf = [], [], []
    for shard in sorted(by_type(trained, "productShard"), key=lambda doc: doc["index"]):
        ids += shard["productIds"]
        vectors.append(model_docs.decode_vectors(shard["vectors"], FACTORS))
        idf += shard["idf"]
    return ids, np.vstack(vectors).astype(np.float64), np.asarray(idf)


def test_run_succeeds_and_every_document_is_valid(trained):
    assert trained["exit_code"] == 0
    assert trained["models"] and trained["users"]
    for doc in trained["models"] + trained["users"]:
        model_docs.validate(doc, FACTORS)
        assert doc["modelVersion"] == TEST_VERSION


def test_manifest_is_written_last(trained):
    kinds = [doc["type"] for doc in trained["models"]]
    assert kinds.count("manifest") == 1 and kinds[-1] == "manifest"
    # userVectors.jsonl was complete before the manifest line was appended to models.jsonl.
    assert os.stat(trained["models_path"]).st_mtime_ns >= os.stat(trained["users_path"]).st_mtime_ns


def test_manifest_describes_the_model(trained, orders):
    manifest = trained["models"][-1]
    expected = expected_weights(orders)
    assert manifest["trainer"] == "spark"
    assert manifest["foldIn"] == {"confidenceOffset": 1, "regularizationScaling": "count"}
    assert manifest["params"]["factors"] == FACTORS and manifest["params"]["similar_k"] == TEST_ARGS["similar_k"]
    assert manifest["metrics"] is None
    assert all(doc["ttl"] == TEST_ARGS["model_ttl_seconds"] for doc in trained["models"])
    assert all("ttl" not in doc for doc in trained["users"])   # a user's one document outlives model versions
    assert {name: manifest["params"][name] for name in TEST_ARGS if name in manifest["params"]} == {
        name: value for name, value in TEST_ARGS.items() if name in manifest["params"]}
    assert manifest["counts"]["users"] == expected["users"] == len(trained["users"])
    assert manifest["counts"]["products"] == len(expected["idf"])
    assert manifest["counts"]["interactions"] == len(expected["raw"])
    assert manifest["counts"]["orders"] == sum(1 for order in orders if order["items"])
    assert manifest["weighting"]["users"] == expected["users"]
    assert manifest["weighting"]["meanRowSum"] == pytest.approx(expected["meanRowSum"], rel=1e-9)
    assert manifest["decayReference"] == expected["reference"]
    assert manifest["receivedThrough"] == max(order["receivedAt"] for order in orders)
    assert manifest["shards"] == {"products": len(by_type(trained, "productShard")),
                                  "similar": len(by_type(trained, "similarShard")),
                                  "boughtTogether": len(by_type(trained, "boughtTogetherShard"))}
    assert set(manifest["timings"]) >= {"read", "weighting", "fit", "total"}


def test_spark_weighting_equals_the_shared_definition(spark, orders, orders_path):
    from als_job.orders import ORDER_SCHEMA, cutoffs, order_lines
    from als_job.weighting import interactions

    lines = order_lines(spark.read.schema(ORDER_SCHEMA).json(orders_path))
    cut = cutoffs(lines)
    weighted, products, stats = interactions(lines, cut["reference_us"], *WEIGHTING)
    expected = expected_weights(orders)
    rows = {(row["userId"], row["productId"]): row for row in weighted.collect()}
    assert set(rows) == set(expected["raw"])
    for key, row in rows.items():
        assert row["raw"] == pytest.approx(expected["raw"][key], rel=1e-6)
        assert row["weight"] == pytest.approx(expected["weight"][key], rel=1e-6, abs=1e-12)
    idf = {row["productId"]: row["idf"] for row in products.collect()}
    assert idf == pytest.approx(expected["idf"], rel=1e-9, abs=1e-12)
    assert idf[STAPLE] == 0.0   # bought by every user: clipped, so every weight on it is 0
    assert stats == {"users": expected["users"], "meanRowSum": pytest.approx(expected["meanRowSum"], rel=1e-9)}
    lapsed = {key: value for key, value in expected["raw"].items() if key[0] == "u-lapsed"}
    assert min(lapsed.values()) > 1e-3   # years before the others, yet not decayed to nothing


def test_spark_weighting_uses_the_shared_constants():
    from als_job import weighting as spark_weighting
    from shared.domain import weighting

    assert spark_weighting.MAX_AGE_HALF_LIVES == weighting.MAX_AGE_HALF_LIVES
    assert spark_weighting.RECENCY_LAG_HALF_LIVES == weighting.RECENCY_LAG_HALF_LIVES


def test_user_documents_carry_decayed_counts_and_recent_orders(trained, orders):
    expected = expected_weights(orders)
    cutoff = parse_timestamp(max(order["receivedAt"] for order in orders), "receivedAt")
    since = format_timestamp(cutoff - timedelta(seconds=model_docs.FOLD_IN_OVERLAP_SECONDS))
    recent = defaultdict(list)
    for order in orders:
        if order["items"] and order["receivedAt"] >= since:
            recent[order["userId"]].append(order["id"])
    assert len(recent) >= 2   # the fixture has orders inside the overlap window
    for doc in trained["users"]:
        mine = {pid: value for (user, pid), value in expected["raw"].items() if user == doc["userId"]}
        assert doc["interactions"] == pytest.approx(mine, abs=1e-6)
        assert doc["recentOrderIds"] == sorted(recent.get(doc["userId"], []))
        assert doc["decayReference"] == expected["user_references"][doc["userId"]]
        assert doc["receivedThrough"] == format_timestamp(cutoff)


def test_user_vectors_solve_the_fold_in_normal_equations(trained):
    """Spark solves users last: each stored vector is the exact solve given the stored product vectors, in the
    manifest's foldIn form (c = 1 + alpha*w, lambda * n_u with n_u = interactions of positive weight)."""
    manifest = trained["models"][-1]
    params, mean = manifest["params"], manifest["weighting"]["meanRowSum"]
    k1, b, alpha, lam = params["bm25_k1"], params["bm25_b"], params["alpha"], params["regularization"]
    ids, vectors, idf = products_of(trained)
    column = {pid: index for index, pid in enumerate(ids)}
    gram = vectors.T @ vectors
    for doc in trained["users"]:
        cols = np.array([column[pid] for pid in doc["interactions"]])
        raw = np.array(list(doc["interactions"].values()))
        length = (1 - b) + b * raw.sum() / mean
        weight = raw * (k1 + 1) / (k1 * length + raw) * idf[cols]
        positive = weight > 0
        ys, confidence = vectors[cols[positive]], alpha * weight[positive]
        matrix = gram + (ys.T * confidence) @ ys + lam * positive.sum() * np.eye(FACTORS)
        solved = np.linalg.solve(matrix, ys.T @ (1 + confidence))
        stored = model_docs.decode_vectors(doc["vector"], FACTORS)[0].astype(np.float64)
        cosine = stored @ solved / (np.linalg.norm(stored) * np.linalg.norm(solved))
        assert cosine > 0.9999, doc["userId"]
        # Seen: 2e-7 (float32 storage, interactions rounded to 6 decimals); counting the zero-weight
        # interactions in n_u instead gives 1e-2, so this tolerance tells the two forms apart.
        assert np.linalg.norm(stored - solved) <= 1e-4 * np.linalg.norm(solved), doc["userId"]


def test_product_shards_similar_and_popularity(trained, orders):
    expected = expected_weights(orders)
    ids, vectors, idf = products_of(trained)
    assert ids == sorted(expected["idf"])
    assert idf == pytest.approx([expected["idf"][pid] for pid in ids], abs=1e-6)

    buyers = defaultdict(set)
    for user, pid in expected["raw"]:
        buyers[pid].add(user)
    ranked = sorted(buyers, key=lambda pid: (-len(buyers[pid]), pid))[:TEST_ARGS["popular_k"]]
    popularity = by_type(trained, "popularity")[0]["items"]
    assert popularity == [{"productId": pid, "score": float(len(buyers[pid]))} for pid in ranked]

    similar = {}
    for shard in by_type(trained, "similarShard"):
        similar.update(shard["items"])
    assert set(similar) == set(ids)
    unit = {pid: vectors[i] / np.linalg.norm(vectors[i]) for i, pid in enumerate(ids) if vectors[i].any()}
    assert STAPLE not in unit and similar[STAPLE] == []
    for pid, pairs in similar.items():
        assert len(pairs) <= TEST_ARGS["similar_k"] and pid not in [other for other, _ in pairs]
        assert [score for _, score in pairs] == sorted((score for _, score in pairs), reverse=True)
        for other, score in pairs:
            assert score == pytest.approx(float(unit[pid] @ unit[other]), abs=1e-5)
    # Taste clusters come back: most of p-00's neighbours are from its own cluster (p-00 .. p-08).
    assert sum(other < "p-09" for other, _ in similar["p-00"]) >= 3


def test_entry_point_exit_codes(spark, tmp_path):
    import train_als

    missing = ["--io_mode=files", f"--input_path={tmp_path / 'absent.jsonl'}", f"--output_path={tmp_path}"]
    assert train_als.main(missing, spark=spark) == 1
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert train_als.main(["--io_mode=files", f"--input_path={empty}", f"--output_path={tmp_path / 'out'}"],
                          spark=spark) == 1
    assert not (tmp_path / "out" / "models.jsonl").exists()
