"""Fold-in is exact: the service's request-time solve equals implicit's own full re-solve of the user."""
import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from shared.domain.foldin import FoldInModel, solve_user
from shared.domain.weighting import bm25, bm25_matrix, idf


def make_model(seed=0, users=50, items=30):
    rng = np.random.default_rng(seed)
    raw = sp.random(users, items, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    raw.data = rng.uniform(0.2, 3.0, raw.nnz).astype(np.float32)
    item_idf = idf(np.diff(raw.tocsc().indptr), users)
    weights, mean = bm25_matrix(raw, item_idf, k1=100.0, b=0.8)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=6, regularization=0.3, alpha=2.0, iterations=5, random_state=1)
        model.fit(weights, show_progress=False)
    vectors = np.asarray(model.item_factors, dtype=np.float32)
    fold = FoldInModel(vectors, vectors.astype(np.float64).T @ vectors.astype(np.float64), item_idf, mean,
                       0.3, 2.0, 100.0, 0.8, 0, False)
    return model, raw, weights, fold


def test_fold_in_equals_implicits_full_re_solve():
    model, raw, weights, fold = make_model()
    for user in range(5):
        row = raw.getrow(user)
        counts = dict(zip(row.indices.tolist(), row.data.tolist()))
        ours = solve_user(fold, counts)
        theirs = np.asarray(model.recalculate_user(user, weights.getrow(user))).ravel()
        np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=2e-4)


def test_single_user_bm25_matches_the_matrix_form():
    _, raw, weights, fold = make_model(seed=4)
    row = raw.getrow(3)
    single = bm25(row.data.astype(np.float64), float(row.data.sum()), fold.mean_row_sum, fold.idf[row.indices],
                  100.0, 0.8)
    np.testing.assert_allclose(single, weights.getrow(3).data, rtol=1e-5)


def test_spark_form_scales_regularization_and_adds_one():
    _, raw, _, fold = make_model(seed=5)
    spark = FoldInModel(fold.vectors, fold.gram, fold.idf, fold.mean_row_sum, 0.3, 2.0, 100.0, 0.8, 1, True)
    counts = {1: 1.0, 4: 2.0, 7: 0.5}
    indices = np.array(list(counts))
    w = bm25(np.array(list(counts.values())), 3.5, fold.mean_row_sum, fold.idf[indices], 100.0, 0.8)
    keep = w > 0
    indices, c = indices[keep], 1 + 2.0 * w[keep]
    y = fold.vectors[indices].astype(np.float64)
    a = fold.gram + (y.T * (c - 1)) @ y + 0.3 * len(indices) * np.eye(6)
    expected = np.linalg.solve(a, y.T @ c)
    np.testing.assert_allclose(solve_user(spark, counts), expected, rtol=1e-5, atol=1e-6)


def test_no_history_gives_a_zero_vector():
    _, _, _, fold = make_model()
    assert not solve_user(fold, {}).any()
