"""The interaction weighting of shared.domain.weighting, in Spark (tests compare the two on the same orders).

1. each order line adds 0.5 ** (age_days / half_life_days), age measured back from the reference time;
2. BM25: idf_i = max(0, ln N - ln(1 + df_i)), len_u = (1 - b) + b * rowsum_u / mean(rowsum),
   w_ui = r_ui * (k1 + 1) / (k1 * len_u + r_ui) * idf_i.
"""
from __future__ import annotations

import math

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MICROS_PER_DAY = 86_400_000_000.0


def decayed_counts(lines: DataFrame, reference_us: int, half_life_days: float) -> DataFrame:
    """(userId, productId, raw): the sum over order lines of the time-decayed unit."""
    age_days = (F.lit(reference_us) - F.col("createdUs")).cast("double") / F.lit(MICROS_PER_DAY)
    unit = F.pow(F.lit(0.5), age_days / F.lit(float(half_life_days)))
    return lines.groupBy("userId", "productId").agg(F.sum(unit).alias("raw"))


def product_stats(counts: DataFrame, users: int) -> DataFrame:
    """(productId, buyers, idf): buyers = distinct users (df_i); idf clipped at 0 like the shared definition."""
    idf = F.greatest(F.lit(0.0), F.lit(math.log(max(users, 1))) - F.log1p(F.col("buyers").cast("double")))
    return counts.groupBy("productId").agg(F.count(F.lit(1)).alias("buyers")).withColumn("idf", idf)


def bm25(counts: DataFrame, row_sums: DataFrame, products: DataFrame, mean_row_sum: float, k1: float,
         b: float) -> DataFrame:
    """Adds `weight` to the decayed counts: (userId, productId, raw, weight)."""
    if mean_row_sum > 0:
        length = F.lit(1.0 - b) + F.lit(b) * F.col("rowSum") / F.lit(mean_row_sum)
    else:
        length = F.lit(1.0)
    weight = F.col("raw") * F.lit(k1 + 1.0) / (F.lit(k1) * length + F.col("raw")) * F.col("idf")
    return (counts.join(row_sums, "userId").join(products.select("productId", "idf"), "productId")
            .select("userId", "productId", "raw", weight.alias("weight")))


def interactions(lines: DataFrame, reference_us: int, half_life_days: float, k1: float, b: float):
    """Order lines -> (weighted interactions, per-product stats, {"users": N, "meanRowSum": mean})."""
    counts = decayed_counts(lines, reference_us, half_life_days).cache()
    row_sums = counts.groupBy("userId").agg(F.sum("raw").alias("rowSum")).cache()
    summary = row_sums.agg(F.count(F.lit(1)).alias("users"), F.avg("rowSum").alias("mean")).first()
    users, mean = int(summary["users"]), float(summary["mean"] or 0.0)
    products = product_stats(counts, users).cache()
    weighted = bm25(counts, row_sums, products, mean, k1, b)
    return weighted, products, {"users": users, "meanRowSum": mean}
