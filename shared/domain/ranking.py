"""Scoring and top-k: one matrix-vector product and a partial sort."""
from __future__ import annotations

import math

import numpy as np

_BLOCKS_FROM = 4096   # below this many products a plain partition is as fast


def top_k(scores: np.ndarray, k: int, excluded: np.ndarray | None = None, overwrite: bool = False) -> np.ndarray:
    """Indices of the k best scores, best first, skipping `excluded` indices (ties: lower index first).
    `overwrite=True` lets it mark excluded scores in `scores` itself instead of a copy.

    Exact. On large catalogues it partitions only the blocks that can hold the k best (see _candidates)."""
    if excluded is not None and len(excluded):
        scores = scores if overwrite else scores.copy()
        scores[excluded] = -np.inf
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if len(scores) >= _BLOCKS_FROM:
        candidates = _candidates(scores, k)
        values = scores[candidates]
        kth = np.partition(values, len(values) - k)[len(values) - k]   # the k-th best score
        kept = candidates[values >= kth]                               # k of them, more when tied at the edge
    else:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        kept = np.flatnonzero(scores >= kth)
    best = kept[np.lexsort((kept, -scores[kept]))][:k]             # ties: lower index first
    return best[np.isfinite(scores[best])]


def _candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the groups whose maximum is at least the k-th largest group maximum.

    Exact: a group below that has k other groups whose maxima beat all of its scores, so none of its
    scores is among the k best. Group j is every index congruent to j modulo the group count, so the maxima
    are one element-wise maximum over contiguous rows (fast); about k groups remain to partition."""
    rows = max(int(math.sqrt(len(scores) / k)), 1)    # the size of a group: balances the two passes
    groups = len(scores) // rows
    maxima = np.maximum.reduce(scores[:rows * groups].reshape(rows, groups), axis=0)
    chosen = np.flatnonzero(maxima >= np.partition(maxima, groups - k)[groups - k])
    indices = (chosen + groups * np.arange(rows)[:, None]).ravel()
    if rows * groups == len(scores):
        return indices
    return np.concatenate([indices, np.arange(rows * groups, len(scores))])   # the remainder: always kept
