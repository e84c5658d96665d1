"""shared.domain.bought_together: support, lift above chance, confidence order, and the model documents."""
import random

import pytest

from shared.domain import model_docs
from shared.domain.bought_together import BasketRecorder, bought_together

VERSION = "20240101T000000Z-unit0001"


def brute_force(baskets, k, min_support):
    """The definition written out pair by pair, to check the sparse computation against."""
    sets = [set(basket) for basket in baskets]
    products = sorted(set().union(*sets))
    count = {pid: sum(pid in basket for basket in sets) for pid in products}
    result = {}
    for a in products:
        partners = []
        for b in products:
            together = sum(a in basket and b in basket for basket in sets)
            if a != b and together >= min_support and len(sets) * together > count[a] * count[b]:
                partners.append((-together / count[a], b))
        if partners:
            result[a] = [[b, round(-negative, 6)] for negative, b in sorted(partners)[:k]]
    return result


def test_confidence_with_the_lift_filter_and_the_support():
    baskets = [["a", "b", "c"], ["a", "b", "c"], ["a", "c"], ["d", "c"], ["a", "a", "b"]]
    # a: 4 orders, b: 3, c: 4, d: 1, N = 5. a-b: 3 together, 5*3 > 4*3; a-c: 3, 15 < 16 (below chance).
    assert bought_together(baskets, ["a", "b", "c", "d"], 10, 2) == {"a": [["b", 0.75]], "b": [["a", 1.0]]}
    assert bought_together(baskets, ["a", "b", "c", "d"], 10, 4) == {}


@pytest.mark.parametrize("seed, k, min_support", [(1, 3, 1), (2, 5, 2), (3, 50, 3)])
def test_equals_the_definition_pair_by_pair(seed, k, min_support):
    rng = random.Random(seed)
    names = [f"p{n:02d}" for n in range(30)]
    baskets = [rng.sample(names[:10] if rng.random() < 0.5 else names, rng.randint(1, 6)) for _ in range(300)]
    assert bought_together(baskets, names, k, min_support) == brute_force(baskets, k, min_support)


def test_blocks_give_the_same_lists():
    rng = random.Random(4)
    names = [f"p{n:03d}" for n in range(50)]
    baskets = [rng.sample(names, rng.randint(2, 8)) for _ in range(400)]
    whole = bought_together(baskets, names, 5, 2)
    assert whole and bought_together(baskets, names, 5, 2, block=7) == whole


def test_the_recorder_sees_each_order_once_while_passing_it_on():
    recorder = BasketRecorder()
    orders = [{"items": [{"productId": "a"}, {"productId": "b"}]}, {"items": [{"productId": "c"}]}]
    assert list(recorder.observe(iter(orders))) == orders
    assert recorder.baskets == [["a", "b"], ["c"]]


def test_shards_follow_the_schema_and_the_size_limit():
    lists = {f"{'x' * 120}{n:06d}": [[f"{'y' * 120}{m:06d}", 0.5] for m in range(100)] for n in range(200)}
    shards = list(model_docs.bought_together_shards(VERSION, lists))
    assert len(shards) >= 2
    for shard in shards:
        model_docs.validate(shard)
        assert model_docs.json_bytes(shard) <= model_docs.SHARD_TARGET_BYTES
    assert {key for shard in shards for key in shard["items"]} == set(lists)
    with pytest.raises(ValueError):
        model_docs.validate({**shards[0], "items": {"a": [["a", 1.0]]}})   # never the product itself
