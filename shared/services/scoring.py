"""Scoring many requests at once: requests served on an event loop (`score_async`) that ask for scores while
a batch is being scored wait, and the next pass scores all of them with one matrix product in one scoring
thread (shared.services.loop_batches), reading the product vectors once for the whole batch instead of once
per request. Even for a catalogue of a few thousand products that beats scoring each request on the loop:
measured over HTTP on Online Retail's 3,658 products, 0.72-0.93 ms of server CPU per request unbatched
against 0.54-0.82 ms batched (2026-12-01). `score` is the plain product, for callers outside a loop
(evaluation, the command line)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from shared.services.loop_batches import LoopBatches

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


class BatchedScoring(LoopBatches):
    """What every scorer shares: one request at a time (`score`), or batched on an event loop
    (`score_async`). A scorer says how a batch is scored (`score_rows`) and how one vector scores every
    product (`exact`); `vectors_t` is factors x products (perhaps a view)."""

    vectors_t: np.ndarray
    batch_executor = _SCORING_THREAD
    max_batch = MAX_BATCH

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
        """`score`, joining this loop's next batch (shared.services.loop_batches)."""
        return await self.submit((vector, excluded, own))

    def run_batch(self, requests: list[tuple[np.ndarray, np.ndarray | None, int]]) -> list[Scored]:
        return self.score_rows(requests)


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
