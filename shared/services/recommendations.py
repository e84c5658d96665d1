"""Recommendations at request time: the user's vector re-solved from the model and every order they placed
(including the one a moment ago), scored against all products, filtered and ranked."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

from shared import telemetry
from shared.domain import blending, explain
from shared.domain.errors import NotFoundError, ValidationError
from shared.domain.ports import DocumentStore
from shared.domain.rules import Rule
from shared.domain.trending import RankingParams
from shared.domain.validation import check_id
from shared.services.catalogue import Catalogue
from shared.services.model_cache import LoadedModel, ModelCache
from shared.services.list_steps import ListSteps, generated_at
from shared.services.rules import RuleBook
from shared.services.scoring import Scored
from shared.services.trending import TrendingBoard
from shared.services.user_state import UserStates

MAX_K = 100


class RecommendationService(ListSteps):
    """Every list (personalized, popular, trending, similar, bought together) passes last through the
    merchandising rules (shared.services.rules) of its list name."""

    def __init__(self, store: DocumentStore, models: ModelCache, catalogue: Catalogue, rules: RuleBook | None = None,
                 trending: TrendingBoard | None = None, ranking: RankingParams | None = None):
        self._store = store
        self._models = models
        self._catalogue = catalogue
        self._rules = rules
        self._trending = trending
        self._ranking = ranking or RankingParams()
        self._users = UserStates(store)
        self._trend_rows: tuple = (None, None)   # (trending vector, its non-zero indices)

    def for_user(self, user_id: str, k: int = 10, categories: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
                 include_purchased: bool = False, session_token: str | None = None, explain: bool = False,
                 max_per_category: int | None = None) -> dict:
        plan = self._plan(user_id, k, categories, exclude, include_purchased, session_token, explain,
                          max_per_category)
        if isinstance(plan, dict):
            return plan
        return self._finish(plan, plan.model.scorer.score(plan.vector, plan.excluded, len(plan.skipped)))

    @telemetry.recommendations("user")
    async def for_user_async(self, user_id: str, k: int = 10, categories: tuple[str, ...] = (),
                             exclude: tuple[str, ...] = (), include_purchased: bool = False,
                             session_token: str | None = None, explain: bool = False,
                             max_per_category: int | None = None) -> dict:
        """The same, for a request served on an event loop: store reads go to a thread unless the store is
        embedded, and scoring joins the loop's batches (BatchScorer.score_async)."""
        args = (user_id, k, categories, exclude, include_purchased, session_token, explain, max_per_category)
        plan = self._plan(*args) if self._store.embedded else await asyncio.to_thread(self._plan, *args)
        if isinstance(plan, dict):
            return plan
        return self._finish(plan, await plan.model.scorer.score_async(plan.vector, plan.excluded,
                                                                      len(plan.skipped)))

    def _plan(self, user_id, k, categories, exclude, include_purchased, session_token, explain=False,
              max_per_category=None) -> "_Ranking | dict":
        """Everything up to scoring: the user's vector and what to exclude; or the whole response when
        there is nothing to score (no model yet, cold start: trending, or popular before anything trends)."""
        check_id(user_id, "userId")
        _check_k(k)
        _check_cap(max_per_category)
        model = self._models.current()
        if model is None:   # no model yet, or a damaged one: its popularity list if readable (model_cache)
            return self._response(user_id, self._models.fallback_popular()[:k], None, "popular")
        vector, raw = self._users.state(model, user_id, session_token, counts=explain)
        skipped = np.asarray([model.index[pid] for pid in exclude if pid in model.index], dtype=np.int64)
        if not include_purchased and len(raw):
            skipped = np.concatenate([skipped, raw if isinstance(raw, np.ndarray) else np.fromiter(raw, np.int64)])
        if vector is None or not vector.any() or not np.isfinite(vector).all():
            # No vector, or one that says nothing (all zero: only products everyone buys; or not finite):
            # trending (or popularity), as documented, rather than "personalized" scores of 0.
            return self._cold_start(model, user_id, k, categories, exclude, skipped, explain, max_per_category)
        unavailable = self._catalogue.unavailable_indices(model.version, model.product_ids,
                                                          tuple(sorted(categories)))
        excluded = skipped if unavailable is None else np.concatenate([skipped, unavailable])
        # The rules are taken here, where a store read would be off the event loop (for_user_async).
        return _Ranking(model, user_id, k, vector, excluded, categories, exclude, skipped,
                        raw if explain else None, max_per_category, self._current_rules())

    def _finish(self, plan: "_Ranking", scored: Scored) -> dict:
        """Blend with trending, pick the best (capped per category), explain if asked. The scores are for
        every product, or for the candidates `scored.rows` names (shared.services.approximate)."""
        model = plan.model
        trend = self._trend_vector(model)
        scores, rows = scored.values, scored.rows
        if rows is None:
            scores[plan.excluded] = -np.inf   # the scores are this request's own
        else:
            rows, scores = self._with_trending(plan, rows, scores, trend)
            scores[np.isin(rows, plan.excluded)] = -np.inf
            trend = trend[rows] if trend is not None else None
        final, scale = blending.blend(scores, trend, self._ranking.trending_weight)
        pool = self._pool("personalized", plan.k, plan.rules)
        product = (lambda at: at) if rows is None else (lambda at: int(rows[at]))
        best = blending.best_capped(final, pool, lambda at: self._category(model.product_ids[product(at)]),
                                    plan.max_per_category).tolist()
        if scored.approximate and len(best) < pool:   # out of candidates (exclusions, the cap): rank exactly
            return self._finish(plan, model.scorer.exact(plan.vector))
        chosen = scores[best[:plan.k]]
        if chosen.size and (not chosen.any() or not np.isfinite(chosen).all()):   # nothing to rank by
            return self._cold_start(model, plan.user_id, plan.k, plan.categories, plan.exclude, plan.skipped,
                                    plan.raw is not None, plan.max_per_category)

        def at(index: int) -> int | None:   # where a product's score is, if it was scored
            if rows is None:
                return index
            found = np.flatnonzero(rows == index)
            return int(found[0]) if found.size else None

        def allowed(pid: str) -> bool:   # may a pin bring it in; excluded products are -inf
            if pid in model.index:
                position = at(model.index[pid])
                if position is None:   # not a candidate: allowed unless excluded
                    return not np.isin(model.index[pid], plan.excluded)
                return bool(np.isfinite(final[position]))
            return pid not in plan.exclude and self._pinnable(model, pid, plan.categories)

        items = self._ruled("personalized", [(model.product_ids[product(i)], float(final[i])) for i in best],
                            plan.k, allowed, plan.rules)
        reasons = None
        if plan.raw is not None:
            shown = [model.index[item[0]] for item in items if item[0] in model.index and item[2] is None]
            positions = [at(index) for index in shown]
            reasons_shown = self._explain(plan, shown, [scores[p] / scale for p in positions],
                                          [trend[p] if trend is not None else 0.0 for p in positions])
            explained = dict(zip((model.product_ids[i] for i in shown), reasons_shown))
            reasons = [{"kind": "rule", "ruleId": rule_id} if rule_id is not None else explained[pid]
                       for pid, _, rule_id in items]
        return self._response(plan.user_id, items, model.version, "personalized", reasons)

    def _with_trending(self, plan: "_Ranking", rows: np.ndarray, scores: np.ndarray, trend: np.ndarray | None):
        """Candidates plus every trending product, scored exactly: blending may lift one that ALS alone did
        not put among the candidates."""
        if trend is None:
            return rows, scores
        if self._trend_rows[0] is not trend:   # the board keeps one vector per revision
            self._trend_rows = (trend, np.flatnonzero(trend))
        extra = np.setdiff1d(self._trend_rows[1], rows, assume_unique=True)
        if not extra.size:
            return rows, scores
        extra_scores = plan.model.vectors[extra] @ plan.vector
        return np.concatenate([rows, extra]), np.concatenate([scores, extra_scores.astype(scores.dtype)])

    def _explain(self, plan: "_Ranking", best: list[int], als: list[float], trend: list[float]) -> list[dict]:
        """history: the one or two history products adding most to the item's ALS score (exact, from the
        fold-in solution); trending: when the trending part of the blended score is the larger one. `als` and
        `trend` are the shown products' scaled ALS and trending scores."""
        model = plan.model
        indices, contributions = explain.history_contributions(model.fold_in, plan.raw, best)
        reasons = []
        for column, index in enumerate(best):
            if self._ranking.trending_weight * trend[column] > als[column]:
                reasons.append({"kind": "trending"})
                continue
            causes = explain.top_contributors(indices, contributions, column)
            reasons.append({"kind": "history", "productIds": [model.product_ids[i] for i in causes]})
        return reasons

    def _cold_start(self, model, user_id, k, categories, exclude, skipped, explain, max_per_category) -> dict:
        """Nothing personal to rank by: the trending list, or popularity while nothing trends."""
        skip_ids = set(exclude) | {model.product_ids[i] for i in skipped}
        trending = self._trending_items(k, categories, skip_ids, max_per_category, "personalized", model)
        if trending:
            return self._response(user_id, trending, model.version, "trending",
                                  [{"kind": "trending"}] * len(trending) if explain else None)
        popular = self._popular(model, k, categories, skip_ids, "personalized", max_per_category)
        return self._response(user_id, popular, model.version, "popular",
                              [{"kind": "popular"}] * len(popular) if explain else None)

    def _trend_vector(self, model: LoadedModel) -> np.ndarray | None:
        if self._trending is None or self._ranking.trending_weight <= 0:
            return None
        return self._trending.vector_for(model.version, model.index)

    @telemetry.recommendations("trending", strategy="trending")
    def trending(self, k: int = 10, categories: tuple[str, ...] = (), max_per_category: int | None = None) -> dict:
        """Products bought by the most distinct shoppers lately (shared.domain.trending), in stock."""
        _check_k(k)
        _check_cap(max_per_category)
        model = self._models.current()
        items = self._trending_items(k, categories, set(), max_per_category, "trending", model)
        return {"items": self._items(items), "list": "trending", "modelVersion": model.version if model else None,
                "window": {"days": self._ranking.trending_window_days,
                           "halfLifeDays": self._ranking.trending_half_life_days},
                "generatedAt": generated_at()}

    def _trending_items(self, k, categories, skip: set[str], max_per_category, list_name, model) -> list[tuple]:
        if self._trending is None:
            return []
        self._catalogue.snapshot()   # loads it on first use (describe reads only what is loaded)
        available = [(pid, score) for pid, score in self._trending.ranked()
                     if pid not in skip and self._available(pid, categories)]
        if not available:
            return []
        candidates = blending.cap_ids(available, self._pool(list_name, k), self._category, max_per_category)
        return self._ruled(list_name, candidates, k,
                           lambda pid: pid not in skip and self._pinnable(model, pid, categories))

    @telemetry.recommendations("popular", strategy="popular")
    def popular(self, k: int = 10, categories: tuple[str, ...] = (), max_per_category: int | None = None) -> dict:
        _check_k(k)
        _check_cap(max_per_category)
        model = self._models.current()
        items = (self._popular(model, k, categories, set(), "popular", max_per_category) if model
                 else self._models.fallback_popular()[:k])
        return {"items": self._items(items), "modelVersion": model.version if model else None,
                "generatedAt": generated_at()}

    @telemetry.recommendations("similar", strategy="similar")
    def similar(self, product_id: str, k: int = 10) -> dict:
        check_id(product_id, "productId")
        _check_k(k)
        model = self._models.current()
        if model is None and self._models.problem:   # degraded: nothing to compare with, not "unknown product"
            return {"productId": product_id, "items": [], "modelVersion": None, "generatedAt": generated_at()}
        if model is None or product_id not in model.index:
            raise NotFoundError(f"product {product_id!r} is not in the active model")
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, ())
        neighbours = model.similar(self._store).get(product_id)
        if neighbours is None:
            neighbours = model.similar_on_demand(
                product_id, self._pool("similar", k),
                self._catalogue.unavailable_indices(model.version, model.product_ids, ()))
        return self._product_list("similar", model, product_id, neighbours, mask, k)

    @telemetry.recommendations("boughtTogether", strategy="boughtTogether")
    def bought_together(self, product_id: str, k: int = 10) -> dict:
        """Products bought in the same orders more often than chance (shared.domain.bought_together), best
        first; out-of-stock and hidden products left out. Empty for a product bought with nothing."""
        check_id(product_id, "productId")
        _check_k(k)
        model = self._models.current()
        if model is None or product_id not in model.index:
            raise NotFoundError(f"product {product_id!r} is not in the active model")
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, ())
        partners = model.bought_together(self._store).get(product_id, [])
        return self._product_list("boughtTogether", model, product_id, partners, mask, k)

    def _product_list(self, list_name, model, product_id, pairs, mask, k) -> dict:
        candidates = [(pid, score) for pid, score in pairs
                      if mask is None or pid not in model.index or not mask[model.index[pid]]]
        items = self._ruled(list_name, candidates, k,
                            lambda pid: pid != product_id and self._pinnable(model, pid, ()))
        return {"productId": product_id, "items": self._items(items),
                "modelVersion": model.version, "generatedAt": generated_at()}

    def _popular(self, model: LoadedModel, k: int, categories, skip: set[str], list_name: str,
                 max_per_category: int | None = None) -> list[tuple]:
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, tuple(sorted(categories)))
        available = (item for item in model.popular if item[0] not in skip and
                     not (mask is not None and item[0] in model.index and mask[model.index[item[0]]]))
        candidates = blending.cap_ids(available, self._pool(list_name, k), self._category, max_per_category)
        return self._ruled(list_name, candidates, k,
                           lambda pid: pid not in skip and self._pinnable(model, pid, categories))

@dataclass(frozen=True)
class _Ranking:
    model: LoadedModel
    user_id: str
    k: int
    vector: np.ndarray
    excluded: np.ndarray
    categories: tuple
    exclude: tuple
    skipped: np.ndarray   # the shopper's own exclusions: the exclude list, then what they bought
    raw: dict | None = None                # the user's decayed counts, kept when explanations are asked for
    max_per_category: int | None = None
    rules: tuple[Rule, ...] = ()


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be between 1 and {MAX_K}", {"field": "k"})


def _check_cap(max_per_category: int | None) -> None:
    if max_per_category is not None and not 1 <= max_per_category <= MAX_K:
        raise ValidationError(f"maxPerCategory must be between 1 and {MAX_K}", {"field": "maxPerCategory"})
