"""Acceptance (issue 13): the README's order of steps. The demo store, one new order today, the Online Retail
import (orders of 2010-2011), a training run: the history still counts, so product vectors are not zero and a
known customer gets personalized items with real scores. Also: the ids docs/api.md shows exist after the import."""
import json
import os
import re

import numpy as np
import pytest

from shared import bootstrap
from shared.domain import model_docs
from shared.domain.ports import MODELS, ORDERS, PRODUCTS, Query
from tests.integration.localhost import ROOT
from tests.integration.test_online_retail import DATASET

pytestmark = [pytest.mark.dataset,
              pytest.mark.skipif(not os.path.exists(DATASET), reason="evaluation data not present beside the repo")]


@pytest.fixture(scope="module")
def demo_then_retail(tmp_path_factory):
    from commands.import_orders import import_file
    from commands.serve import prepare_demo
    from commands.train import train_now
    from shared.config import Settings

    path = tmp_path_factory.mktemp("demo-retail") / "store.sqlite3"
    bootstrap.override(settings=Settings.from_env({"SQLITE_PATH": str(path), "MODEL_REFRESH_SECONDS": "0"}))
    prepare_demo(bootstrap.store())                           # make run
    bootstrap.order_service().place({"userId": "new-shopper", "items": [{"productId": "P0001", "quantity": 2}]})
    import_file(DATASET, progress=False)                      # manage.py import-orders
    manifest = train_now()                                    # manage.py train
    yield manifest
    bootstrap.reset()


def test_fewer_than_one_percent_of_product_vectors_are_zero(demo_then_retail):
    manifest = demo_then_retail
    factors = manifest["params"]["factors"]
    shards = [doc for doc in bootstrap.store().scan(MODELS, Query(partition_key=manifest["modelVersion"]))
              if doc["type"] == "productShard"]
    vectors = np.concatenate([model_docs.decode_vectors(doc["vectors"], factors) for doc in shards])
    assert len(vectors) == manifest["counts"]["products"] > 3800
    zero = int((~vectors.any(axis=1)).sum())
    assert zero < 0.01 * len(vectors), f"{zero} of {len(vectors)} product vectors are zero"


def test_customer_17850_gets_personalized_items_with_scores(demo_then_retail):
    result = bootstrap.recommendation_service().for_user("17850", k=10)
    assert result["strategy"] == "personalized" and len(result["items"]) == 10
    assert all(item["score"] != 0 for item in result["items"])
    demo = bootstrap.recommendation_service().for_user("new-shopper", k=10)
    assert demo["strategy"] == "personalized" and all(item["score"] != 0 for item in demo["items"])


def test_the_ids_in_the_api_examples_exist_after_the_import(demo_then_retail):
    with open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8") as handle:
        examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", handle.read(), re.S)]
    store = bootstrap.store()
    users = {example["userId"] for example in examples if "userId" in example}   # trending has no user
    products = {item["productId"] for example in examples for item in example["items"]}
    assert users and products
    for user in users:
        assert store.query(ORDERS, Query(partition_key=user, limit=1)).items, user
    for product in products:
        assert store.read(PRODUCTS, product, product)["title"]
