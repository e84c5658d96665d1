"""Top-k cosine neighbours of every product, computed in blocks so memory stays bounded for large catalogues."""
from __future__ import annotations

import numpy as np

BLOCK_ROWS = 1024
_SAMPLE_FROM = 20_000     # from this many products on, select through a sampled threshold
_SAMPLE_COLUMNS = 4000


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def top_k_similar(vectors: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(indices, scores), each len(rows) x k, best first, never the product itself: the neighbours of the
    products `rows` (default: all) among all products."""
    count = len(vectors)
    rows = np.arange(count) if rows is None else np.asarray(rows, dtype=np.int64)
    k = min(k, max(count - 1, 0))
    unit = normalize_rows(vectors.astype(np.float32, copy=False))
    indices = np.zeros((len(rows), k), dtype=np.int64)
    scores = np.zeros((len(rows), k), dtype=np.float32)
    if k == 0:
        return indices, scores
    for start in range(0, len(rows), BLOCK_ROWS):
        chosen = rows[start:start + BLOCK_ROWS]
        block = unit[chosen] @ unit.T
        block[np.arange(len(chosen)), chosen] = -np.inf
        indices[start:start + len(chosen)], scores[start:start + len(chosen)] = _block_top_k(block, k)
    return indices, scores


def _block_top_k(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    if block.shape[1] < _SAMPLE_FROM:
        return _partition_top_k(block, k)
    # A per-row threshold from a strided sample of columns keeps ~0.5% of the scores; only those are sorted.
    # Exact wherever a row keeps at least k; the other rows fall back to a full partition.
    sample = block[:, ::max(block.shape[1] // _SAMPLE_COLUMNS, 1)]
    rank = sample.shape[1] - min(sample.shape[1], k + 5)
    threshold = np.partition(sample, rank, axis=1)[:, rank]
    rows, cols = np.nonzero(block >= threshold[:, None])
    values = block[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=len(block))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    take = first[:, None] + np.arange(k)
    enough = counts >= k
    indices = np.zeros((len(block), k), dtype=np.int64)
    scores = np.zeros((len(block), k), dtype=np.float32)
    indices[enough], scores[enough] = cols[take[enough]], values[take[enough]]
    if not enough.all():
        indices[~enough], scores[~enough] = _partition_top_k(block[~enough], k)
    return indices, scores


def _partition_top_k(block: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    part = np.argpartition(block, -k, axis=1)[:, -k:]   # in place of -block: no negated copy
    part_scores = np.take_along_axis(block, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)
