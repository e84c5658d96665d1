"""A synthetic model written to a store in the real document schema: many products, many users, each user
with a vector and a handful of interactions (Zipf-like product popularity)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

from shared.domain.interactions import Interactions, to_epoch_seconds
from shared.domain.model_build import manifest, model_documents, user_documents
from shared.domain.ports import MODELS, USER_VECTORS
from shared.domain.training_params import TrainingParams
from shared.domain.weighting import bm25_matrix, idf

VERSION = "20260101T000000Z-bench001"


def synthetic_interactions(users: int, products: int, per_user: float, seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(per_user - 1, users) + 1
    rows = np.repeat(np.arange(users), counts)
    popularity = 1.0 / np.arange(1, products + 1) ** 0.9
    cols = rng.choice(products, size=len(rows), p=popularity / popularity.sum())
    values = rng.uniform(0.5, 2.0, len(rows)).astype(np.float32)
    raw = sparse.csr_matrix((values, (rows, cols)), shape=(users, products), dtype=np.float32)
    raw.sum_duplicates()
    reference = "2026-01-01T00:00:00.000Z"   # every user's reference time too (shared.domain.weighting)
    return Interactions([f"user-{n}" for n in range(users)], [f"P{n:06d}" for n in range(products)], raw,
                        reference, reference, {}, users, raw.nnz,
                        np.full(users, to_epoch_seconds([reference])[0]))


def write_synthetic_model(store, users: int, products: int, factors: int = 64, per_user: float = 6.0,
                          similar_k: int = 0) -> Interactions:
    data = synthetic_interactions(users, products, per_user)
    rng = np.random.default_rng(1)
    item_factors = (rng.normal(size=(products, factors)) / np.sqrt(factors)).astype(np.float32)
    user_factors = (rng.normal(size=(users, factors)) / np.sqrt(factors)).astype(np.float32)
    params = TrainingParams(factors=factors, similar_k=similar_k)
    _, mean = bm25_matrix(data.raw, idf(data.buyers_per_product, users), params.bm25_k1, params.bm25_b)
    docs = model_documents(VERSION, data, item_factors, params)
    store.upsert_many(MODELS, docs)
    batch = []
    for doc in user_documents(VERSION, data, user_factors):
        batch.append(doc)
        if len(batch) == 20_000:
            store.upsert_many(USER_VECTORS, batch)
            batch = []
    store.upsert_many(USER_VECTORS, batch)
    shards = {"products": sum(d["type"] == "productShard" for d in docs),
              "similar": sum(d["type"] == "similarShard" for d in docs)}
    store.upsert(MODELS, manifest(VERSION, data, params, "local", {"confidenceOffset": 0,
                                                                      "regularizationScaling": "none"},
                                  mean, shards, {"total": 0.0}))
    return data
