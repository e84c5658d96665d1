"""Bought together in Spark: the definition of shared.domain.bought_together (a test compares the two).

A basket is one order's distinct products (N orders in all); a pair (a, b) counts when it shares at least
`min_support` orders and N * n_ab > n_a * n_b (lift above 1, in integers); a's partners are ranked by confidence
n_ab / n_a, ties by product id, at most k."""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def bought_together(lines: DataFrame, k: int, min_support: int) -> dict[str, list[list]]:
    """{product: [[partner, confidence], ...]} from order lines (orderId, userId, productId)."""
    if k <= 0:
        return {}
    # Order ids are unique per user (the orders container's partition key), so an order is (userId, orderId).
    baskets = lines.select(F.concat_ws("\u0000", "userId", "orderId").alias("basket"), "productId").distinct()
    baskets = baskets.cache()
    orders = baskets.select("basket").distinct().count()
    support = baskets.groupBy("productId").agg(F.count(F.lit(1)).alias("n"))
    left = baskets.select("basket", F.col("productId").alias("a"))
    right = baskets.select("basket", F.col("productId").alias("b"))
    pairs = (left.join(right, "basket").where(F.col("a") != F.col("b"))
             .groupBy("a", "b").agg(F.count(F.lit(1)).alias("together"))
             .where(F.col("together") >= F.lit(min_support))
             .join(support.select(F.col("productId").alias("a"), F.col("n").alias("na")), "a")
             .join(support.select(F.col("productId").alias("b"), F.col("n").alias("nb")), "b")
             .where(F.lit(orders).cast("long") * F.col("together") > F.col("na") * F.col("nb"))
             .withColumn("confidence", F.col("together").cast("double") / F.col("na").cast("double")))
    ranked = pairs.withColumn("rank", F.row_number().over(
        Window.partitionBy("a").orderBy(F.col("confidence").desc(), F.col("b").asc())))
    rows = ranked.where(F.col("rank") <= F.lit(k)).select("a", "b", "confidence", "rank").collect()
    baskets.unpersist()
    result: dict[str, list[tuple[int, str, float]]] = {}
    for row in rows:
        result.setdefault(row["a"], []).append((row["rank"], row["b"], row["confidence"]))
    return {a: [[b, round(float(confidence), 6)] for _, b, confidence in sorted(partners)]
            for a, partners in result.items()}
