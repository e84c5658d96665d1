"""From order lines to ALS confidences: the one definition (the Spark job implements the same formulas).

1. Each order line adds a time-decayed unit to (user, product): 0.5 ** (age_days / half_life_days), where the
   age is measured back from the model's reference time (the newest order's createdAt). Quantity is ignored:
   wholesale buyers order in dozens, and counting orders ranks better on the evaluation data.
2. BM25 turns the decayed counts r into weights:
       idf_i = log(N) - log(1 + df_i)            (N users, df_i users who bought i; clipped at >= 0)
       len_u = (1 - b) + b * rowsum_u / mean(rowsum)
       w_ui  = r_ui * (k1 + 1) / (k1 * len_u + r_ui) * idf_i
3. The confidence given to the solver is c_ui = offset + alpha * w_ui, with offset 0 for `implicit` and 1 for
   Spark MLlib; the manifest records which (foldIn.confidenceOffset), so serving solves exactly as training did.
"""
from __future__ import annotations

import math

import numpy as np

SECONDS_PER_DAY = 86400.0


def decay(age_days, half_life_days: float):
    """Weight of an event `age_days` before the reference time (negative ages: after it, weight > 1)."""
    return np.power(0.5, np.asarray(age_days, dtype=np.float64) / half_life_days)


def idf(document_frequency: np.ndarray, users: int) -> np.ndarray:
    values = math.log(max(users, 1)) - np.log1p(document_frequency.astype(np.float64))
    # Bought by (nearly) everyone: exactly 0, not a rounding residue that one side counts and the other not.
    return np.where(values < 1e-9, 0.0, values)


def bm25(raw: np.ndarray, row_sum: float, mean_row_sum: float, item_idf: np.ndarray, k1: float, b: float):
    """BM25 weights of one user's decayed counts `raw` (aligned with `item_idf`)."""
    length = (1.0 - b) + b * row_sum / mean_row_sum if mean_row_sum > 0 else 1.0
    return raw * (k1 + 1.0) / (k1 * length + raw) * item_idf


def bm25_matrix(raw_csr, item_idf: np.ndarray, k1: float, b: float):
    """BM25 over a whole user x product CSR matrix of decayed counts; returns a new CSR matrix (float32)."""
    matrix = raw_csr.tocsr().astype(np.float64, copy=True)
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    mean = row_sums.mean() if row_sums.size else 0.0
    lengths = (1.0 - b) + b * row_sums / mean if mean > 0 else np.ones_like(row_sums)
    per_entry_length = np.repeat(lengths, np.diff(matrix.indptr))
    data = matrix.data
    matrix.data = data * (k1 + 1.0) / (k1 * per_entry_length + data) * item_idf[matrix.indices]
    matrix.eliminate_zeros()  # an idf of 0 (bought by everyone) carries no preference
    return matrix.astype(np.float32), float(mean)
