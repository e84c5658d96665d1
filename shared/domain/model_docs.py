"""The model document schema, shared by the local trainer and the Spark job (both are tested against
`validate`). Documents live in the `models` container (partition key /modelVersion) and, one per user, in
`userVectors` (partition key /userId). Vectors are float32, little-endian, base64: plain data, never pickle.

models/<version>:  manifest (written last), products-NNNNN shards, similar-NNNNN shards, popularity
models/active:     the pointer; a model becomes active only by replacing this one document
userVectors/<user>: the user's vector and the decayed interaction counts serving needs to re-solve exactly
"""
from __future__ import annotations

import base64
import re
from typing import Iterable, Iterator

import numpy as np

SCHEMA_VERSION = 1
ACTIVE_POINTER_ID = "active"
MANIFEST_ID = "manifest"
POPULARITY_ID = "popularity"
PRODUCT_SHARD_SIZE = 2000      # 64 float32 factors: ~0.7 MB of base64 per shard, well under 2 MB
SIMILAR_SHARD_SIZE = 1000
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
# Orders received this long before a model's cutoff are checked by id, so that an order written while the
# trainer was reading is neither lost nor counted twice by fold-in.
FOLD_IN_OVERLAP_SECONDS = 120
_VERSION = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{4,16}$")


def encode_vectors(matrix: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(matrix, dtype="<f4").tobytes()).decode("ascii")


def decode_vectors(text: str, factors: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").reshape(-1, factors)


def shard_id(kind: str, index: int) -> str:
    return f"{kind}-{index:05d}"


def product_shards(version: str, product_ids: list[str], vectors: np.ndarray, item_idf: np.ndarray,
                   size: int = PRODUCT_SHARD_SIZE) -> Iterator[dict]:
    for index, start in enumerate(range(0, len(product_ids), size)):
        end = start + size
        yield {"id": shard_id("products", index), "modelVersion": version, "type": "productShard",
               "index": index, "start": start, "productIds": product_ids[start:end],
               "vectors": encode_vectors(vectors[start:end]),
               "idf": [round(float(value), 6) for value in item_idf[start:end]]}


def similar_shards(version: str, similar: dict[str, list[list]], size: int = SIMILAR_SHARD_SIZE) -> Iterator[dict]:
    keys = sorted(similar)
    for index, start in enumerate(range(0, len(keys), size)):
        yield {"id": shard_id("similar", index), "modelVersion": version, "type": "similarShard", "index": index,
               "items": {key: similar[key] for key in keys[start:start + size]}}


def popularity_doc(version: str, items: Iterable[tuple[str, float]]) -> dict:
    return {"id": POPULARITY_ID, "modelVersion": version, "type": "popularity",
            "items": [{"productId": pid, "score": round(float(score), 6)} for pid, score in items]}


def user_vector_doc(version: str, user_id: str, vector: np.ndarray, interactions: dict[str, float],
                    decay_reference: str, received_through: str, recent_order_ids: list[str]) -> dict:
    return {"id": user_id, "userId": user_id, "modelVersion": version, "type": "userVector",
            "vector": encode_vectors(vector.reshape(1, -1)),
            "interactions": _rounded(interactions),
            "decayReference": decay_reference, "receivedThrough": received_through,
            "recentOrderIds": recent_order_ids}


def _rounded(values: dict[str, float], digits: int = 6) -> dict[str, float]:
    return {key: round(value, digits) for key, value in values.items()}


def pointer_doc(active_version: str, previous_version: str | None, activated_at: str) -> dict:
    return {"id": ACTIVE_POINTER_ID, "modelVersion": ACTIVE_POINTER_ID, "type": "activePointer",
            "activeVersion": active_version, "previousVersion": previous_version, "activatedAt": activated_at}


# -- validation -------------------------------------------------------------------------------------------
_MANIFEST_FIELDS = {
    "id": str, "modelVersion": str, "type": str, "schemaVersion": int, "state": str, "trainer": str,
    "createdAt": str, "params": dict, "foldIn": dict, "counts": dict, "weighting": dict,
    "decayReference": str, "receivedThrough": str, "shards": dict, "timings": dict,
}
_FIELDS = {
    "manifest": _MANIFEST_FIELDS,
    "productShard": {"id": str, "modelVersion": str, "type": str, "index": int, "start": int, "productIds": list,
                     "vectors": str, "idf": list},
    "similarShard": {"id": str, "modelVersion": str, "type": str, "index": int, "items": dict},
    "popularity": {"id": str, "modelVersion": str, "type": str, "items": list},
    "userVector": {"id": str, "userId": str, "modelVersion": str, "type": str, "vector": str,
                   "interactions": dict, "decayReference": str, "receivedThrough": str, "recentOrderIds": list},
    "activePointer": {"id": str, "modelVersion": str, "type": str, "activeVersion": str, "activatedAt": str},
}


def valid_version(version: str) -> bool:
    """Versions look like 20240101T120000Z-ab12: sortable by time, unique by suffix."""
    return bool(_VERSION.match(version))


def validate(doc: dict, factors: int | None = None) -> None:
    """Raise ValueError when `doc` does not follow the schema for its type."""
    kind = doc.get("type")
    if kind not in _FIELDS:
        raise ValueError(f"unknown model document type {kind!r}")
    for name, expected in _FIELDS[kind].items():
        if not isinstance(doc.get(name), expected) or isinstance(doc.get(name), bool):
            raise ValueError(f"{kind} {doc.get('id')!r}: field {name} must be {expected.__name__}")
    if kind != "activePointer" and not valid_version(doc["modelVersion"]):
        raise ValueError(f"{kind}: bad modelVersion {doc['modelVersion']!r}")
    if kind == "manifest":
        _validate_manifest(doc)
    elif kind == "productShard":
        if factors is not None:
            vectors = decode_vectors(doc["vectors"], factors)
            if len(vectors) != len(doc["productIds"]) or len(doc["idf"]) != len(doc["productIds"]):
                raise ValueError(f"productShard {doc['id']}: vectors, ids and idf differ in length")
            if not np.isfinite(vectors).all():
                raise ValueError(f"productShard {doc['id']}: vectors hold NaN or infinity")
    elif kind == "similarShard":
        for key, pairs in doc["items"].items():
            if not all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) for pair in pairs):
                raise ValueError(f"similarShard {doc['id']}: bad entry for {key}")
    elif kind == "popularity":
        if not all(isinstance(item.get("productId"), str) and isinstance(item.get("score"), (int, float))
                   for item in doc["items"]):
            raise ValueError("popularity: items need productId and score")
    elif kind == "userVector" and factors is not None:
        if decode_vectors(doc["vector"], factors).shape != (1, factors):
            raise ValueError(f"userVector {doc['id']}: vector has the wrong length")
    if len(str(doc)) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{kind} {doc['id']} is larger than the 2 MB item limit")


