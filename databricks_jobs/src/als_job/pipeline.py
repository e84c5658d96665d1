"""The training run: orders -> weighted interactions -> ALS -> documents, the manifest written last."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from pyspark.sql import DataFrame

from als_job import documents as docs
from als_job.bought_together import bought_together
from als_job.config import JobConfig
from als_job.factorize import fit, index_ids, item_matrix, user_factors
from als_job.orders import cutoffs, order_lines, recent_order_ids
from als_job.user_docs import user_documents
from als_job.weighting import interactions

log = logging.getLogger("train_als")


class Stopwatch:
    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now
        log.info("%s done in %.1f s", name, self.laps[name])

    def timings(self) -> dict[str, float]:
        return {**self.laps, "total": time.perf_counter() - self.start}


def train(orders: DataFrame, config: JobConfig, sink, models: str = "models",
          user_vectors: str = "userVectors") -> dict:
    """Train on `orders` and write every document through `sink`; returns the manifest (written last)."""
    params, version, clock = config.params, config.model_version, Stopwatch()
    lines = order_lines(orders).cache()
    cut = cutoffs(lines)
    reference, received = docs.format_micros(cut["reference_us"]), docs.format_micros(cut["received_us"])
    clock.lap("read")

    weighted, products, stats = interactions(lines, cut["reference_us"], params.half_life_days,
                                             params.bm25_k1, params.bm25_b)
    indexed, product_ids = index_ids(weighted)
    indexed = indexed.cache()
    product_rows = {row["productId"]: row for row in products.collect()}
    clock.lap("weighting")

    # One directory per run: a retried or concurrent run never reads another run's checkpoint files.
    model = fit(indexed, params, f"{config.checkpoint_dir}/{version}" if config.checkpoint_dir else "")
    vectors = item_matrix(model, len(product_ids), params.factors)
    clock.lap("fit")

    idf = [float(product_rows[pid]["idf"]) for pid in product_ids]
    similar = docs.similar_products(product_ids, vectors, params.similar_k)
    by_buyers = sorted(product_rows.values(), key=lambda row: (-row["buyers"], row["productId"]))
    shard_docs = list(docs.product_shards(version, product_ids, vectors, idf))
    similar_docs = list(docs.similar_shards(version, similar))
    together = bought_together(lines, params.bought_together_k, params.bought_together_min_support)
    together_docs = list(docs.bought_together_shards(version, together))
    popularity = docs.popularity_doc(version, [(row["productId"], row["buyers"])
                                               for row in by_buyers[:params.popular_k]])
    # Measured before anything is written (with the ttl): a document Cosmos DB would refuse fails the run here.
    model_documents = docs.with_ttl(shard_docs + similar_docs + together_docs + [popularity],
                                    config.model_ttl_seconds)
    sink.write(models, [docs.check_size(doc) for doc in model_documents])
    clock.lap("models")

    recent = recent_order_ids(lines, cut["received_us"], docs.FOLD_IN_OVERLAP_SECONDS)
    sink.write(user_vectors, user_documents(user_factors(model, indexed), indexed, recent, version, received))
    clock.lap("userVectors")

    manifest = docs.manifest_doc(
        version, params.to_json(),
        counts={"users": stats["users"], "products": len(product_ids),
                "interactions": int(sum(row["buyers"] for row in product_rows.values())),
                "orders": cut["orders"], "orderLines": cut["lines"]},
        weighting=stats, decay_reference=reference, received_through=received,
        shards={"products": len(shard_docs), "similar": len(similar_docs), "boughtTogether": len(together_docs)},
        timings=clock.timings(),
        created_at=docs.format_micros(int(datetime.now(timezone.utc).timestamp() * 1_000_000)),
        ttl_seconds=config.model_ttl_seconds)
    # Last: readers treat a model version without a manifest as incomplete.
    sink.write(models, [docs.check_size(manifest)])
    for frame in (lines, indexed):
        frame.unpersist()
    log.info("model %s: %d users, %d products", version, stats["users"], len(product_ids))
    return manifest
