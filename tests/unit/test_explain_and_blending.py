"""Explanations are exact shares of the ALS score; the blend and the category cap."""
import numpy as np
import pytest

from shared.domain import blending, explain
from shared.domain import trending as domain
from shared.domain.errors import ValidationError
from shared.domain.foldin import solve_user
from tests.unit.test_foldin import make_model


def test_history_contributions_add_up_to_the_fold_in_score_exactly():
    _, raw, _, fold = make_model(seed=4)
    for user in range(5):
        row = raw.getrow(user)
        counts = dict(zip(row.indices.tolist(), row.data.tolist()))
        vector = solve_user(fold, counts).astype(np.float64)
        items = list(range(fold.vectors.shape[0]))
        indices, contributions = explain.history_contributions(fold, counts, items)
        assert set(indices.tolist()) <= set(counts)
        expected = fold.vectors.astype(np.float64) @ vector
        np.testing.assert_allclose(contributions.sum(axis=0), expected, rtol=1e-4, atol=1e-6)
        best = int(np.argmax(contributions[:, 3]))
        assert explain.top_contributors(indices, contributions, 3, count=1) == (
            [int(indices[best])] if contributions[best, 3] > 0 else [])


def test_blend_scales_als_by_the_best_candidate_and_keeps_exclusions():
    scores = np.array([2.0, 4.0, -np.inf, 1.0])
    final, scale = blending.blend(scores, np.array([0.0, 0.0, 1.0, 1.0]), 1.5)
    assert scale == 4.0 and final[2] == -np.inf
    np.testing.assert_allclose(final[[0, 1, 3]], [0.5, 1.0, 0.25 + 1.5])
    assert blending.blend(np.array([-1.0, -2.0]), None, 1.0)[1] == 1.0   # no positive score: no flip


def test_category_cap_reads_deeper_and_leaves_uncategorized_alone():
    scores = np.arange(100, dtype=np.float64)[::-1].copy()          # index 0 best
    category = lambda index: None if index % 10 == 9 else ("a" if index < 50 else "b")  # noqa: E731
    best = blending.best_capped(scores, 5, category, 2).tolist()
    assert best == [0, 1, 9, 19, 29]          # two of "a", then uncategorized ones
    assert blending.best_capped(scores, 6, lambda i: "a" if i < 95 else "b", 1).tolist() == [0, 95]
    assert blending.best_capped(scores, 3, category, None).tolist() == [0, 1, 2]


def test_merge_buyers_is_idempotent_and_saturates():
    merged = domain.merge_buyers({}, {"p": {"a", "b"}})
    assert merged == {"p": ["a", "b"]} and domain.merge_buyers(merged, {"p": {"b"}}) is None
    full = {"p": [f"{n:06d}" for n in range(domain.MAX_BUYERS_PER_PRODUCT)]}
    assert domain.merge_buyers(full, {"p": {"new"}}) is None


@pytest.mark.parametrize("bad", [{"trending_weight": -1}, {"trending_half_life_days": 0}, {"nope": 1},
                                 {"trending_weight": "high"}])
def test_ranking_params_are_checked(bad):
    with pytest.raises(ValidationError):
        domain.RankingParams.from_json(bad)
