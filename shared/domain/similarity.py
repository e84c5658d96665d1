"""Top-k cosine neighbours of every product, computed in blocks so memory stays bounded for large catalogues."""
from __future__ import annotations

import numpy as np

BLOCK_ROWS = 1024


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def top_k_similar(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores), each products x k, best first, never the product itself."""
    count = len(vectors)
    k = min(k, max(count - 1, 0))
    unit = normalize_rows(vectors.astype(np.float32, copy=False))
    indices = np.zeros((count, k), dtype=np.int64)
    scores = np.zeros((count, k), dtype=np.float32)
    if k == 0:
        return indices, scores
    for start in range(0, count, BLOCK_ROWS):
        end = min(start + BLOCK_ROWS, count)
        block = unit[start:end] @ unit.T
        block[np.arange(end - start), np.arange(start, end)] = -np.inf
        part = np.argpartition(block, -k, axis=1)[:, -k:]   # in place of -block: no negated copy
        part_scores = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        indices[start:end] = np.take_along_axis(part, order, axis=1)
        scores[start:end] = np.take_along_axis(part_scores, order, axis=1)
    return indices, scores
