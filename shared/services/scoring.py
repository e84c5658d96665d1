"""Scoring many requests at once: requests that ask for scores while a batch is being scored wait, and the
next pass scores all of them with one matrix product, reading the product vectors once for the whole batch
instead of once per request. No request ever waits for a batch to fill: a lone request is scored at once, so
this only changes anything under concurrent load.

Batching is for requests served on an event loop (`score_async`): batches are scored in one scoring thread,
off the loop, with no thread hand-off per request, which costs more than the scoring of a batch row on a
small VM. `score` is the plain product, for callers outside a loop (evaluation, the command line)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_BATCH = 64
# Below this many rows OpenBLAS's matrix product is slower than one vector product per row.
MIN_MATRIX_BATCH = 4

_SCORING_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")


class BatchScorer:
    def __init__(self, vectors_t: np.ndarray):
        # factors x products, C-contiguous: (batch x factors) @ this gives one row of scores per request,
        # and BLAS runs it about twice as fast as products x factors @ vector.
        self.vectors_t = np.ascontiguousarray(vectors_t)
        self._waiting: list[tuple[np.ndarray, asyncio.Future]] = []
        self._async_batches: asyncio.Task | None = None

    def score(self, vector: np.ndarray) -> np.ndarray:
        return vector @ self.vectors_t

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
