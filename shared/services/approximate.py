"""Scoring a large catalogue without reading every product vector on each request.

Exact scoring reads all product vectors per request: at a million products x 64 factors that is 256 MB, a
memory-bandwidth cost of tens of milliseconds. Here a faiss index of 4-bit product-quantized codes (PQ with
fast scan: half a byte per factor, 32 MB for a million products at 64 factors) finds a few thousand candidates with the highest
approximate scores, and those candidates are then scored exactly with the model's own float32 vectors, so every
score served is exact; only which products are looked at is approximate (recall at 10 against exact scoring is
measured by `python -m bench serving` and checked in tests/unit/test_approximate.py).

The index is built from the served vectors when a model is loaded (1.6 s for a million products on one core here):
no new model documents, and both trainers stay as they are. It is used only from `APPROXIMATE_INDEX_PRODUCTS`
products up (shared.config); below that exact scoring is fast enough.

Exclusions stay exact: the candidates asked for grow with the number of products the request excludes (the
shopper's purchases, out of stock, other categories), and the excluded ones are dropped after. A request that
excludes much of the catalogue (a category filter) is scored exactly over the products it allows instead."""
from __future__ import annotations

import math

import numpy as np

from shared.services.scoring import BatchedScoring, Scored

CANDIDATES = 1000        # per request before exclusions: recall@10 1.0 on a million random vectors
PER_OWN_EXCLUSION = 3    # more per product of the shopper's own: with their 1,500 best excluded, recall@10 0.99
EXACT_OVER_ALLOWED_FROM = 0.10   # excluding more than this share of the catalogue: exact over what remains
_TRAINING_SAMPLE = 16_384    # vectors the quantizer is trained on (16 centroids per factor need few)
_ENCODE_SLICE = 65_536


class ApproximateScorer(BatchedScoring):
    def __init__(self, vectors: np.ndarray, candidates: int = CANDIDATES):
        """`vectors`: products x factors. Kept as given (no copy): candidates' rows are gathered from it."""
        super().__init__()
        self.vectors = vectors if vectors.flags.c_contiguous else np.ascontiguousarray(vectors)
        self.vectors_t = self.vectors.T   # a view: the rare exact fallbacks score through it
        self.candidates = candidates
        self._index = _build_index(self.vectors)

    def score_rows(self, requests: list[tuple[np.ndarray, np.ndarray | None, int]]) -> list[Scored]:
        products = self.vectors.shape[0]
        wanted, searched = {}, []
        for i, (_, excluded, own) in enumerate(requests):
            spread = 0 if excluded is None else len(excluded) - own
            if own + spread <= EXACT_OVER_ALLOWED_FROM * products:
                # the catalogue-wide exclusions take their share of the candidates, the shopper's own three each
                wanted[i] = min(products, math.ceil((self.candidates + PER_OWN_EXCLUSION * own)
                                                    / (1 - spread / products)))
                searched.append(i)
        results: list[Scored | None] = [None] * len(requests)
        if searched:   # one search for the batch: the codes are read once for all its queries
            queries = np.ascontiguousarray(np.stack([requests[i][0] for i in searched]), dtype=np.float32)
            _, found = self._index.search(queries, max(wanted.values()))
            for row, i in enumerate(searched):
                rows = found[row, :wanted[i]]
                rows = rows[rows >= 0]
                results[i] = Scored(self.vectors[rows] @ requests[i][0], rows, approximate=True)
        return [result if result is not None else self._exact_over_allowed(*requests[i][:2])
                for i, result in enumerate(results)]

    def _exact_over_allowed(self, vector: np.ndarray, excluded: np.ndarray) -> Scored:
        allowed = np.ones(self.vectors.shape[0], dtype=bool)
        allowed[excluded] = False
        rows = np.flatnonzero(allowed)
        return Scored(self.vectors[rows] @ vector, rows)


def _build_index(vectors: np.ndarray):
    """4-bit product quantization with one factor per sub-quantizer (16 levels per factor; with two factors
    per sub-quantizer recall at 10 fell to 0.87 when a shopper's 300 best products were excluded), searched
    by faiss's fast-scan kernels."""
    import faiss   # imported only by a process serving a catalogue this large

    # One thread: batches are searched in the one scoring thread, a local host process keeps to one CPU
    # (devhost/processes.py), and without an OpenMP thread pool there is none to race with the other OpenMP
    # runtimes in the process (implicit's, OpenBLAS) when it exits.
    faiss.omp_set_num_threads(1)
    products, factors = vectors.shape
    quantizer = faiss.IndexPQ(factors, factors, 4, faiss.METRIC_INNER_PRODUCT)
    sample = np.sort(np.random.default_rng(0).choice(products, min(products, _TRAINING_SAMPLE), replace=False))
    quantizer.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    levels = faiss.vector_to_array(quantizer.pq.centroids).reshape(factors, 16)
    for start in range(0, products, _ENCODE_SLICE):   # a slice at a time: no second copy of every vector
        quantizer.add_sa_codes(pq_codes(np.ascontiguousarray(vectors[start:start + _ENCODE_SLICE].T), levels))
    return faiss.IndexPQFastScan(quantizer)


def pq_codes(vectors_t: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """faiss's PQ codes (two 4-bit codes a byte, the first sub-quantizer in the low bits) for one-factor
    sub-quantizers: the nearest of 16 levels is a sorted search per factor. faiss's generic encoder
    computes all 16 distances per factor: 7 s for a million products, against 0.6 s here; a test checks that
    both give the same codes."""
    factors, products = vectors_t.shape
    codes = np.zeros((products, factors + factors % 2), dtype=np.uint8)
    rank = np.empty(products, dtype=np.uint8)
    for factor in range(factors):
        order = np.argsort(levels[factor]).astype(np.uint8)
        ranked = levels[factor][order]
        rank[:] = 0
        for middle in (ranked[1:] + ranked[:-1]) / 2:   # 15 comparisons beat a binary search 4x in numpy
            rank += vectors_t[factor] > middle
        codes[:, factor] = order[rank]
    return np.ascontiguousarray(codes[:, 0::2] | (codes[:, 1::2] << 4))
