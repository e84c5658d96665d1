"""A shopper's data: export everything stored about them, and delete it (docs/operations.md, "Deleting a shopper").

Stored per shopper: their orders (the `orders` partition /userId) and their vector document (`userVectors`, id and
partition = userId). Deleting removes both; both trainers read the orders container itself (not the change feed,
which has no deletes), so the next training run does not see the shopper. What stays: their share in the aggregate
product vectors, similar products and popularity of the models trained before, until the next training.

A training run that read the orders before the deletion can still write the shopper's vector afterwards. So the
deletion leaves an erasure record (`trainingRuns`, id `erasure:<userId>`), and a timer (`sweep`) deletes any vector
document of that shopper built from orders received before the erasure, for ERASURE_WATCH_SECONDS, far longer than
a run may take (the Databricks job times out after 2 hours); then the record goes too. The record is written first:
if the deletion fails half way, the shopper's retry or the timer finishes it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.domain.errors import NotFoundError
from shared.domain.ports import ORDERS, TRAINING_RUNS, USER_VECTORS, DocumentStore, Filter, Query
from shared.domain.validation import check_id, format_timestamp

ERASURE_TYPE = "erasure"
ERASURE_WATCH_SECONDS = 24 * 3600


def erasure_id(user_id: str) -> str:
    return f"erasure:{user_id}"


def _plain(doc: dict) -> dict:
    return {key: value for key, value in doc.items() if not key.startswith("_")}


class UserData:
    def __init__(self, store: DocumentStore):
        self._store = store

    def export(self, user_id: str) -> dict:
        """Every document stored about the shopper, as stored (without the store's system fields)."""
        check_id(user_id, "userId")
        orders = sorted((_plain(doc) for doc in self._store.scan(ORDERS, Query(partition_key=user_id))),
                        key=lambda doc: (doc.get("createdAt") or "", doc["id"]))
        return {"userId": user_id, "exportedAt": _now(), "orders": orders,
                "userVector": self._optional(USER_VECTORS, user_id, user_id),
                "erasure": self._optional(TRAINING_RUNS, erasure_id(user_id), erasure_id(user_id))}

    def delete(self, user_id: str) -> dict:
        """Delete the shopper's orders and vector. Idempotent: a second call finds nothing and says so."""
        check_id(user_id, "userId")
        erased_at = _now()
        self._store.upsert(TRAINING_RUNS, {"id": erasure_id(user_id), "type": ERASURE_TYPE, "userId": user_id,
                                           "erasedAt": erased_at})
        orders = self._store.delete_partition(ORDERS, user_id)
        vectors = self._delete_vector(user_id)
        return {"userId": user_id, "erasedAt": erased_at, "deleted": {"orders": orders, "userVectors": vectors}}

    def sweep(self, now: datetime | None = None) -> dict:
        """Timer: delete vectors that runs started before an erasure wrote after it; retire old erasure records."""
        now = now or datetime.now(timezone.utc)
        retire_before = format_timestamp(now - timedelta(seconds=ERASURE_WATCH_SECONDS))
        vectors = retired = 0
        for record in list(self._store.scan(TRAINING_RUNS, Query(filters=(Filter("type", "=", ERASURE_TYPE),)))):
            user_id = record["userId"]
            vector = self._optional(USER_VECTORS, user_id, user_id)
            # Fixed-width UTC timestamps: string order is time order.
            if vector is not None and (vector.get("receivedThrough") or "") < record["erasedAt"]:
                vectors += self._delete_vector(user_id)
            if record["erasedAt"] < retire_before:
                try:
                    self._store.delete(TRAINING_RUNS, record["id"], record["id"])
                    retired += 1
                except NotFoundError:
                    pass
        return {"vectorsDeleted": vectors, "erasuresRetired": retired}

    def _delete_vector(self, user_id: str) -> int:
        try:
            self._store.delete(USER_VECTORS, user_id, user_id)
            return 1
        except NotFoundError:
            return 0

    def _optional(self, container: str, doc_id: str, partition_key: str) -> dict | None:
        try:
            return _plain(self._store.read(container, doc_id, partition_key))
        except NotFoundError:
            return None


def _now() -> str:
    return format_timestamp(datetime.now(timezone.utc))
