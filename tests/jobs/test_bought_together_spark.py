"""Bought together in the Spark job: the same lists as shared.domain.bought_together on the same orders, and
written by the job as boughtTogether shards that follow the shared schema."""
import pytest

from shared.domain import model_docs
from shared.domain.bought_together import bought_together as local_bought_together

pytestmark = pytest.mark.spark


def spark_lines(spark, orders):
    from als_job.orders import ORDER_SCHEMA, order_lines
    frame = spark.createDataFrame([{name: order.get(name) for name in ORDER_SCHEMA.fieldNames()}
                                   for order in orders], ORDER_SCHEMA)
    return order_lines(frame)


@pytest.mark.parametrize("k, min_support", [(5, 2), (3, 1), (20, 4)])
def test_spark_lists_equal_the_shared_definition(spark, orders, k, min_support):
    from als_job.bought_together import bought_together

    product_ids = sorted({line["productId"] for order in orders for line in order["items"]})
    expected = local_bought_together(([line["productId"] for line in order["items"]] for order in orders),
                                     product_ids, k, min_support)
    found = bought_together(spark_lines(spark, orders), k, min_support)
    assert expected, "the fixture orders must hold pairs above the support"
    assert found == expected


def test_a_pair_needs_support_and_lift_above_one(spark):
    from als_job.bought_together import bought_together
    from tests.jobs.fixture_orders import START, _order

    # a+b together in 2 of 4 orders; c is in every order (lift exactly 1 with anything): never a partner.
    baskets = [["a", "b", "c"], ["a", "b", "c"], ["a", "c"], ["d", "c"]]
    orders = [_order(f"o{n}", f"u{n}", basket, START, START) for n, basket in enumerate(baskets)]
    found = bought_together(spark_lines(spark, orders), 10, 2)
    assert found == {"a": [["b", 0.666667]], "b": [["a", 1.0]]}
    assert found == local_bought_together(baskets, ["a", "b", "c", "d"], 10, 2)
    assert bought_together(spark_lines(spark, orders), 10, 3) == {}


def test_the_job_writes_bought_together_shards_in_the_shared_schema(trained):
    shards = [doc for doc in trained["models"] if doc["type"] == "boughtTogetherShard"]
    manifest = next(doc for doc in trained["models"] if doc["type"] == "manifest")
    assert shards and manifest["shards"]["boughtTogether"] == len(shards)
    assert manifest["params"]["bought_together_k"] == 20
    for doc in shards:
        model_docs.validate(doc)
        for product, partners in doc["items"].items():
            assert 1 <= len(partners) <= 20 and product not in [pid for pid, _ in partners]
            scores = [score for _, score in partners]
            assert scores == sorted(scores, reverse=True) and all(0 < score <= 1 for score in scores)
