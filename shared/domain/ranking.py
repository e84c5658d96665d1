"""Scoring and top-k: one matrix-vector product and a partial sort."""
from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, excluded: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best scores, best first, skipping `excluded` indices (ties: lower index first)."""
    scores = scores.astype(np.float32, copy=True)
    if excluded is not None and len(excluded):
        scores[excluded] = -np.inf
    available = int(np.isfinite(scores).sum())
    k = min(k, available)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if k < len(scores):
        candidates = np.argpartition(-scores, k - 1)[:k]
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order]
