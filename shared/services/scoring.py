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
from dataclasses import dataclass

import numpy as np

MAX_BATCH = 64
# Below this many rows OpenBLAS's matrix product is slower than one vector product per row.
MIN_MATRIX_BATCH = 4

_SCORING_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")


@dataclass(frozen=True)
class Scored:
    """One request's scores: for every product in order (`rows` None), or for the products `rows` names.
    `approximate`: the rows are an approximate index's candidates, so a ranking that runs out of them may
    have missed products (shared.services.approximate)."""
    values: np.ndarray
    rows: np.ndarray | None = None
    approximate: bool = False


class BatchedScoring:
    """What every scorer shares: one request at a time (`score`), or batched on an event loop
    (`score_async`). A scorer says how a batch is scored (`score_rows`) and how one vector scores every
    product (`exact`); `vectors_t` is factors x products (perhaps a view)."""

    vectors_t: np.ndarray

    def __init__(self):
        self._waiting: list[tuple[tuple, asyncio.Future]] = []
        self._async_batches: asyncio.Task | None = None

    def exact(self, vector: np.ndarray) -> Scored:
        return Scored(vector @ self.vectors_t)

    def score(self, vector: np.ndarray, excluded: np.ndarray | None = None, own: int = 0) -> Scored:
        """`excluded`: product indices the caller will drop, which a scorer may use to choose its candidates;
        the first `own` of them are the shopper's own (purchases, the request's exclude list), which may be
        their best-scored products; the rest (out of stock, other categories) are spread over the catalogue."""
        return self.score_rows([(vector, excluded, own)])[0]

    def score_rows(self, requests: list[tuple[np.ndarray, np.ndarray | None, int]]) -> list[Scored]:
        raise NotImplementedError

    async def score_async(self, vector: np.ndarray, excluded: np.ndarray | None = None, own: int = 0) -> Scored:
        """`score`, joining this loop's next batch."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(((vector, excluded, own), future))
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


class BatchScorer(BatchedScoring):
    """Exact: every product scored."""

    def __init__(self, vectors_t: np.ndarray):
        super().__init__()
        # factors x products, C-contiguous: (batch x factors) @ this gives one row of scores per request,
        # and BLAS runs it about twice as fast as products x factors @ vector.
        self.vectors_t = np.ascontiguousarray(vectors_t)

    def score_rows(self, requests: list[tuple[np.ndarray, np.ndarray | None, int]]) -> list[Scored]:
        if len(requests) < MIN_MATRIX_BATCH:
            return [Scored(request[0] @ self.vectors_t) for request in requests]
        # BLAS releases the GIL while it runs
        return [Scored(row) for row in np.stack([request[0] for request in requests]) @ self.vectors_t]
