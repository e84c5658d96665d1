"""One userVector document per user, built on the executors (users can be many; they never meet the driver)."""
from __future__ import annotations

import json
import sys

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from als_job.documents import MAX_DOCUMENT_BYTES, format_micros, user_vector_doc

RAW_JSON = "_rawBody"   # the Cosmos connector writes a row holding only this string column as the document


def ship_package_by_value() -> None:
    """Pickle this package's functions by value into Python UDFs.

    Only the driver has the job's folder on its path (Databricks runs the script; executors import nothing from
    it), so a UDF that referred to `als_job.documents` by name would fail there with ModuleNotFoundError."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__.split(".")[0]])


def user_documents(factors: DataFrame, counts: DataFrame, recent: DataFrame, version: str,
                   received_through: str) -> DataFrame:
    """(userId, features) + decayed counts + recent order ids -> a frame of JSON documents (`_rawBody`).
    Each document's decayReference is its user's own reference time (column referenceUs of `counts`)."""
    per_user = counts.groupBy("userId").agg(
        F.sort_array(F.collect_list(F.struct("productId", "raw"))).alias("interactions"),
        F.max("referenceUs").cast("long").alias("referenceUs"))
    joined = (factors.join(per_user, "userId")
              .join(recent, "userId", "left"))

    def build(user_id, features, interactions, recent_ids, reference_us):
        doc = user_vector_doc(version, user_id, features, {row[0]: row[1] for row in interactions},
                              format_micros(reference_us), received_through, list(recent_ids or []))
        text = json.dumps(doc, separators=(",", ":"))
        if len(text) > MAX_DOCUMENT_BYTES:  # the task fails, so the run fails before the manifest is written
            raise ValueError(f"userVector {user_id!r} is {len(text):,} bytes of JSON, over the "
                             f"{MAX_DOCUMENT_BYTES:,}-byte limit of one Cosmos DB item")
        return text

    ship_package_by_value()
    # A plain Python UDF: Arrow would need pandas and pyarrow on the cluster for no gain on one string per row.
    as_json = F.udf(build, StringType(), useArrow=False)
    return joined.select(as_json("userId", "features", "interactions", "recentOrderIds", "referenceUs").alias(RAW_JSON))
