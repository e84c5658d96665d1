"""The model documents, exactly as shared.domain.model_docs defines them (a test validates every one).

models/<version>: products-NNNNN, similar-NNNNN and boughtTogether-NNNNN shards, popularity, and the manifest,
written last.
userVectors/<userId>: one document per user with the decayed interaction counts fold-in needs.
"""
from __future__ import annotations

import base64
import json
import math
from datetime import datetime, timezone
from typing import Iterable, Iterator

import numpy as np

SCHEMA_VERSION = 1
MANIFEST_ID = "manifest"
POPULARITY_ID = "popularity"
# Cosmos DB's item limit is 2 MB of JSON: refuse a document over 2,000,000 bytes before writing it, and pack
# shards to 1.8 MB, leaving room for the properties Cosmos adds and the ttl (with_ttl adds it after packing).
MAX_DOCUMENT_BYTES = 2_000_000
SHARD_TARGET_BYTES = 1_800_000
FOLD_IN_OVERLAP_SECONDS = 120
# Spark MLlib's implicit ALS: confidence 1 + alpha * w, regParam scaled by the user's count of ratings > 0.
SPARK_FOLD_IN = {"confidenceOffset": 1, "regularizationScaling": "count"}


def encode_vectors(matrix: np.ndarray) -> str:
    """float32, little-endian, base64: plain data that any reader can decode."""
    return base64.b64encode(np.ascontiguousarray(matrix, dtype="<f4").tobytes()).decode("ascii")


def format_micros(micros: int) -> str:
    """Epoch microseconds -> the fixed-width UTC form the stores sort by ('2024-01-01T12:00:00.000Z')."""
    moment = datetime.fromtimestamp(micros // 1_000_000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(micros % 1_000_000) // 1000:03d}Z"


def shard_id(kind: str, index: int) -> str:
    return f"{kind}-{index:05d}"


def json_bytes(value) -> int:
    """Bytes of `value` as compact JSON with non-ASCII escaped: what the job writes, never less than UTF-8."""
    return len(json.dumps(value, separators=(",", ":")))


def check_size(doc: dict) -> dict:
    """Raise ValueError for a document Cosmos DB would refuse; called on every document before it is written."""
    size = json_bytes(doc)
    if size > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{doc.get('type')} {doc.get('id')!r} is {size:,} bytes of JSON, over the "
                         f"{MAX_DOCUMENT_BYTES:,}-byte limit of one Cosmos DB item")
    return doc


