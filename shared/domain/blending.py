"""The personalized ranking: ALS scores blended with trending, then an optional cap per category.

    final_i = als_i / best_als + weight * trending_i / best_trending

Dividing by the best candidate's ALS score puts every shopper's scores on one scale (ALS scores of a
shopper with a long history are larger), so one weight, chosen by `manage.py tune`, fits everyone."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from shared.domain.ranking import top_k


def als_scale(scores: np.ndarray) -> float:
    """The best finite score, or 1 when none is positive (dividing would flip or blow up the order)."""
    best = float(scores.max()) if scores.size else 0.0
    if not math.isfinite(best):   # a +inf or NaN somewhere, or nothing but excluded (-inf): look closer
        finite = scores[np.isfinite(scores)]
        best = float(finite.max()) if finite.size else 0.0
    return best if best > 0 else 1.0


def blend(scores: np.ndarray, trending: np.ndarray | None, weight: float) -> tuple[np.ndarray, float]:
    """(final scores, the ALS scale used); excluded entries stay -inf. `scores` is not changed."""
    scale = als_scale(scores)
    if trending is None or weight <= 0:
        return scores / scale, scale
    return scores / scale + weight * trending, scale


def best_capped(scores: np.ndarray, k: int, category_of: Callable[[int], str | None],
                max_per_category: int | None) -> np.ndarray:
    """Indices of the k best scores with at most `max_per_category` of one category (products without a
    category are not capped). Reads deeper into the ranking until k are found or it runs out."""
    if not max_per_category:
        return top_k(scores, k)
    depth = min(len(scores), 4 * k)
    while True:
        ranked = top_k(scores, depth)
        chosen = [item[0] for item in cap_ids([(index,) for index in ranked.tolist()], k, category_of,
                                              max_per_category)]
        if len(chosen) == k or depth >= len(scores) or len(ranked) < depth:
            return np.asarray(chosen, dtype=np.int64)
        depth = min(len(scores), depth * 4)


def cap_ids(items, k: int, category_of: Callable, max_per_category: int | None) -> list:
    """The same cap over already ranked items (product id or index first: what `category_of` takes)."""
    chosen, per_category = [], {}
    for item in items:
        category = category_of(item[0]) if max_per_category else None
        if category is not None:
            if per_category.get(category, 0) >= max_per_category:
                continue
            per_category[category] = per_category.get(category, 0) + 1
        chosen.append(item)
        if len(chosen) == k:
            break
    return chosen
