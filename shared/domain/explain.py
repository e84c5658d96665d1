"""Why a product is recommended: the exact share of each product of the shopper's history in its ALS score.

The fold-in solution is x = A^-1 b with b = sum_j c_j y_j (shared.domain.foldin), so the score of a product i
splits exactly into one term per history product j:

    y_i . x  =  sum_j  c_j * (y_j . A^-1 y_i)

The terms add up to the score; the largest ones are the history products that "caused" the recommendation
(the same decomposition implicit's `explain` uses)."""
from __future__ import annotations

import numpy as np

from shared.domain.foldin import FoldInModel, user_system


def history_contributions(model: FoldInModel, raw: dict[int, float], items: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(history product indices, matrix history x items of contributions); the columns sum to each item's
    ALS score for the vector solved from `raw`."""
    if not raw or not items:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(items)))
    indices, confidence, matrix = user_system(model, raw)
    targets = model.vectors[np.asarray(items, dtype=np.int64)].astype(np.float64)      # items x factors
    solved = np.linalg.solve(matrix, targets.T)                                           # factors x items
    history = model.vectors[indices].astype(np.float64)                                   # history x factors
    return indices, (history @ solved) * confidence[:, None]


def top_contributors(indices: np.ndarray, contributions: np.ndarray, column: int, count: int = 2) -> list[int]:
    """The history products (indices) that add most to one item's score; only positive contributions."""
    if not len(indices):
        return []
    values = contributions[:, column]
    order = np.argsort(-values, kind="stable")[:count]
    return [int(indices[row]) for row in order if values[row] > 0]
