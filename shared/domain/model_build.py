"""Trained factors -> the model documents of shared.domain.model_docs (the local trainer's writer; the Spark
job builds the same documents on its side)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator

import numpy as np

from shared.domain import model_docs
from shared.domain.bought_together import bought_together
from shared.domain.interactions import Interactions
from shared.domain.similarity import top_k_similar
from shared.domain.training_params import TrainingParams
from shared.domain.validation import format_timestamp
from shared.domain.weighting import idf

SIMILAR_PRECOMPUTED_MAX = 10_000


def item_idf(data: Interactions) -> np.ndarray:
    return idf(data.buyers_per_product, len(data.user_ids))


def model_documents(version: str, data: Interactions, item_factors: np.ndarray, params: TrainingParams,
                    baskets: list[list[str]] = ()) -> list[dict]:
    """Product shards, similar-product and bought-together shards (from `baskets`, each order's products) and
    popularity: everything but user vectors and the manifest."""
    docs = list(model_docs.product_shards(version, data.product_ids, item_factors, item_idf(data)))
    ids = data.product_ids
    buyers = data.buyers_per_product
    by_popularity = np.argsort(-buyers, kind="stable")
    # Neighbours are precomputed for the most bought products only: the work grows with products squared,
    # and serving computes the rest on demand from the product vectors (one product against all).
    head = by_popularity[:SIMILAR_PRECOMPUTED_MAX]
    neighbours, scores = top_k_similar(item_factors, params.similar_k, head)
    rounded = np.round(scores.astype(np.float64), 5).tolist()
    similar = {ids[row]: [[ids[col], score] for col, score in zip(neighbours[n].tolist(), rounded[n])]
               for n, row in enumerate(head.tolist())}
    docs += list(model_docs.similar_shards(version, similar))
    together = bought_together(baskets, ids, params.bought_together_k, params.bought_together_min_support)
    docs += list(model_docs.bought_together_shards(version, together))
    top = by_popularity[:params.popular_k]
    docs.append(model_docs.popularity_doc(version, ((ids[i], float(buyers[i])) for i in top)))
    return docs


def user_documents(version: str, data: Interactions, user_factors: np.ndarray) -> Iterator[dict]:
    raw = data.raw
    ids = np.asarray(data.product_ids, dtype=object)
    values = raw.data.astype(np.float64)
    for row, user_id in enumerate(data.user_ids):
        start, end = raw.indptr[row], raw.indptr[row + 1]
        interactions = dict(zip(ids[raw.indices[start:end]].tolist(), values[start:end].tolist()))
        yield model_docs.user_vector_doc(version, user_id, user_factors[row], interactions, data.user_reference(row),
                                         data.received_through, data.recent_order_ids.get(user_id, []))


def manifest(version: str, data: Interactions, params: TrainingParams, trainer: str, fold_in: dict,
             mean_row_sum: float, shards: dict, timings: dict) -> dict:
    doc = {
        "id": model_docs.MANIFEST_ID, "modelVersion": version, "type": "manifest",
        "schemaVersion": model_docs.SCHEMA_VERSION, "state": "complete", "trainer": trainer,
        "createdAt": format_timestamp(datetime.now(timezone.utc)),
        "params": params.to_json(), "foldIn": fold_in,
        "counts": {"users": len(data.user_ids), "products": len(data.product_ids),
                   "interactions": int(data.raw.nnz), "orders": data.orders},
        "weighting": {"meanRowSum": float(mean_row_sum), "users": len(data.user_ids)},
        "decayReference": data.reference_time, "receivedThrough": data.received_through,
        "shards": shards, "timings": {key: round(value, 3) for key, value in timings.items()},
        "metrics": None,
    }
    return doc
