"""Exact fold-in: the ALS user vector is the least-squares solution given the product vectors and the user's
confidences, so serving re-solves it from the model and the user's history with one k-by-k solve.

    A = YtY + sum_i (c_i - 1) y_i y_i^T + lambda_u I,    b = sum_i c_i y_i,    x = A^-1 b

with c_i = offset + alpha * w_i (shared.domain.weighting) and lambda_u = regularization, times the user's
number of interactions when the trainer scales it (Spark MLlib). The manifest's foldIn says which."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.domain.weighting import SECONDS_PER_DAY, bm25, decay


@dataclass(frozen=True)
class FoldInModel:
    vectors: np.ndarray        # products x factors, float32
    gram: np.ndarray           # Y^T Y, float64, cached per model
    idf: np.ndarray
    mean_row_sum: float
    regularization: float
    alpha: float
    k1: float
    b: float
    confidence_offset: int
    scale_regularization: bool


def decayed_counts(lines, reference_seconds: float, half_life_days: float) -> dict[int, float]:
    """Order lines as (product index, createdAt seconds) -> {product index: decayed count} (weighting step 1)."""
    counts: dict[int, float] = {}
    if not lines:
        return counts
    # One decay over all the lines (a long history has thousands), summed per product in line order.
    created = np.fromiter((when for _, when in lines), dtype=np.float64, count=len(lines))
    weights = decay((reference_seconds - created) / SECONDS_PER_DAY, half_life_days).tolist()
    for (index, _), weight in zip(lines, weights):
        counts[index] = counts.get(index, 0.0) + weight
    return counts


def solve_user(model: FoldInModel, raw: dict[int, float]) -> np.ndarray:
    """The user's vector from their decayed counts per product index; zeros when there are none."""
    if not raw:
        return np.zeros(model.vectors.shape[1], dtype=np.float32)
    indices, confidence, matrix = user_system(model, raw)
    selected = model.vectors[indices].astype(np.float64)
    return np.linalg.solve(matrix, selected.T @ confidence).astype(np.float32)


def user_system(model: FoldInModel, raw: dict[int, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The normal equations of one user: (product indices with a weight, their confidences c_i, A)."""
    factors = model.vectors.shape[1]
    indices = np.fromiter(raw.keys(), dtype=np.int64, count=len(raw))
    values = np.fromiter(raw.values(), dtype=np.float64, count=len(raw))
    weights = bm25(values, float(values.sum()), model.mean_row_sum, model.idf[indices], model.k1, model.b)
    keep = weights > 0
    indices, weights = indices[keep], weights[keep]
    confidence = model.confidence_offset + model.alpha * weights
    selected = model.vectors[indices].astype(np.float64)
    regularization = model.regularization * (len(indices) if model.scale_regularization else 1)
    matrix = model.gram + (selected.T * (confidence - 1.0)) @ selected
    matrix[np.diag_indices(factors)] += regularization
    return indices, confidence, matrix
