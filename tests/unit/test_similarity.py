import numpy as np

from shared.domain.similarity import top_k_similar


def test_top_k_similar_matches_brute_force_cosine():
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(2500, 8)).astype(np.float32)   # more than one block of rows
    indices, scores = top_k_similar(vectors, 5)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    full = unit @ unit.T
    np.fill_diagonal(full, -np.inf)
    expected = np.argsort(-full, axis=1, kind="stable")[:, :5]
    np.testing.assert_allclose(scores, np.take_along_axis(full, expected, axis=1), rtol=1e-5, atol=1e-6)
    assert (indices != np.arange(2500)[:, None]).all()


def test_tiny_catalogues():
    assert top_k_similar(np.ones((1, 3), dtype=np.float32), 5)[0].shape == (1, 0)
    indices, _ = top_k_similar(np.eye(3, dtype=np.float32), 5)
    assert indices.shape == (3, 2)


def test_large_catalogues_take_the_sampled_path_and_stay_exact():
    rng = np.random.default_rng(4)
    vectors = rng.normal(size=(21_000, 6)).astype(np.float32)
    indices, scores = top_k_similar(vectors, 10)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for row in list(range(40)) + [20_999]:
        full = unit[row] @ unit.T
        full[row] = -np.inf
        expected = np.lexsort((np.arange(len(full)), -full))[:10]
        np.testing.assert_allclose(scores[row], full[expected], rtol=1e-5, atol=1e-6)
