"""An hour's trending bucket in parts: the size each part is held to, and one count per buyer across parts."""
import random

import orjson

from shared.domain import trending
from shared.domain.trending import RankingParams


def test_the_size_estimate_is_never_below_the_json_the_store_writes():
    rng = random.Random(2)
    for _ in range(50):
        buyers = {f"P{rng.randrange(10 ** rng.randint(1, 7))}": sorted(trending.buyer_key(f"u{rng.random()}")
                                                                       for _ in range(rng.randint(1, 40)))
                  for _ in range(rng.randint(1, 60))}
        assert trending.bucket_bytes(buyers) >= len(orjson.dumps(buyers))
    # Parts are closed well below Cosmos DB's 2 MB item limit, with room for the document's other fields.
    assert trending.MAX_BUCKET_BYTES + 10_000 < 2_000_000


def test_a_buyer_in_two_parts_of_one_hour_counts_once_and_other_hours_add_up():
    hour = 1_900_000_000 // 3600 * 3600
    now = hour + 1800
    found = trending.scores([(hour, {"p": ["a", "b"]}), (hour, {"p": ["b", "c"], "q": ["a"]}),
                             (hour - 3600, {"p": ["a"]})], now, RankingParams())
    one_hour_old = trending.scores([(hour - 3600, {"p": ["a"]})], now, RankingParams())["p"]
    assert found["q"] == trending.scores([(hour, {"q": ["a"]})], now, RankingParams())["q"]
    assert abs(found["p"] - (3 * found["q"] + one_hour_old)) < 1e-12


def test_an_hour_kept_joined_between_refreshes_scores_as_if_joined_afresh():
    """A board keeps each hour's union from one refresh to the next and adds only the parts rewritten since
    (the open part grows with every batch); the scores must stay those of a join from scratch."""
    rng = random.Random(5)
    hour = 1_900_000_000 // 3600 * 3600
    now = hour + 1800
    sealed = {f"p{n}": sorted({f"b{rng.randrange(300)}" for _ in range(20)}) for n in range(30)}
    open_part: dict[str, list[str]] = {}
    joined: dict = {}
    for _ in range(12):   # twelve change feed batches, each rewriting the open part as a new object
        open_part = {pid: sorted(set(keys) | {f"b{rng.randrange(300)}" for _ in range(3)})
                     for pid, keys in {**open_part, f"p{rng.randrange(40)}": []}.items()}
        buckets = [(hour, sealed), (hour, open_part), (hour - 3600, {"p1": ["x"]})]
        kept = trending.scores(buckets, now, RankingParams(), joined)
        assert kept == trending.scores(buckets, now, RankingParams())
    assert joined[hour][0][0] is sealed   # the sealed part was joined once, then kept
