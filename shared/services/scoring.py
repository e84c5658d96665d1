"""Scoring many requests at once: requests that ask for scores while a batch is being scored wait, and the
next pass scores all of them with one matrix product, reading the product vectors once for the whole batch
instead of once per request. No request ever waits for a batch to fill: a lone request is scored at once, so
this only changes anything under concurrent load.

Two doors to the same batching: `score` for threads (the scoring thread leads, the others wait), and
`score_async` for requests served on an event loop (batches are scored in one scoring thread, off the loop;
no thread hand-off per request, which costs more than the scoring of a batch row on a small VM)."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

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


_SCORING_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")


class BatchScorer:
    def __init__(self, vectors_t: np.ndarray):
        # factors x products, C-contiguous: (batch x factors) @ this gives one row of scores per request,
        # and BLAS runs it about twice as fast as products x factors @ vector.
        self.vectors_t = np.ascontiguousarray(vectors_t)
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._scoring = False
        self._waiting: list[tuple[np.ndarray, asyncio.Future]] = []
        self._async_batches: asyncio.Task | None = None

    def score_rows(self, vectors: list[np.ndarray]) -> list[np.ndarray]:
        if len(vectors) < MIN_MATRIX_BATCH:
            return [vector @ self.vectors_t for vector in vectors]
        return list(np.stack(vectors) @ self.vectors_t)   # BLAS releases the GIL while it runs

    async def score_async(self, vector: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((vector, future))
        if self._async_batches is None or self._async_batches.done():
            self._async_batches = asyncio.get_running_loop().create_task(self._score_waiting())
        return await future

    async def _score_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                rows = await loop.run_in_executor(_SCORING_THREAD, self.score_rows, [item[0] for item in batch])
            except Exception as error:  # noqa: BLE001 - hand the failure to every request of the batch
                rows = [error] * len(batch)
            for (_, future), row in zip(batch, rows):
                if future.done():      # its request was cancelled
                    continue
                if isinstance(row, Exception):
                    future.set_exception(row)
                else:
                    future.set_result(row)

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
            for item, scores in zip(batch, self.score_rows([item.vector for item in batch])):
                item.scores = scores
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
