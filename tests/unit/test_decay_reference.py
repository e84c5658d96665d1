"""The decay reference (shared.domain.weighting): one new order cannot decay anyone's history to nothing, no
weight underflows, and serving's reference with new orders equals what the next training computes."""
import itertools

import numpy as np

from shared.domain import weighting
from shared.domain.interactions import collect
from tests.builders import order_body

DAY = weighting.SECONDS_PER_DAY


def documents(bodies):
    return [{"id": f"o{n}", "userId": body["userId"], "items": body["items"], "createdAt": body["createdAt"]}
            for n, body in enumerate(bodies)]


def test_one_order_years_later_leaves_the_others_history_weighing_something():
    history = [order_body(f"u{n}", ["a", "b"], day=n) for n in range(20)]
    years_later = order_body("today", ["c"], day=365 * 15)
    data = collect(documents(history + [years_later]), half_life_days=30)
    old_users = [row for row, user in enumerate(data.user_ids) if user != "today"]
    per_user = np.asarray(data.raw[old_users].max(axis=1).todense()).ravel()
    # Without the lag each old user's lines would weigh 0.5 ** 182 (0 in float32); now at least 2 ** -6.
    assert per_user.min() >= 0.5 ** weighting.RECENCY_LAG_HALF_LIVES * 0.99
    assert np.isfinite(data.raw.data).all() and (data.raw.data > 0).all()


def test_recent_buyers_still_count_for_more_within_the_lag():
    bodies = [order_body("recent", ["a"], day=100), order_body("earlier", ["a"], day=40)]
    data = collect(documents(bodies), half_life_days=30)
    weights = dict(zip(data.user_ids, np.asarray(data.raw.todense()).ravel()))
    assert weights["recent"] == 1.0 and weights["earlier"] == np.float32(0.25)   # two half-lives


def test_ages_are_clamped_so_nothing_underflows():
    assert weighting.decay(1e9, 30.0) == 0.5 ** weighting.MAX_AGE_HALF_LIVES
    assert np.float32(weighting.decay(1e9, 0.01)) > 0
    assert weighting.decay(-5.0, 30.0) == 1.0


def test_serving_reference_equals_the_next_trainings():
    half_life = 30.0
    points = [0.0, 10.0, 100.0, 179.0, 181.0, 400.0, 5000.0]
    for model_newest, user_newest, new_order in itertools.product(points, repeat=3):
        if user_newest > model_newest:
            continue   # the model's newest createdAt is the newest of all, the user's included
        trained = float(weighting.user_reference(model_newest * DAY, user_newest * DAY, half_life))
        served = weighting.folded_reference(model_newest * DAY, trained, new_order * DAY, half_life)
        retrained = float(weighting.user_reference(max(model_newest, new_order) * DAY,
                                                   max(user_newest, new_order) * DAY, half_life))
        assert served == retrained, (model_newest, user_newest, new_order)
        cold = weighting.folded_reference(model_newest * DAY, float("-inf"), new_order * DAY, half_life)
        assert cold == float(weighting.user_reference(max(model_newest, new_order) * DAY, new_order * DAY,
                                                      half_life))
    assert weighting.folded_reference(5.0, 3.0, float("-inf"), half_life) == 3.0   # no new orders: unchanged
