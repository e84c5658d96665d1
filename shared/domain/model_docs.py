"""The model document schema, shared by the local trainer and the Spark job (both are tested against
`validate`). Documents live in the `models` container (partition key /modelVersion) and, one per user, in
`userVectors` (partition key /userId). Vectors are float32, little-endian, base64: plain data, never pickle.

models/<version>:  manifest (written last), products-NNNNN shards, similar-NNNNN and boughtTogether-NNNNN
                   shards (lists of [productId, score] per product), popularity
models/active:     the pointer; a model becomes active only by replacing this one document
userVectors/<user>: the user's vector and the decayed interaction counts serving needs to re-solve exactly
"""
from __future__ import annotations

import base64
import json
import math
import re
from typing import Iterable, Iterator

import numpy as np

SCHEMA_VERSION = 1
ACTIVE_POINTER_ID = "active"
MANIFEST_ID = "manifest"
POPULARITY_ID = "popularity"
# Per-product lists, sharded alike: the shard kind (id prefix, manifest `shards` key) -> document type.
LIST_KINDS = {"similar": "similarShard", "boughtTogether": "boughtTogetherShard"}
# Cosmos DB refuses an item over 2 MB of JSON (UTF-8) and a request over 2 MB. We refuse any document over
# 2,000,000 bytes before it is written, measured as the SDK sends it (compact, non-ASCII escaped: never fewer
# bytes than UTF-8), and pack shards to 1.8 MB: room for the system properties Cosmos adds and a ttl.
MAX_DOCUMENT_BYTES = 2_000_000
SHARD_TARGET_BYTES = 1_800_000
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


def json_bytes(value) -> int:
    """Bytes of `value` as JSON the way the Cosmos SDK sends it (compact separators, non-ASCII escaped)."""
    return len(json.dumps(value, separators=(",", ":")))


def check_size(doc: dict) -> dict:
    """Raise ValueError for a document Cosmos DB would refuse; both trainers call this before every write."""
    if doc.get("type") == "userVector" and _user_vector_bound(doc) <= MAX_DOCUMENT_BYTES:
        return doc  # the usual case, without serializing a million small documents
    size = json_bytes(doc)
    if size > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{doc.get('type')} {doc.get('id')!r} is {size:,} bytes of JSON, over the "
                         f"{MAX_DOCUMENT_BYTES:,}-byte limit of one Cosmos DB item")
    return doc


def _user_vector_bound(doc: dict) -> int:
    """An upper bound of json_bytes(doc) for a userVector document: a character escapes to at most 12 bytes, a
    float to at most 24; 500 bytes cover the field names, version, timestamps and a ttl."""
    interactions, recent = doc["interactions"], doc["recentOrderIds"]
    chars = 2 * len(doc["id"]) + sum(map(len, interactions)) + sum(map(len, recent))
    return 12 * chars + 30 * len(interactions) + 4 * len(recent) + len(doc["vector"]) + 500


def pack(costs: Iterable[int], budget: int) -> list[tuple[int, int]]:
    """Split items with these byte costs into consecutive [start, end) runs of at most `budget` bytes each
    (an item larger than the budget gets a run of its own, and check_size then refuses it)."""
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
    vector_bytes = math.ceil(vectors.shape[1] * 16 / 3) if len(product_ids) else 0  # 4 bytes -> 4/3 of base64
    costs = (json_bytes(pid) + json_bytes(value) + vector_bytes + 2 for pid, value in zip(product_ids, idf))
    skeleton = json_bytes({"id": shard_id("products", 0), "modelVersion": version, "type": "productShard",
                           "index": 99999, "start": 10 ** 9, "productIds": [], "vectors": "====", "idf": []})
    for index, (start, end) in enumerate(pack(costs, budget - skeleton)):
        yield {"id": shard_id("products", index), "modelVersion": version, "type": "productShard",
               "index": index, "start": start, "productIds": list(product_ids[start:end]),
               "vectors": encode_vectors(vectors[start:end]), "idf": idf[start:end]}


def similar_shards(version: str, similar: dict[str, list[list]], budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Similar-product lists, keys sorted, in shards of at most `budget` bytes."""
    return list_shards("similar", version, similar, budget)


def bought_together_shards(version: str, together: dict[str, list[list]],
                           budget: int = SHARD_TARGET_BYTES) -> Iterator[dict]:
    """Bought-together lists (shared.domain.bought_together), keys sorted, in shards of at most `budget` bytes."""
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
    "boughtTogetherShard": {"id": str, "modelVersion": str, "type": str, "index": int, "items": dict},
    "popularity": {"id": str, "modelVersion": str, "type": str, "items": list},
    "userVector": {"id": str, "userId": str, "modelVersion": str, "type": str, "vector": str,
                   "interactions": dict, "decayReference": str, "receivedThrough": str, "recentOrderIds": list},
    "activePointer": {"id": str, "modelVersion": str, "type": str, "activeVersion": str, "activatedAt": str},
}


def valid_version(version: str) -> bool:
    """Versions look like 20240101T120000Z-ab12: sortable by time, unique by suffix."""
    return bool(_VERSION.match(version))


def validate(doc: dict, factors: int | None = None, size: bool = True) -> None:
    """Raise ValueError when `doc` does not follow the schema for its type (and, with `size`, when Cosmos DB
    would refuse it: a document read back from the store was accepted, so serving leaves that out)."""
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
            shard_vectors(doc, factors)
    elif kind in LIST_KINDS.values():
        for key, pairs in doc["items"].items():
            if not all(isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[0] != key
                       and isinstance(pair[1], (int, float)) for pair in pairs):
                raise ValueError(f"{kind} {doc['id']}: bad entry for {key}")
    elif kind == "popularity":
        if not all(isinstance(item.get("productId"), str) and isinstance(item.get("score"), (int, float))
                   for item in doc["items"]):
            raise ValueError("popularity: items need productId and score")
    elif kind == "userVector" and factors is not None:
        if decode_vectors(doc["vector"], factors).shape != (1, factors):
            raise ValueError(f"userVector {doc['id']}: vector has the wrong length")
    if size:
        check_size(doc)


def shard_vectors(doc: dict, factors: int) -> np.ndarray:
    """A productShard's vectors, decoded once; ValueError when they do not match its ids or are not finite."""
    vectors = decode_vectors(doc["vectors"], factors)
    if len(vectors) != len(doc["productIds"]) or len(doc["idf"]) != len(doc["productIds"]):
        raise ValueError(f"productShard {doc['id']}: vectors, ids and idf differ in length")
    if not np.isfinite(vectors).all():
        raise ValueError(f"productShard {doc['id']}: vectors hold NaN or infinity")
    return vectors


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
    # Models trained before bought-together have no such shards: still valid (rollback), served as empty lists.
    if not isinstance(doc["shards"].get("boughtTogether", 0), int):
        raise ValueError("manifest: shards.boughtTogether must be an integer")
    for key in ("meanRowSum", "users"):
        if not isinstance(doc["weighting"].get(key), (int, float)):
            raise ValueError(f"manifest: weighting.{key} must be a number")
    for key in ("factors", "iterations", "regularization", "alpha", "bm25_k1", "bm25_b", "half_life_days"):
        if not isinstance(doc["params"].get(key), (int, float)):
            raise ValueError(f"manifest: params.{key} must be a number")
