"""Orders placed on an event loop, written to the embedded store in batches: the orders that arrive while a
batch is being written wait, and the next batch writes all of them in one call of the store's group commit,
from one writer thread (shared.services.loop_batches). Each order is still its own create: a duplicate fails
alone, and no caller hears back before the transaction holding its order has committed."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shared.domain.ports import ORDERS, Document, Written
from shared.services.loop_batches import LoopBatches

MAX_BATCH = 256   # orders per call: a transaction of this many stays a few milliseconds

_WRITER_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="order-writes")


class OrderWrites(LoopBatches):
    """For a store with `create_each(container, docs)` (the SQLite store)."""

    batch_executor = _WRITER_THREAD
    max_batch = MAX_BATCH

    def __init__(self, store):
        super().__init__()
        self._store = store

    async def create(self, doc: Document) -> Written:
        """The order as written; raises what its create raised (ConflictError for a used id)."""
        return await self.submit(doc)

    def run_batch(self, docs: list[Document]) -> list:
        return self._store.create_each(ORDERS, docs)
