"""Recommendations at request time: the user's vector re-solved from the model and every order they placed
(including the one a moment ago), scored against all products, filtered and ranked."""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from shared.domain.errors import NotFoundError, ValidationError
from shared.domain.foldin import decayed_counts, solve_user
from shared.domain.interactions import from_epoch_seconds, to_epoch_seconds
from shared.domain.model_docs import FOLD_IN_OVERLAP_SECONDS, decode_vectors
from shared.domain.ports import ORDERS, USER_VECTORS, DocumentStore, Filter, Query
from shared.domain.ranking import top_k
from shared.domain.rules import Rule, apply, pool_size
from shared.domain.validation import check_id, format_timestamp
from shared.domain.weighting import SECONDS_PER_DAY, decay
from shared.services.catalogue import Catalogue
from shared.services.model_cache import LoadedModel, ModelCache
from shared.services.rules import RuleBook

MAX_K = 100
MAX_ORDERS_READ = 1000   # a user's history beyond this many newest orders is left to the trained vector


class RecommendationService:
    def __init__(self, store: DocumentStore, models: ModelCache, catalogue: Catalogue, rules: RuleBook | None = None):
        self._store = store
        self._models = models
        self._catalogue = catalogue
        self._rules = rules

    def for_user(self, user_id: str, k: int = 10, categories: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
                 include_purchased: bool = False, session_token: str | None = None) -> dict:
        plan = self._plan(user_id, k, categories, exclude, include_purchased, session_token)
        if isinstance(plan, dict):
            return plan
        return self._finish(plan, plan.model.scorer.score(plan.vector))

    async def for_user_async(self, user_id: str, k: int = 10, categories: tuple[str, ...] = (),
                             exclude: tuple[str, ...] = (), include_purchased: bool = False,
                             session_token: str | None = None) -> dict:
        """The same, for a request served on an event loop: store reads go to a thread unless the store is
        embedded, and scoring joins the loop's batches (BatchScorer.score_async)."""
        args = (user_id, k, categories, exclude, include_purchased, session_token)
        plan = self._plan(*args) if self._store.embedded else await asyncio.to_thread(self._plan, *args)
        if isinstance(plan, dict):
            return plan
        return self._finish(plan, await plan.model.scorer.score_async(plan.vector))

    def _plan(self, user_id, k, categories, exclude, include_purchased, session_token) -> "_Ranking | dict":
        """Everything up to scoring: the user's vector and what to exclude; or the whole response when
        there is nothing to score (no model yet, cold start)."""
        check_id(user_id, "userId")
        _check_k(k)
        model = self._models.current()
        if model is None:
            return self._response(user_id, [], None, "popular")
        vector, bought = self._user_state(model, user_id, session_token)
        skipped = [model.index[pid] for pid in exclude if pid in model.index] + ([] if include_purchased else bought)
        if vector is None:
            skip_ids = set(exclude) | {model.product_ids[i] for i in skipped}
            return self._response(user_id, self._popular(model, k, categories, skip_ids, "personalized"),
                                  model.version, "popular")
        excluded = np.asarray(skipped, dtype=np.int64)
        unavailable = self._catalogue.unavailable_indices(model.version, model.product_ids,
                                                          tuple(sorted(categories)))
        if unavailable is not None:
            excluded = np.concatenate([excluded, unavailable])
        # The rules are taken here, where a store read would be off the event loop (for_user_async).
        return _Ranking(model, user_id, k, vector, excluded, categories, frozenset(exclude), self._current_rules())

    def _finish(self, plan: "_Ranking", scores: np.ndarray) -> dict:
        model = plan.model
        pool = self._pool("personalized", plan.k, plan.rules)
        best = top_k(scores, pool, plan.excluded, overwrite=True)   # the scores are this request's own
        candidates = zip([model.product_ids[i] for i in best.tolist()], scores[best].tolist())

        def allowed(pid: str) -> bool:   # excluded products were set to -inf above
            if pid in model.index:
                return bool(np.isfinite(scores[model.index[pid]]))
            return pid not in plan.exclude and self._pinnable(model, pid, plan.categories)

        items = self._ruled("personalized", candidates, plan.k, allowed, plan.rules)
        return self._response(plan.user_id, items, model.version, "personalized")

    def _user_state(self, model: LoadedModel, user_id: str, session_token: str | None):
        """(vector or None for cold start, indices of products bought) from the user's vector document and
        the orders that document does not cover yet."""
        try:
            # No session token here: the shopper's token belongs to the orders container (session tokens are
            # per container); sent to userVectors it can be answered 404/1002, read session not available.
            doc = self._store.read(USER_VECTORS, user_id, user_id)
        except NotFoundError:
            doc = None
        filters = (Filter("receivedAt", ">", _fold_in_from(doc["receivedThrough"])),) if doc is not None else ()
        query = Query(partition_key=user_id, filters=filters, order_by="receivedAt", descending=True,
                      limit=MAX_ORDERS_READ)
        seen = set(doc["recentOrderIds"]) if doc else set()
        orders = [order for order in self._store.query(ORDERS, query, session_token=session_token).items
                  if order["id"] not in seen]
        raw: dict[int, float] = {}
        if doc is not None:
            # The document may come from a newer model than the active one: bring its decayed counts to the
            # active model's reference time, so old and new lines are weighed alike.
            shift = _decay_shift(doc["decayReference"], model.decay_reference_seconds, model.half_life_days)
            raw = {model.index[pid]: value * shift for pid, value in doc["interactions"].items()
                   if pid in model.index}
        created = to_epoch_seconds([order["createdAt"] for order in orders]) if orders else []
        lines = [(model.index[line["productId"]], when) for order, when in zip(orders, created)
                 for line in order["items"] if line["productId"] in model.index]
        for index, value in decayed_counts(lines, model.decay_reference_seconds, model.half_life_days).items():
            raw[index] = raw.get(index, 0.0) + value
        if not raw:
            return None, []
        if doc is not None and not lines and doc["modelVersion"] == model.version:
            vector = decode_vectors(doc["vector"], model.vectors.shape[1])[0]
        else:
            vector = solve_user(model.fold_in, raw)
        return vector, list(raw)

    def popular(self, k: int = 10, categories: tuple[str, ...] = ()) -> dict:
        _check_k(k)
        model = self._models.current()
        items = self._popular(model, k, categories, set(), "popular") if model else []
        return {"items": [self._item(pid, score) for pid, score in items],
                "modelVersion": model.version if model else None, "generatedAt": _now()}

    def similar(self, product_id: str, k: int = 10) -> dict:
        check_id(product_id, "productId")
        _check_k(k)
        model = self._models.current()
        if model is None or product_id not in model.index:
            raise NotFoundError(f"product {product_id!r} is not in the active model")
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, ())
        neighbours = model.similar(self._store).get(product_id)
        if neighbours is None:
            neighbours = model.similar_on_demand(
                product_id, self._pool("similar", k),
                self._catalogue.unavailable_indices(model.version, model.product_ids, ()))
        return self._product_list("similar", model, product_id, neighbours, mask, k)

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
        return {"productId": product_id, "items": [self._item(pid, score) for pid, score in items],
                "modelVersion": model.version, "generatedAt": _now()}

    def _popular(self, model: LoadedModel, k: int, categories, skip: set[str],
                 list_name: str) -> list[tuple[str, float]]:
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, tuple(sorted(categories)))
        pool = self._pool(list_name, k)
        chosen = []
        for pid, score in model.popular:
            if pid in skip or (mask is not None and pid in model.index and mask[model.index[pid]]):
                continue
            chosen.append((pid, score))
            if len(chosen) == pool:
                break
        return self._ruled(list_name, chosen, k,
                           lambda pid: pid not in skip and self._pinnable(model, pid, categories))

    # -- merchandising rules (shared.services.rules) -----------------------------------------------------
    def _current_rules(self) -> tuple[Rule, ...]:
        return self._rules.current() if self._rules is not None else ()

    def _pool(self, list_name: str, k: int, rules: tuple[Rule, ...] | None = None) -> int:
        rules = self._current_rules() if rules is None else rules
        return pool_size(rules, list_name, k, datetime.now(timezone.utc)) if rules else k

    def _ruled(self, list_name: str, candidates, k: int, allowed,
               rules: tuple[Rule, ...] | None = None) -> list[tuple[str, float]]:
        """The list's first k after the merchandising rules (the first k as they are without rules)."""
        rules = self._current_rules() if rules is None else rules
        if not rules:
            return list(candidates)[:k]
        products = self._catalogue.snapshot()
        placed = apply(rules, list_name, candidates, k, datetime.now(timezone.utc),
                       lambda pid: (products.get(pid) or {}).get("category"), allowed)
        return [(item.product_id, item.score) for item in placed]

    def _pinnable(self, model: LoadedModel, product_id: str, categories) -> bool:
        """May a pin put this product (not one of the list's candidates) into a list: a product the catalogue
        or the model knows, in stock, and in the requested categories."""
        doc = self._catalogue.snapshot().get(product_id)
        if doc is None and product_id not in model.index:
            return False
        if doc is not None and doc.get("inStock") is False:
            return False
        if categories and self._catalogue.knows_categories():
            return doc is not None and doc.get("category") in categories
        return True

    def _item(self, product_id: str, score: float) -> dict:
        return {"productId": product_id, "score": round(score, 6), **self._catalogue.describe(product_id)}

    def _response(self, user_id, items, version, strategy) -> dict:
        return {"userId": user_id, "items": [self._item(pid, score) for pid, score in items],
                "modelVersion": version, "strategy": strategy, "generatedAt": _now()}


# Both depend only on the user document's model version, so a handful of values serve every request.
@functools.lru_cache(maxsize=64)
def _fold_in_from(received_through: str) -> str:
    """The receivedAt after which orders may be missing from a user document (with a safety overlap)."""
    return from_epoch_seconds(to_epoch_seconds([received_through])[0] - FOLD_IN_OVERLAP_SECONDS)


@functools.lru_cache(maxsize=64)
def _decay_shift(doc_reference: str, model_reference_seconds: float, half_life_days: float) -> float:
    return float(decay((model_reference_seconds - to_epoch_seconds([doc_reference])[0]) / SECONDS_PER_DAY,
                       half_life_days))


@dataclass(frozen=True)
class _Ranking:
    model: LoadedModel
    user_id: str
    k: int
    vector: np.ndarray
    excluded: np.ndarray
    categories: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()
    rules: tuple[Rule, ...] = ()


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be between 1 and {MAX_K}", {"field": "k"})


def _now() -> str:
    return format_timestamp(datetime.now(timezone.utc))
