"""Scoring many requests at once: threads that ask for scores while another thread is scoring wait, and
the next pass scores all of them with one matrix product, reading the product vectors once for the whole
batch instead of once per request. No request ever waits for a batch to fill: a lone request is scored at
once, so this only changes anything under concurrent load."""
from __future__ import annotations

import threading

import numpy as np

MAX_BATCH = 64
# Below this many rows OpenBLAS's matrix product is slower than one vector product per row.
MIN_MATRIX_BATCH = 4


class _Pending:
    __slots__ = ("vector", "scores", "error", "lead", "done")

    def __init__(self, vector: np.ndarray):
        self.vector = vector
        self.scores: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lead = False   # set when this waiter is to score the next batch
        self.done = threading.Event()


class BatchScorer:
    def __init__(self, vectors_t: np.ndarray):
        # factors x products, C-contiguous: (batch x factors) @ this gives one row of scores per request,
        # and BLAS runs it about twice as fast as products x factors @ vector.
        self.vectors_t = np.ascontiguousarray(vectors_t)
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._scoring = False

    def score(self, vector: np.ndarray) -> np.ndarray:
        pending = _Pending(vector)
        with self._lock:
            self._queue.append(pending)
            pending.lead = not self._scoring
            self._scoring = True
        if not pending.lead:
            pending.done.wait()
        if pending.lead:
            self._score_next_batch()
        if pending.error is not None:
            raise pending.error
        return pending.scores

    def _score_next_batch(self) -> None:
        """Score the waiting requests (this thread's own among them), then hand the lead to the oldest
        request that arrived meanwhile, so that no thread keeps scoring other requests while its own waits."""
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            if len(batch) < MIN_MATRIX_BATCH:
                for item in batch:
                    item.scores = item.vector @ self.vectors_t
            else:   # BLAS releases the GIL while it runs
                scores = np.stack([item.vector for item in batch]) @ self.vectors_t
                for row, item in enumerate(batch):
                    item.scores = scores[row]
        except BaseException as error:  # noqa: BLE001 - hand the failure to every request of the batch
            for item in batch:
                item.error = error
        with self._lock:
            if self._queue:
                self._queue[0].lead = True
                self._queue[0].done.set()
            else:
                self._scoring = False
        for item in batch:
            item.lead = False
            item.done.set()
