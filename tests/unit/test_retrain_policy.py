"""The pure retrain policy: when a new model is due, and how long to wait before resubmitting."""
import pytest

from shared.domain.retrain_policy import RetrainFacts, RetrainPolicy, backoff_seconds, decide

POLICY = RetrainPolicy(min_new_orders=50, min_interval_seconds=600, full_interval_seconds=86400)
NOW = 1_700_000_000.0


def facts(new_orders=50, last_started_ago=None, model_age=None, in_flight=False):
    return RetrainFacts(now=NOW, new_orders=new_orders,
                        last_started_at=None if last_started_ago is None else NOW - last_started_ago,
                        model_created_at=None if model_age is None else NOW - model_age, in_flight=in_flight)


def test_enough_new_orders_and_no_earlier_run_is_due():
    assert decide(POLICY, facts(new_orders=50)) == "orders"
    assert decide(POLICY, facts(new_orders=5000, model_age=10)) == "orders"


def test_one_order_short_of_the_threshold_is_not_due():
    assert decide(POLICY, facts(new_orders=49)) is None
    assert decide(POLICY, facts(new_orders=0, model_age=10)) is None


@pytest.mark.parametrize("ago, expected", [(0, None), (599.9, None), (600, "orders"), (3600, "orders")])
def test_the_minimum_interval_since_the_last_run_started_is_honoured(ago, expected):
    assert decide(POLICY, facts(new_orders=500, last_started_ago=ago)) == expected


@pytest.mark.parametrize("case", [
    dict(new_orders=10_000),
    dict(new_orders=10_000, last_started_ago=10**9),
    dict(new_orders=10, model_age=10**9, last_started_ago=10**9),
])
def test_nothing_is_due_while_a_run_is_in_flight(case):
    assert decide(POLICY, facts(in_flight=False, **case)) is not None  # due, but for the run in flight
    assert decide(POLICY, facts(in_flight=True, **case)) is None


def test_a_stale_model_is_retrained_on_schedule_with_any_new_order():
    assert decide(POLICY, facts(new_orders=1, model_age=86400, last_started_ago=86400)) == "scheduled"
    assert decide(POLICY, facts(new_orders=1, model_age=86399, last_started_ago=86400)) is None


def test_the_scheduled_retrain_needs_new_orders_rest_and_a_model():
    assert decide(POLICY, facts(new_orders=0, model_age=10**9, last_started_ago=10**9)) is None
    assert decide(POLICY, facts(new_orders=1, model_age=10**9, last_started_ago=60)) is None
    assert decide(POLICY, facts(new_orders=1, model_age=None, last_started_ago=10**9)) is None


def test_a_full_interval_of_zero_turns_the_schedule_off():
    off = RetrainPolicy(min_new_orders=50, min_interval_seconds=600, full_interval_seconds=0)
    assert decide(off, facts(new_orders=1, model_age=10**9)) is None
    assert decide(off, facts(new_orders=50, model_age=10**9)) == "orders"


def test_a_minimum_of_zero_new_orders_turns_the_count_off_and_leaves_the_schedule():
    schedule_only = RetrainPolicy(min_new_orders=0, min_interval_seconds=600, full_interval_seconds=86400)
    assert decide(schedule_only, facts(new_orders=10**6, model_age=10)) is None
    assert decide(schedule_only, facts(new_orders=0, model_age=10**9)) is None
    assert decide(schedule_only, facts(new_orders=1, model_age=10**9)) == "scheduled"


def test_the_threshold_reason_wins_over_the_schedule():
    assert decide(POLICY, facts(new_orders=50, model_age=10**9)) == "orders"


def test_a_zero_interval_allows_back_to_back_runs():
    eager = RetrainPolicy(min_new_orders=1, min_interval_seconds=0, full_interval_seconds=0)
    assert decide(eager, facts(new_orders=1, last_started_ago=0)) == "orders"


@pytest.mark.parametrize("attempts, seconds", [(0, 5), (1, 5), (2, 10), (3, 20), (4, 40), (6, 160), (7, 300),
                                               (50, 300), (10_000, 300)])
def test_backoff_doubles_from_five_seconds_up_to_five_minutes(attempts, seconds):
    assert backoff_seconds(attempts) == seconds


def test_backoff_takes_its_base_and_ceiling():
    assert [backoff_seconds(n, base=1, ceiling=6) for n in range(1, 6)] == [1, 2, 4, 6, 6]
    waits = [backoff_seconds(n) for n in range(1, 40)]
    assert waits == sorted(waits)