def _validate_manifest(doc: dict) -> None:
    if doc["id"] != MANIFEST_ID or doc["schemaVersion"] != SCHEMA_VERSION:
        raise ValueError("manifest: wrong id or schemaVersion")
    if doc["state"] != "complete" or doc["trainer"] not in ("local", "spark"):
        raise ValueError("manifest: state must be complete and trainer local or spark")
    if doc["foldIn"].get("confidenceOffset") not in (0, 1) or \
            doc["foldIn"].get("regularizationScaling") not in ("none", "count"):
        raise ValueError("manifest: foldIn needs confidenceOffset (0|1) and regularizationScaling (none|count)")
    for key in ("users", "products", "interactions", "orders"):
        if not isinstance(doc["counts"].get(key), int):
            raise ValueError(f"manifest: counts.{key} must be an integer")
    for key in ("products", "similar"):
        if not isinstance(doc["shards"].get(key), int):
            raise ValueError(f"manifest: shards.{key} must be an integer")
    for key in ("meanRowSum", "users"):
        if not isinstance(doc["weighting"].get(key), (int, float)):
            raise ValueError(f"manifest: weighting.{key} must be a number")
    for key in ("factors", "iterations", "regularization", "alpha", "bm25_k1", "bm25_b", "half_life_days"):
        if not isinstance(doc["params"].get(key), (int, float)):
            raise ValueError(f"manifest: params.{key} must be a number")
