"""Ranking on data with a known answer, through training and the recommendation service."""
import numpy as np

from shared import bootstrap
from shared.domain.ranking import top_k
from tests.builders import order_body, trained


def test_top_k_orders_by_score_and_skips_excluded():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.7], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 4]
    assert top_k(scores, 3, np.array([1])).tolist() == [3, 4, 2]
    assert top_k(scores, 10, np.array([0, 1, 2, 3, 4])).tolist() == []
    assert top_k(scores, 10).tolist() == [1, 3, 4, 2, 0]


def test_checkerboard_held_out_item_ranks_first(wired):
    """Even users buy every even product, odd users every odd one; user u00 misses product p06 only.
    With bought products excluded, p06 must come first."""
    bodies = []
    for user in range(24):
        for product in range(user % 2, 16, 2):
            if (user, product) == (0, 6):
                continue
            bodies.append(order_body(f"u{user:02d}", [f"p{product:02d}"], day=product))
    trained(wired, bootstrap.model_registry(), bodies)
    result = bootstrap.recommendation_service().for_user("u00", k=3)
    assert result["strategy"] == "personalized"
    assert result["items"][0]["productId"] == "p06"


def test_top_k_equals_a_full_sort_on_large_random_catalogues_with_ties_and_exclusions():
    rng = np.random.default_rng(0)
    for trial in range(150):
        n = int(rng.integers(1, 60_000))
        scores = rng.normal(size=n).astype(np.float32)
        if trial % 3 == 0:
            scores = np.round(scores, 1)   # many ties
        excluded = rng.choice(n, size=int(rng.integers(0, n)), replace=False) if trial % 2 else None
        k = int(rng.integers(1, 120))
        masked = scores.copy()
        if excluded is not None:
            masked[excluded] = -np.inf
        expected = np.lexsort((np.arange(n), -masked))[:k]
        expected = expected[np.isfinite(masked[expected])]
        assert top_k(scores, k, excluded).tolist() == expected.tolist()
