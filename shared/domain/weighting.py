"""From order lines to ALS confidences: the one definition (the Spark job implements the same formulas).

1. Each order line adds a time-decayed unit to (user, product): 0.5 ** (age_days / half_life_days), the age
   measured back from the user's reference time: the newest createdAt of all orders, but at most
   RECENCY_LAG_HALF_LIVES half-lives after that user's own newest order (`user_reference`). So recent buyers
   count for more (the shop's seasons), yet one new order, or a store mixing years-old imports with today's
   orders, cannot decay anyone's history to nothing: a user's newest order weighs at least 2**-6. Ages are
   clamped to 0 .. MAX_AGE_HALF_LIVES half-lives, so no weight underflows float32 (or the 6 digits kept).
   Quantity is ignored: wholesale buyers order in dozens, and counting orders ranks better on the evaluation data.
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
MAX_AGE_HALF_LIVES = 20.0   # the oldest line weighs 2**-20 (about 1e-6): small, never 0
RECENCY_LAG_HALF_LIVES = 6.0   # NDCG@10 on Online Retail: 0.1086 (0 half-lives, per user only: 0.1020)


def decay(age_days, half_life_days: float):
    """Weight of an event `age_days` before its user's reference time, in [2**-MAX_AGE_HALF_LIVES, 1]."""
    half_lives = np.asarray(age_days, dtype=np.float64) / half_life_days
    return np.power(0.5, np.clip(half_lives, 0.0, MAX_AGE_HALF_LIVES))


def user_reference(newest_overall, user_newest, half_life_days: float):
    """Reference time(s) of users whose newest order is `user_newest` (any time unit, e.g. epoch seconds)."""
    lag = RECENCY_LAG_HALF_LIVES * half_life_days * SECONDS_PER_DAY
    return np.minimum(newest_overall, np.asarray(user_newest, dtype=np.float64) + lag)


def folded_reference(model_reference: float, doc_reference: float, newest_new: float, half_life_days: float) -> float:
    """A user's reference at serving, in epoch seconds: what `user_reference` gives once their orders newer than
    the model (newest `newest_new`, -inf for none) are in the store, from the model's newest createdAt and the
    user document's reference (-inf without one). An order newer than the model becomes the newest of all."""
    lag = RECENCY_LAG_HALF_LIVES * half_life_days * SECONDS_PER_DAY
    return min(max(model_reference, newest_new), max(doc_reference, newest_new + lag))


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
