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
    def __init__(self, vectors: np.ndarray):
        self._vectors_t = vectors.T          # factors x products view; (batch x factors) @ this -> rows
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
                scores = np.stack([item.vector for item in batch]) @ self._vectors_t   # BLAS releases the GIL
                for row, item in enumerate(batch):
                    item.scores = scores[row]
            except BaseException as error:  # noqa: BLE001 - hand the failure to every waiting request
                for item in batch:
                    item.error = error
            for item in batch:
                item.done.set()