def pack(costs: Iterable[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) runs of items whose byte costs add up to at most `budget` (an item larger than
    the budget gets a run of its own, and check_size then refuses it)."""
    runs, start, used, count = [], 0, 0, 0
    for count, cost in enumerate(costs, 1):
        if used and used + cost > budget:
            runs.append((start, count - 1))
            start, used = count - 1, 0
        used += cost
    if count > start:
        runs.append((start, count))
    return runs


def product_shards(version: str, product_ids: list[str], vectors: np.ndarray, item_idf: np.ndarray,
                   budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Product vectors in shards of at most `budget` bytes, whatever the factors and the id lengths."""
    idf = [round(float(value), 6) for value in item_idf]
    vector_bytes = math.ceil(vectors.shape[1] * 16 / 3) if len(product_ids) else 0  # base64 of 4-byte floats
    costs = (json_bytes(pid) + json_bytes(value) + vector_bytes + 2 for pid, value in zip(product_ids, idf))
    skeleton = json_bytes({"id": shard_id("products", 0), "modelVersion": version, "type": "productShard",
                           "index": 99999, "start": 10 ** 9, "productIds": [], "vectors": "====", "idf": []})
    for index, (start, end) in enumerate(pack(costs, budget - skeleton)):
        yield {"id": shard_id("products", index), "modelVersion": version, "type": "productShard",
               "index": index, "start": start, "productIds": list(product_ids[start:end]),
               "vectors": encode_vectors(vectors[start:end]), "idf": idf[start:end]}


# Per-product lists, sharded alike: the shard kind (id prefix, manifest `shards` key) -> document type.
LIST_KINDS = {"similar": "similarShard", "boughtTogether": "boughtTogetherShard"}


def similar_shards(version: str, similar: dict[str, list[list]], budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Similar-product lists, keys sorted, in shards of at most `budget` bytes."""
    return list_shards("similar", version, similar, budget)


def bought_together_shards(version: str, together: dict[str, list[list]],
                           budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Bought-together lists (als_job.bought_together), keys sorted, in shards of at most `budget` bytes."""
    return list_shards("boughtTogether", version, together, budget)


def list_shards(kind: str, version: str, lists: dict[str, list[list]],
                budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Per-product lists of one LIST_KINDS kind, keys sorted, in shards of at most `budget` bytes."""
    keys = sorted(lists)
    costs = (json_bytes(key) + json_bytes(lists[key]) + 2 for key in keys)
    skeleton = json_bytes({"id": shard_id(kind, 0), "modelVersion": version, "type": LIST_KINDS[kind],
                           "index": 99999, "items": {}})
    for index, (start, end) in enumerate(pack(costs, budget - skeleton)):
        yield {"id": shard_id(kind, index), "modelVersion": version, "type": LIST_KINDS[kind], "index": index,
               "items": {key: lists[key] for key in keys[start:end]}}


def popularity_doc(version: str, items: Iterable[tuple[str, float]]) -> dict:
    return {"id": POPULARITY_ID, "modelVersion": version, "type": "popularity",
            "items": [{"productId": pid, "score": round(float(score), 6)} for pid, score in items]}


def user_vector_doc(version: str, user_id: str, vector, interactions: dict[str, float], decay_reference: str,
                    received_through: str, recent_order_ids: list[str]) -> dict:
    return {"id": user_id, "userId": user_id, "modelVersion": version, "type": "userVector",
            "vector": encode_vectors(np.asarray(vector, dtype=np.float32).reshape(1, -1)),
            "interactions": {pid: round(float(value), 6) for pid, value in interactions.items()},
            "decayReference": decay_reference, "receivedThrough": received_through,
            "recentOrderIds": list(recent_order_ids)}


def manifest_doc(version: str, params: dict, counts: dict, weighting: dict, decay_reference: str,
                 received_through: str, shards: dict, timings: dict, created_at: str,
                 ttl_seconds: int | None = None) -> dict:
    """The manifest: its presence (written last) is what says the model is complete."""
    doc = {"id": MANIFEST_ID, "modelVersion": version, "type": "manifest", "schemaVersion": SCHEMA_VERSION,
           "state": "complete", "trainer": "spark", "createdAt": created_at, "params": dict(params),
           "foldIn": dict(SPARK_FOLD_IN), "counts": dict(counts),
           "weighting": {"meanRowSum": float(weighting["meanRowSum"]), "users": int(weighting["users"])},
           "decayReference": decay_reference, "receivedThrough": received_through, "shards": dict(shards),
           "timings": {name: round(float(value), 3) for name, value in timings.items()}, "metrics": None}
    if ttl_seconds:
        doc["ttl"] = int(ttl_seconds)
    return doc


def with_ttl(documents: list[dict], ttl_seconds: int | None) -> list[dict]:
    """Cosmos `ttl` on every document of a model version (as the local trainer does), so old versions expire."""
    if ttl_seconds:
        for doc in documents:
            doc["ttl"] = int(ttl_seconds)
    return documents


def similar_products(product_ids: list[str], vectors: np.ndarray, k: int, chunk: int = 1024) -> dict:
    """Each product's top `k` others by cosine similarity of item vectors, best first: {pid: [[pid, score]]}.

    Products with a zero vector (no positive weight anywhere) have no direction: they neither get nor appear
    in lists. Only positive similarities are kept: an opposite taste is not a "similar product"."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1)
    usable = norms > 0
    unit = np.divide(matrix, norms[:, None], out=np.zeros_like(matrix), where=usable[:, None])
    similar: dict[str, list[list]] = {pid: [] for pid in product_ids}
    if k <= 0:
        return similar
    for start in range(0, len(product_ids), chunk):
        scores = unit[start:start + chunk] @ unit.T
        scores[:, ~usable] = -np.inf
        for row, scored in enumerate(scores):
            own = start + row
            if not usable[own]:
                continue
            scored[own] = -np.inf
            take = min(k, len(scored) - 1)
            if take <= 0:
                continue
            top = np.argpartition(-scored, take - 1)[:take] if take < len(scored) else np.arange(len(scored))
            ranked = sorted((int(j) for j in top if scored[j] > 0), key=lambda j: (-scored[j], product_ids[j]))
            similar[product_ids[own]] = [[product_ids[j], round(float(scored[j]), 6)] for j in ranked[:k]]
    return similar
