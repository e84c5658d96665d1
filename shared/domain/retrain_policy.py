"""When a new model is due. Pure: the training service gathers the facts, this decides.

Retrain when at least `min_new_orders` orders arrived since the newest model's data cutoff and at least
`min_interval_seconds` passed since the last run started (never on the count when `min_new_orders` is 0); retrain on schedule when the active model is older
than `full_interval_seconds`; never while a run is in flight."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainPolicy:
    min_new_orders: int
    min_interval_seconds: float
    full_interval_seconds: float


@dataclass(frozen=True)
class RetrainFacts:
    now: float                       # epoch seconds
    new_orders: int                  # orders received after the data cutoff of the newest model
    last_started_at: float | None    # when the newest training request was created
    model_created_at: float | None   # when the active model was trained
    in_flight: bool


def decide(policy: RetrainPolicy, facts: RetrainFacts) -> str | None:
    """'orders', 'scheduled', or None (nothing to do now)."""
    if facts.in_flight:
        return None
    rested = facts.last_started_at is None or facts.now - facts.last_started_at >= policy.min_interval_seconds
    if policy.min_new_orders > 0 and facts.new_orders >= policy.min_new_orders and rested:
        return "orders"
    stale = facts.model_created_at is not None and policy.full_interval_seconds > 0 and \
        facts.now - facts.model_created_at >= policy.full_interval_seconds
    if stale and facts.new_orders > 0 and rested:
        return "scheduled"
    return None


def backoff_seconds(attempts: int, base: float = 5.0, ceiling: float = 300.0) -> float:
    """Wait before the next submission attempt: 5 s, 10 s, 20 s ... at most 5 minutes."""
    # The exponent is capped: after ~1000 failed attempts (days of outage) 2 ** n no longer fits a float.
    return min(base * (2 ** min(max(attempts - 1, 0), 32)), ceiling)
