"""The new-orders counter on every store backend: several change feed instances counting at once, each
remembering the document it last wrote, lose no order and count a redelivered one once."""
from __future__ import annotations

import pytest

from shared import store_calls
from shared.domain.ports import TRAINING_RUNS
from shared.services.new_orders import COUNTER_ID, NewOrderCounter
from tests.contract.store_backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    instance = BACKENDS[request.param](tmp_path, request)
    yield instance
    instance.close()


def batch(name: str, size: int = 5, received: str = "2030-01-01T00:00:10.000Z") -> list[dict]:
    return [{"id": f"{name}-{n}", "userId": f"user-{n}", "receivedAt": received} for n in range(size)]


def test_two_instances_counting_in_turn_lose_nothing_and_count_a_redelivery_once(store):
    first, second = NewOrderCounter(store, cap=1000), NewOrderCounter(store, cap=1000)
    assert first.add(batch("a"), cutoff="") == 5
    assert second.add(batch("b"), cutoff="") == 10     # `first` now remembers an out-of-date document
    assert first.add(batch("c"), cutoff="") == 15      # its replace is refused; it reads and merges again
    assert second.add(batch("a"), cutoff="") == 15     # redelivered to the other instance: counted once
    assert first.count("") == second.count("") == 15


def test_a_batch_reads_nothing_when_the_instance_wrote_the_counter_last(store):
    counter = NewOrderCounter(store, cap=1000)
    counter.add(batch("a"), cutoff="")
    with store_calls.recording() as calls:
        assert counter.add(batch("b"), cutoff="") == 10
    assert calls.kinds() == {store_calls.WRITE: 1}


def test_a_counter_deleted_meanwhile_is_created_again(store):
    counter = NewOrderCounter(store, cap=1000)
    counter.add(batch("a"), cutoff="")
    store.delete(TRAINING_RUNS, COUNTER_ID, COUNTER_ID)
    assert counter.add(batch("b"), cutoff="") == 5
    assert counter.count("") == 5


def test_the_count_stops_at_the_cap_and_keeps_the_newest(store):
    counter = NewOrderCounter(store, cap=8)
    counter.add(batch("old", received="2030-01-01T00:00:01.000Z"), cutoff="")
    assert counter.add(batch("new", received="2030-01-01T00:00:02.000Z"), cutoff="") == 8
    assert counter.count("2030-01-01T00:00:01.000Z") == 5   # all five of the newer batch were kept
