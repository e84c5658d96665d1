"""Scoring many requests at once: threads that ask for scores while another thread is scoring wait, and
the next pass scores all of them with one matrix product, reading the product vectors once for the whole
batch instead of once per request. No request ever waits for a batch to fill: a lone request is scored at
once, so this only changes anything under concurrent load."""
from __future__ import annotations

import threading

import numpy as np

MAX_BATCH = 64


class _Pending:
    __slots__ = ("vector", "scores", "error", "done")

    def __init__(self, vector: np.ndarray):
        self.vector = vector
        self.scores: np.ndarray | None = None
        self.error: BaseException | None = None
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
            if self._scoring:
                leader = False
            else:
                self._scoring = leader = True
        if not leader:
            pending.done.wait()
        else:
            self._drain()
        if pending.error is not None:
            raise pending.error
        return pending.scores

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                if not batch:
                    self._scoring = False
                    return
            try:
                if len(batch) == 1:   # a vector-matrix product (gemv) beats a one-row matrix product
                    batch[0].scores = batch[0].vector @ self.vectors_t
                else:                 # BLAS releases the GIL while it runs
                    scores = np.stack([item.vector for item in batch]) @ self.vectors_t
                    for row, item in enumerate(batch):
                        item.scores = scores[row]
            except BaseException as error:  # noqa: BLE001 - hand the failure to every waiting request
                for item in batch:
                    item.error = error
            for item in batch:
                item.done.set()
