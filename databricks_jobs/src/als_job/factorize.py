"""String ids to integer ids and back, and the Spark MLlib implicit ALS fit.

Spark's implicit ALS (ALS.scala, computeFactors) solves, per user u with ratings r_ui = w_ui:
    (Y^T Y + sum_{i: w>0} alpha w_ui y_i y_i^T + lambda * n_u * I) x_u = sum_{i: w>0} (1 + alpha w_ui) y_i,
n_u = number of ratings > 0, and it solves the users last in each iteration: the stored user vectors are the
exact solution given the stored item vectors, which is what fold-in at serving time relies on.
"""
from __future__ import annotations

import tempfile

import numpy as np
from pyspark.ml.feature import StringIndexer
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def index_ids(weighted: DataFrame) -> tuple[DataFrame, list[str]]:
    """Adds integer columns `u` and `i`; returns the frame and the product ids in index order.

    Alphabetical order makes the index, and so the product shards, deterministic for the same data."""
    indexer = StringIndexer(inputCols=["userId", "productId"], outputCols=["u_index", "i_index"],
                            stringOrderType="alphabetAsc").fit(weighted)
    product_ids = list(indexer.labelsArray[1])
    indexed = (indexer.transform(weighted)
               .withColumn("u", F.col("u_index").cast("int"))
               .withColumn("i", F.col("i_index").cast("int"))
               .drop("u_index", "i_index"))
    return indexed, product_ids


def fit(indexed: DataFrame, params, checkpoint_dir: str = "") -> ALSModel:
    """Implicit ALS on rating = BM25 weight. Zero weights stay in: their products still get (zero) vectors."""
    # No more blocks than cores: on one machine ALS's default of 10 blocks is mostly task overhead.
    blocks = max(1, min(10, indexed.sparkSession.sparkContext.defaultParallelism))
    als = ALS(userCol="u", itemCol="i", ratingCol="rating", implicitPrefs=True, rank=params.factors,
              maxIter=params.iterations, regParam=params.regularization, alpha=params.alpha, seed=params.seed,
              coldStartStrategy="drop", nonnegative=False, numUserBlocks=blocks, numItemBlocks=blocks)
    ratings = indexed.select("u", "i", F.col("weight").cast("float").alias("rating"))
    _ensure_checkpoint_dir(indexed.sparkSession.sparkContext, checkpoint_dir)
    return als.fit(ratings)


def _ensure_checkpoint_dir(context, checkpoint_dir: str) -> None:
    """ALS cuts its lineage every checkpointInterval (10) iterations, but only with a checkpoint directory;
    without one, 10 or more iterations overflow the JVM stack when the plan is serialized. On a cluster the
    directory is the job parameter checkpoint_dir (a Unity Catalog volume); on one machine, a temp dir."""
    if checkpoint_dir:
        context.setCheckpointDir(checkpoint_dir)
    elif context.getCheckpointDir():
        return
    elif context.master.startswith("local"):
        context.setCheckpointDir(tempfile.mkdtemp(prefix="als-checkpoints-"))
    else:
        raise ValueError("checkpoint_dir is empty: set the job parameter to a volume (/Volumes/...)")


def item_matrix(model: ALSModel, products: int, rank: int) -> np.ndarray:
    """Item factors as a float32 matrix in index order (a product without factors gets zeros)."""
    matrix = np.zeros((products, rank), dtype=np.float32)
    for row in model.itemFactors.toLocalIterator():
        matrix[row["id"]] = np.asarray(row["features"], dtype=np.float32)
    return matrix


def user_factors(model: ALSModel, indexed: DataFrame) -> DataFrame:
    """(userId, features) for every user in the model."""
    users = indexed.select("userId", "u").distinct()
    return users.join(model.userFactors, users["u"] == model.userFactors["id"]).select("userId", "features")
