"""The running count of orders received after the active model's data cutoff, kept by the change feed.

Counting the orders container instead is a cross-partition query whose cost grows with every order ever
stored; here each change feed batch adds its orders to one small document in `trainingRuns`, and the retrain
decision reads that one document. The document holds a set, not a number: an order delivered twice (the feed
is at least once) is one entry. It keeps only the newest `cap` entries after the cutoff, because the retrain
policy only asks whether `min_new_orders` were reached: the count is exact below `cap` and `cap` above it
(with retraining on the count off, `min_new_orders` 0, the cap is 1: the schedule only asks whether any came).

Under a steady stream of orders the feed calls `add` several times a second, so the instance keeps the
document as it last wrote it and replaces that version directly (etag-guarded: when another instance wrote
in between, the replace fails and the document is read again), instead of reading it back every batch.
Reading and rewriting a large counter held the GIL of the process that also answers orders."""
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
        self._last: dict | None = None   # the document as this instance last wrote it (a guess, checked by etag)

    def count(self, cutoff: str) -> int:
        """Orders received after `cutoff` (an ISO timestamp; '' before the first model), at most `cap`."""
        doc = self._read()
        return sum(1 for received in (doc or {}).get("entries", {}).values() if received > cutoff)

    def add(self, orders: Iterable[dict], cutoff: str) -> int:
        """Count the orders of one change feed batch; returns the count after it. Idempotent."""
        fresh = {_key(order): order["receivedAt"] for order in orders
                 if isinstance(order.get("receivedAt"), str) and order["receivedAt"] > cutoff}
        for attempt in range(_RETRIES):
            remembered = attempt == 0 and self._last is not None
            doc = self._last if remembered else self._read()
            entries = (doc or {}).get("entries", {})
            merged = _newest({**entries, **fresh}, cutoff, self._cap)
            if merged == entries:
                if remembered:
                    continue   # nothing new (a redelivery): read the count others may have raised since
                return len(merged)
            body = {"id": COUNTER_ID, "type": "newOrdersCounter", "entries": merged}
            try:
                if doc is None:
                    written = self._store.create(TRAINING_RUNS, body)
                else:
                    written = self._store.replace(TRAINING_RUNS, body, if_match=doc[ETAG])
            except (errors.ConflictError, errors.PreconditionFailedError, errors.NotFoundError):
                self._last = None
                continue  # another instance counted its batch at the same moment (or it expired): merge again
            self._last = written.document
            return len(merged)
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
    kept = {key: received for key, received in entries.items() if received > cutoff}
    if len(kept) <= cap:   # the common case: no need to sort a large counter
        return kept
    newest = sorted(((received, key) for key, received in kept.items()), reverse=True)[:cap]
    return {key: received for received, key in sorted(newest)}
