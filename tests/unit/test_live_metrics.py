"""The live figures recorder: orders per minute, nearest-rank latency percentiles, strategy mix, a bounded window."""
from shared.services.live_metrics import LiveMetrics


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_orders_are_counted_per_minute_over_the_window():
    clock = Clock(1_800_000_000.0 - 1_800_000_000.0 % 60)   # the start of a minute
    metrics = LiveMetrics(window_seconds=300, clock=clock)
    metrics.order_placed()
    metrics.order_placed()
    clock.now += 61
    metrics.order_placed()
    snapshot = metrics.snapshot()
    counts = [minute["orders"] for minute in snapshot["ordersPerMinute"]]
    assert len(counts) == 5 and counts[-2:] == [2, 1] and sum(counts) == 3
    assert snapshot["ordersPerMinute"][-1]["minute"].endswith(":01:00Z")


def test_orders_older_than_the_window_are_forgotten():
    clock = Clock()
    metrics = LiveMetrics(window_seconds=120, clock=clock)
    metrics.order_placed()
    clock.now += 600
    assert sum(minute["orders"] for minute in metrics.snapshot()["ordersPerMinute"]) == 0


def test_latency_percentiles_are_observed_values_and_strategies_are_counted():
    clock = Clock()
    metrics = LiveMetrics(clock=clock)
    for millis in range(1, 101):   # 1 ms .. 100 ms
        metrics.recommendation_served("personalized" if millis % 4 else "popular", millis / 1000)
    recommendations = metrics.snapshot()["recommendations"]
    assert recommendations["count"] == 100
    assert recommendations["latencyMs"] == {"p50": 50.0, "p99": 99.0}
    assert recommendations["strategies"] == {"personalized": 75, "popular": 25}


def test_latency_covers_the_last_five_minutes_only():
    clock = Clock()
    metrics = LiveMetrics(clock=clock)
    metrics.recommendation_served("popular", 0.5)
    clock.now += 301
    metrics.recommendation_served("personalized", 0.002)
    recommendations = metrics.snapshot()["recommendations"]
    assert recommendations["count"] == 1
    assert recommendations["latencyMs"] == {"p50": 2.0, "p99": 2.0}


def test_nothing_served_yet_reports_no_latency():
    recommendations = LiveMetrics(clock=Clock()).snapshot()["recommendations"]
    assert recommendations == {"windowSeconds": 300, "count": 0, "latencyMs": {"p50": None, "p99": None},
                               "strategies": {}}
