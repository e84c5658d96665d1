"""The Spark job at the largest parameters the API accepts (512 factors, similar_k and popular_k at their
bounds, 128-character ids), Spark local mode: no document over Cosmos DB's item limit; a document that would
be over it fails the run before the manifest is written."""
from __future__ import annotations

import json
import os

import pytest

from shared.domain import model_docs
from shared.domain.training_params import MAX_POPULAR_K, MAX_SIMILAR_K
from tests.jobs.conftest import read_jsonl
from tests.jobs.wide_orders import long_id, wide_orders

pytestmark = pytest.mark.spark
VERSION = "20240720T000000Z-wide1234"


def write_orders(path, orders) -> str:
    path.write_text("".join(json.dumps(order) + "\n" for order in orders), encoding="utf-8")
    return str(path)


def run(spark, tmp_path, orders, *args) -> tuple[int, str]:
    import train_als

    output = str(tmp_path / "out")
    argv = ["--io_mode=files", f"--input_path={write_orders(tmp_path / 'orders.jsonl', orders)}",
            f"--output_path={output}", f"--model_version={VERSION}", *args]
    return train_als.main(argv, spark=spark), output


@pytest.fixture(scope="module")
def largest(spark, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("largest")
    checkpoints = str(tmp_path / "checkpoints")
    exit_code, output = run(spark, tmp_path, wide_orders(), "--factors=512", "--iterations=1",
                            f"--similar_k={MAX_SIMILAR_K}", f"--popular_k={MAX_POPULAR_K}",
                            f"--checkpoint_dir={checkpoints}")
    return {"exit_code": exit_code, "checkpoints": checkpoints,
            "checkpoint_dir": spark.sparkContext.getCheckpointDir(),
            "models": read_jsonl(os.path.join(output, "models.jsonl")),
            "users": read_jsonl(os.path.join(output, "userVectors.jsonl"))}


def test_no_document_is_over_the_limit_at_the_largest_parameters(largest):
    assert largest["exit_code"] == 0
    for doc in largest["models"] + largest["users"]:
        assert model_docs.json_bytes(doc) <= 2_000_000, (doc["type"], doc["id"])
        model_docs.validate(doc, 512)
    manifest = largest["models"][-1]
    assert manifest["type"] == "manifest" and manifest["counts"]["products"] == 700
    assert manifest["shards"]["products"] >= 2 and manifest["shards"]["similar"] >= 10
    assert max(model_docs.json_bytes(doc) for doc in largest["models"]) > 1_500_000
    ids = [pid for doc in sorted((d for d in largest["models"] if d["type"] == "productShard"),
                                 key=lambda d: d["index"]) for pid in doc["productIds"]]
    assert len(ids) == len(set(ids)) == 700
    similar = {key: pairs for doc in largest["models"] if doc["type"] == "similarShard"
               for key, pairs in doc["items"].items()}
    assert len(similar) == 700 and max(len(pairs) for pairs in similar.values()) == MAX_SIMILAR_K


def test_the_checkpoint_directory_is_the_job_parameter_per_model_version(largest):
    # Spark creates the directory it is given (plus a per-context subdirectory) when it is set.
    expected = os.path.join(largest["checkpoints"], VERSION)
    assert os.path.isdir(expected)
    assert os.path.dirname(largest["checkpoint_dir"].removeprefix("file:")) == expected


def test_a_user_document_over_the_limit_fails_the_run_before_the_manifest(spark, tmp_path):
    heavy = [long_id("p", 3 * n + 2) for n in range(1400)]  # astral characters: 12 bytes each when escaped
    orders = wide_orders(users=20, products=60) + [
        {"id": f"o-heavy-{n}", "userId": "u-heavy", "type": "order", "createdAt": "2024-03-02T00:00:00.000Z",
         "receivedAt": "2024-03-02T00:00:00.000Z",
         "items": [{"productId": pid, "quantity": 1, "unitPrice": 1.0} for pid in heavy[n:n + 100]]}
        for n in range(0, len(heavy), 100)]
    exit_code, output = run(spark, tmp_path, orders, "--factors=4", "--iterations=1")
    assert exit_code == 1
    models = read_jsonl(os.path.join(output, "models.jsonl"))
    assert models and "manifest" not in {doc["type"] for doc in models}
