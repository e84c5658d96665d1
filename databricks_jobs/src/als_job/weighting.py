"""The interaction weighting of shared.domain.weighting, in Spark (tests compare the two on the same orders).

1. each order line adds 0.5 ** (age_days / half_life_days), age measured back from the user's reference time:
   the newest createdAt of all, but at most RECENCY_LAG_HALF_LIVES half-lives after the user's own newest order;
   ages clamped to 0 .. MAX_AGE_HALF_LIVES half-lives (no weight underflows);
2. BM25: idf_i = max(0, ln N - ln(1 + df_i)), len_u = (1 - b) + b * rowsum_u / mean(rowsum),
   w_ui = r_ui * (k1 + 1) / (k1 * len_u + r_ui) * idf_i.
"""
from __future__ import annotations

import math

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

MICROS_PER_DAY = 86_400_000_000.0
MAX_AGE_HALF_LIVES = 20.0        # the values of shared.domain.weighting (a test compares them)
RECENCY_LAG_HALF_LIVES = 6.0


def decayed_counts(lines: DataFrame, reference_us: int, half_life_days: float) -> DataFrame:
    """(userId, productId, raw, referenceUs): the sum over order lines of the time-decayed unit, and the
    user's reference time (epoch microseconds)."""
    lag_us = RECENCY_LAG_HALF_LIVES * float(half_life_days) * MICROS_PER_DAY
    newest = F.max("createdUs").over(Window.partitionBy("userId")).cast("double")
    reference = F.least(F.lit(float(reference_us)), newest + F.lit(lag_us))
    half_lives = (F.col("referenceUs") - F.col("createdUs").cast("double")) / F.lit(MICROS_PER_DAY * half_life_days)
    unit = F.pow(F.lit(0.5), F.least(F.greatest(half_lives, F.lit(0.0)), F.lit(MAX_AGE_HALF_LIVES)))
    return (lines.withColumn("referenceUs", reference)
            .groupBy("userId", "productId").agg(F.sum(unit).alias("raw"), F.max("referenceUs").alias("referenceUs")))


def product_stats(counts: DataFrame, users: int) -> DataFrame:
    """(productId, buyers, idf): buyers = distinct users (df_i); idf clipped at 0 like the shared definition."""
    idf = F.greatest(F.lit(0.0), F.lit(math.log(max(users, 1))) - F.log1p(F.col("buyers").cast("double")))
    return counts.groupBy("productId").agg(F.count(F.lit(1)).alias("buyers")).withColumn("idf", idf)


def bm25(counts: DataFrame, row_sums: DataFrame, products: DataFrame, mean_row_sum: float, k1: float,
         b: float) -> DataFrame:
    """Adds `weight` to the decayed counts: (userId, productId, raw, referenceUs, weight)."""
    if mean_row_sum > 0:
        length = F.lit(1.0 - b) + F.lit(b) * F.col("rowSum") / F.lit(mean_row_sum)
    else:
        length = F.lit(1.0)
    weight = F.col("raw") * F.lit(k1 + 1.0) / (F.lit(k1) * length + F.col("raw")) * F.col("idf")
    return (counts.join(row_sums, "userId").join(products.select("productId", "idf"), "productId")
            .select("userId", "productId", "raw", "referenceUs", weight.alias("weight")))


def interactions(lines: DataFrame, reference_us: int, half_life_days: float, k1: float, b: float):
    """Order lines -> (weighted interactions, per-product stats, {"users": N, "meanRowSum": mean})."""
    counts = decayed_counts(lines, reference_us, half_life_days).cache()
    row_sums = counts.groupBy("userId").agg(F.sum("raw").alias("rowSum")).cache()
    summary = row_sums.agg(F.count(F.lit(1)).alias("users"), F.avg("rowSum").alias("mean")).first()
    users, mean = int(summary["users"]), float(summary["mean"] or 0.0)
    products = product_stats(counts, users).cache()
    weighted = bm25(counts, row_sums, products, mean, k1, b)
    return weighted, products, {"users": users, "meanRowSum": mean}
