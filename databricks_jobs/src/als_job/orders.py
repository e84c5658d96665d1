"""Order documents in, order lines out: the explicit schema both I/O modes read with."""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, LongType, StringType, StructField, StructType

# Only the fields training needs. An explicit schema, not inference: the Cosmos connector infers from a sample
# of 1,000 documents, and a field missing from the sample would silently vanish.
ORDER_SCHEMA = StructType([
    StructField("id", StringType()),
    StructField("userId", StringType()),
    StructField("items", ArrayType(StructType([
        StructField("productId", StringType()),
        StructField("quantity", LongType()),
        StructField("unitPrice", DoubleType()),
    ]))),
    StructField("createdAt", StringType()),
    StructField("receivedAt", StringType()),
    StructField("type", StringType()),
])


def _micros(column: str):
    # ISO-8601 with 'Z' or an offset; a time without a zone is read in the session time zone (the entry point
    # sets UTC, as shared.domain.validation reads naive times as UTC). try_: one malformed document is
    # dropped instead of failing every training run (ANSI mode, the Spark 4 default, raises on it).
    return F.unix_micros(F.try_to_timestamp(F.col(column)))


def order_lines(orders: DataFrame) -> DataFrame:
    """One row per order line: orderId, userId, productId, createdUs, receivedUs (epoch microseconds).

    Quantity is ignored on purpose (see shared.domain.weighting). An order without receivedAt (an import)
    counts as received when it was created."""
    valid = (orders
             .where(F.coalesce(F.col("type"), F.lit("order")) == "order")
             .where(F.col("userId").isNotNull())
             .select(F.col("id").alias("orderId"), "userId", F.explode("items").alias("item"),
                     _micros("createdAt").alias("createdUs"),
                     F.coalesce(_micros("receivedAt"), _micros("createdAt")).alias("receivedUs")))
    return (valid.select("orderId", "userId", F.col("item.productId").alias("productId"), "createdUs",
                         "receivedUs")
            .where(F.col("productId").isNotNull() & F.col("createdUs").isNotNull()))


def cutoffs(lines: DataFrame) -> dict:
    """Reference time (newest createdAt), cutoff (newest receivedAt) and counts, in one pass."""
    row = lines.agg(F.max("createdUs").alias("reference"), F.max("receivedUs").alias("received"),
                    F.countDistinct("orderId", "userId").alias("orders"), F.count(F.lit(1)).alias("lines")).first()
    if row is None or row["reference"] is None:
        raise ValueError("no order lines to train on")
    return {"reference_us": int(row["reference"]), "received_us": int(row["received"]),
            "orders": int(row["orders"]), "lines": int(row["lines"])}


def recent_order_ids(lines: DataFrame, received_us: int, overlap_seconds: int) -> DataFrame:
    """userId -> ids of that user's orders received within the overlap before the cutoff (sorted)."""
    since = received_us - overlap_seconds * 1_000_000
    return (lines.where(F.col("receivedUs") >= F.lit(since))
            .groupBy("userId").agg(F.sort_array(F.collect_set("orderId")).alias("recentOrderIds")))
