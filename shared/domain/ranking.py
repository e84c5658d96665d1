"""Scoring and top-k: one matrix-vector product and a partial sort."""
from __future__ import annotations

import numpy as np

_SAMPLE_FROM = 20_000   # below this many products a plain argpartition is as fast


def top_k(scores: np.ndarray, k: int, excluded: np.ndarray | None = None, overwrite: bool = False) -> np.ndarray:
    """Indices of the k best scores, best first, skipping `excluded` indices (ties: lower index first).
    `overwrite=True` lets it mark excluded scores in `scores` itself instead of a copy.

    Exact. On large catalogues it first finds a threshold on a strided sample, keeps the scores at or above
    it (usually a few thousand), and partitions only those; if that leaves fewer than k it partitions all."""
    if excluded is not None and len(excluded):
        scores = scores if overwrite else scores.copy()
        scores[excluded] = -np.inf
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    candidates = _above_sampled_threshold(scores, k) if len(scores) >= _SAMPLE_FROM else None
    if candidates is None:
        candidates = np.arange(len(scores))
    values = scores[candidates]
    kth = np.partition(values, len(values) - k)[len(values) - k]   # the k-th best score
    above = candidates[values > kth]
    tied = candidates[values == kth][:k - len(above)]              # ties at the edge: lower index first
    best = np.concatenate([above, tied])
    best = best[np.lexsort((best, -scores[best]))]
    return best[np.isfinite(scores[best])]


def _above_sampled_threshold(scores: np.ndarray, k: int) -> np.ndarray | None:
    step = max(len(scores) // 2000, 1)
    sample = scores[::step]
    rank = min(len(sample), 2 * k)
    threshold = np.partition(sample, len(sample) - rank)[len(sample) - rank]
    if not np.isfinite(threshold):
        return None
    candidates = np.flatnonzero(scores >= threshold)
    return candidates if len(candidates) >= k else None
