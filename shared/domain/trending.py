"""Trending: products ranked by recent buying, as distinct buyers per hour with a time decay.

Orders are kept as hourly buckets: for each product, the set of buyers (short hashes of the user id) who
ordered it in that hour. A set, not a count, so an order delivered twice by the change feed, or a second
order of the same shopper in the same hour, adds nothing. The score of a product is

    sum over the buckets of the last `window_days`:  buyers_in_bucket * 0.5 ** (age_days / half_life_days)

with the age measured from the middle of the bucket to now (never negative). The definition (window,
half-life) and the weight of trending in the personalized list were chosen on the time-split evaluation
(docs/evaluation.md)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from typing import Iterable

from shared.domain.errors import ValidationError
from shared.domain.weighting import SECONDS_PER_DAY, decay

BUCKET_SECONDS = 3600
PARTITION = "trending"            # the logical partition of the models container that holds the buckets
BUCKET_TYPE = "trendingBucket"
# Beyond this many buyers of one product in one hour the count saturates (keeps a bucket well under 2 MB).
MAX_BUYERS_PER_PRODUCT = 2000
# An hour's buyers go into parts of at most about this many bytes of JSON: far under Cosmos DB's 2 MB item
# limit, and small because each change feed batch rewrites the open part, and a write is charged by its size.
# A shop with thousands of orders an hour fills several parts, a small one only the first.
MAX_BUCKET_BYTES = 256_000


@dataclass(frozen=True)
class RankingParams:
    """How lists are ranked at serving time; no retraining needed to change them (`manage.py tune`)."""

    trending_half_life_days: float = 5.0
    trending_window_days: float = 14.0
    trending_weight: float = 1.3          # personalized = ALS / best ALS + weight * trending / best trending

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RankingParams":
        params = cls()
        for name, value in data.items():
            if name not in {item.name for item in fields(cls)}:
                raise ValidationError(f"unknown ranking parameter: {name}", {"field": name})
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"ranking parameter {name} must be a number", {"field": name})
            params = replace(params, **{name: float(value)})
        params.check()
        return params

    def check(self) -> None:
        if self.trending_half_life_days <= 0 or self.trending_window_days <= 0:
            raise ValidationError("trending half-life and window must be positive", {"field": "trending"})
        if self.trending_weight < 0:
            raise ValidationError("trending_weight must not be negative", {"field": "trending_weight"})


def buyer_key(user_id: str) -> str:
    """12 hex characters per buyer: distinct in practice, small in the bucket document."""
    return hashlib.blake2b(user_id.encode(), digest_size=6).hexdigest()


def bucket_start(epoch_seconds: float) -> int:
    return int(epoch_seconds // BUCKET_SECONDS) * BUCKET_SECONDS


def bucket_id(start: int, part: int = 0) -> str:
    hour = "trending-" + datetime.fromtimestamp(start, timezone.utc).strftime("%Y%m%dT%H")
    return hour if part == 0 else f"{hour}-{part}"


def bucket_bytes(buyers: dict[str, list[str]]) -> int:
    """About the JSON size of a bucket's buyers: each id quoted and followed by a comma or bracket."""
    return 2 + sum(len(product_id) + 6 + sum(len(key) + 3 for key in keys) for product_id, keys in buyers.items())


def order_time(created_seconds: float, received_seconds: float | None) -> float:
    """When an order counts for trending: when it was placed, but never later than the store received it
    (a client's createdAt in the future cannot make a product trend ahead of time)."""
    return created_seconds if received_seconds is None else min(created_seconds, received_seconds)


def merge_buyers(existing: dict[str, list[str]], additions: dict[str, set[str]]) -> dict[str, list[str]] | None:
    """The bucket's buyer sets with `additions` merged in; None when nothing is new (a repeated batch)."""
    merged, changed = dict(existing), False
    for product_id, buyers in additions.items():
        current = merged.get(product_id, [])
        fresh = sorted(set(buyers) - set(current))
        room = MAX_BUYERS_PER_PRODUCT - len(current)
        if fresh and room > 0:
            merged[product_id] = sorted([*current, *fresh[:room]])
            changed = True
    return merged if changed else None


def scores(buckets: Iterable[tuple[int, dict[str, list[str]]]], now_seconds: float,
           params: RankingParams, joined: dict | None = None) -> dict[str, float]:
    """{product id: trending score} from (bucket start, buyers per product) pairs, as of `now_seconds`.
    `joined`: a dict the caller keeps from one call to the next, in which an hour of several parts stays joined
    while its parts are the same objects (a busy hour's buyers are not joined again on every refresh)."""
    oldest = now_seconds - params.trending_window_days * SECONDS_PER_DAY
    found: dict[str, float] = {}
    for start, buyers in _hours(buckets, {} if joined is None else joined):
        if start + BUCKET_SECONDS <= oldest or start > now_seconds:
            continue   # outside the window; or after `now` (the evaluation's cut): not known yet
        age_days = max(0.0, now_seconds - (start + BUCKET_SECONDS / 2)) / SECONDS_PER_DAY
        weight = float(decay(age_days, params.trending_half_life_days))
        for product_id, keys in buyers.items():
            found[product_id] = found.get(product_id, 0.0) + weight * min(len(keys), MAX_BUYERS_PER_PRODUCT)
    return found


def _hours(buckets: Iterable[tuple[int, dict[str, list[str]]]], joined: dict) -> Iterable[tuple[int, dict]]:
    """One (start, buyers) per hour: the parts of an hour joined as sets, so a buyer written to two parts (a batch
    redelivered after the hour moved on to a new part) counts once.

    `joined` keeps {start: (parts, union)} from the call before: only the parts that are new objects since (the
    open part, rewritten by each change feed batch) are added to the hour's union. That is exact because a part
    only ever gains buyers (shared.services.trending merges into it); the other parts are not walked again."""
    parts: dict[int, list[dict]] = {}
    for start, buyers in buckets:
        parts.setdefault(start, []).append(buyers)
    kept = {start: joined[start] for start in parts if start in joined}
    joined.clear()
    for start, found in parts.items():
        if len(found) == 1:
            yield start, found[0]
            continue
        seen, union = kept.get(start, ((), {}))
        known = {id(part) for part in seen}   # `seen` holds them: no id can be reused meanwhile
        for buyers in found:
            if id(buyers) not in known:
                for product_id, keys in buyers.items():
                    union.setdefault(product_id, set()).update(keys)
        joined[start] = (tuple(found), union)
        yield start, union


def ranked(found: dict[str, float]) -> list[tuple[str, float]]:
    """Best first; ties by product id, so every instance answers the same."""
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))
