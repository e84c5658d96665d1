"""The running count of orders received after the active model's data cutoff, kept by the change feed.

Counting the orders container instead is a cross-partition query whose cost grows with every order ever
stored; here each change feed batch adds its orders to one small document in `trainingRuns`, and the retrain
decision reads that one document. The document holds a set, not a number: an order delivered twice (the feed
is at least once) is one entry. It keeps only the newest `cap` entries after the cutoff, because the retrain
policy only asks whether `min_new_orders` were reached: the count is exact below `cap` and `cap` above it."""
from __future__ import annotations

import hashlib
from typing import Iterable

from shared.domain import errors
from shared.domain.ports import ETAG, TRAINING_RUNS, DocumentStore

COUNTER_ID = "new-orders"
_RETRIES = 5


class NewOrderCounter:
    def __init__(self, store: DocumentStore, cap: int):
        self._store = store
        self._cap = max(1, cap)

    def count(self, cutoff: str) -> int:
        """Orders received after `cutoff` (an ISO timestamp; '' before the first model), at most `cap`."""
        doc = self._read()
        return sum(1 for received in (doc or {}).get("entries", {}).values() if received > cutoff)

    def add(self, orders: Iterable[dict], cutoff: str) -> int:
        """Count the orders of one change feed batch; returns the count after it. Idempotent."""
        fresh = {_key(order): order["receivedAt"] for order in orders
                 if isinstance(order.get("receivedAt"), str) and order["receivedAt"] > cutoff}
        for _ in range(_RETRIES):
            doc = self._read()
            entries = (doc or {}).get("entries", {})
            merged = _newest({**entries, **fresh}, cutoff, self._cap)
            if merged == entries:
                return len(merged)
            body = {"id": COUNTER_ID, "type": "newOrdersCounter", "entries": merged}
            try:
                if doc is None:
                    self._store.create(TRAINING_RUNS, body)
                else:
                    self._store.replace(TRAINING_RUNS, body, if_match=doc[ETAG])
                return len(merged)
            except (errors.ConflictError, errors.PreconditionFailedError):
                continue  # another instance counted its batch at the same moment: merge again
        raise errors.UnavailableError("the new-orders counter stayed contended; the batch will be redelivered")

    def _read(self) -> dict | None:
        try:
            return self._store.read(TRAINING_RUNS, COUNTER_ID, COUNTER_ID)
        except errors.NotFoundError:
            return None


def _key(order: dict) -> str:
    """A short stable key per order (ids are unique per user): keeps the document small at any id length."""
    return hashlib.blake2b(f"{order['userId']}\x00{order['id']}".encode(), digest_size=8).hexdigest()


def _newest(entries: dict[str, str], cutoff: str, cap: int) -> dict[str, str]:
    kept = sorted(((received, key) for key, received in entries.items() if received > cutoff), reverse=True)[:cap]
    return {key: received for received, key in sorted(kept)}
