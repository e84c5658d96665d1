"""Recommendations at request time: the user's vector re-solved from the model and every order they placed
(including the one a moment ago), scored against all products, filtered and ranked."""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from shared import telemetry
from shared.domain.errors import NotFoundError, ValidationError
from shared.domain.foldin import decayed_counts, solve_user
from shared.domain.interactions import from_epoch_seconds, to_epoch_seconds
from shared.domain.model_docs import FOLD_IN_OVERLAP_SECONDS, decode_vectors
from shared.domain.ports import ETAG, NOT_IN, ORDERS, USER_VECTORS, DocumentStore, Filter, Query
from shared.domain.ranking import top_k
from shared.domain.validation import check_id, format_timestamp
from shared.domain.weighting import SECONDS_PER_DAY, decay, folded_reference
from shared.services.catalogue import Catalogue
from shared.services.lru import LruCache
from shared.services.model_cache import LoadedModel, ModelCache

MAX_K = 100
MAX_ORDERS_READ = 1000   # a user's history beyond this many newest orders is left to the trained vector
TRAINED_STATES_KEPT = 4096   # users whose decoded document state a process keeps (a few MB at most)


class RecommendationService:
    def __init__(self, store: DocumentStore, models: ModelCache, catalogue: Catalogue):
        self._store = store
        self._models = models
        self._catalogue = catalogue
        self._trained = LruCache(TRAINED_STATES_KEPT)

    @telemetry.recommendations("user")
    def for_user(self, user_id: str, k: int = 10, categories: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
                 include_purchased: bool = False, session_token: str | None = None) -> dict:
        plan = self._plan(user_id, k, categories, exclude, include_purchased, session_token)
        if isinstance(plan, dict):
            return plan
        return self._finish(plan, plan.model.scorer.score(plan.vector))

    @telemetry.recommendations("user")
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
        if model is None:   # no model yet, or a damaged one: its popularity list if readable (model_cache)
            return self._response(user_id, self._models.fallback_popular()[:k], None, "popular")
        vector, bought = self._user_state(model, user_id, session_token)
        skipped = [model.index[pid] for pid in exclude if pid in model.index] + ([] if include_purchased else bought)
        if vector is None or not vector.any() or not np.isfinite(vector).all():
            # No vector, or one that says nothing (all zero: only products everyone buys; or not finite):
            # popularity, as documented, rather than "personalized" scores of 0.
            return self._popular_response(model, user_id, k, categories, exclude, skipped)
        excluded = np.asarray(skipped, dtype=np.int64)
        unavailable = self._catalogue.unavailable_indices(model.version, model.product_ids,
                                                          tuple(sorted(categories)))
        if unavailable is not None:
            excluded = np.concatenate([excluded, unavailable])
        return _Ranking(model, user_id, k, vector, excluded, categories, exclude, skipped)

    def _finish(self, plan: "_Ranking", scores: np.ndarray) -> dict:
        best = top_k(scores, plan.k, plan.excluded, overwrite=True)   # the scores are this request's own
        chosen = scores[best]
        if chosen.size and (not chosen.any() or not np.isfinite(chosen).all()):   # nothing to rank by
            return self._popular_response(plan.model, plan.user_id, plan.k, plan.categories, plan.exclude,
                                          plan.skipped)
        items = list(zip([plan.model.product_ids[i] for i in best.tolist()], chosen.tolist()))
        return self._response(plan.user_id, items, plan.model.version, "personalized")

    def _popular_response(self, model, user_id, k, categories, exclude, skipped) -> dict:
        skip_ids = set(exclude) | {model.product_ids[i] for i in skipped}
        return self._response(user_id, self._popular(model, k, categories, skip_ids), model.version, "popular")

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
        if doc is not None and doc["recentOrderIds"]:
            # The orders in the overlap that the document already counts are left out by the store: after a bulk
            # import that is every order of the user, which would otherwise be read and decoded on each request.
            filters += (Filter("id", NOT_IN, tuple(doc["recentOrderIds"])),)
        query = Query(partition_key=user_id, filters=filters, order_by="receivedAt", descending=True,
                      limit=MAX_ORDERS_READ)
        seen = set(doc["recentOrderIds"]) if doc else set()
        orders = [order for order in self._store.query(ORDERS, query, session_token=session_token).items
                  if order["id"] not in seen]
        created = to_epoch_seconds([order["createdAt"] for order in orders]) if orders else []
        lines = [(model.index[line["productId"]], when) for order, when in zip(orders, created)
                 for line in order["items"] if line["productId"] in model.index]
        if doc is not None and not lines and doc["modelVersion"] == model.version:
            # Nothing new: the trained vector stands, and only which products were bought is needed (no decay
            # of every interaction, which is most of the Python work for a customer of a thousand products).
            return self._trained_state(model, doc)
        # The user's reference time (shared.domain.weighting) with their new orders: the document's counts
        # are relative to its decayReference and move with it.
        doc_reference = _epoch(doc["decayReference"]) if doc is not None else float("-inf")
        newest_new = float(np.max(created)) if len(created) else float("-inf")
        reference = folded_reference(model.decay_reference_seconds, doc_reference, newest_new, model.half_life_days)
        raw: dict[int, float] = {}
        if doc is not None:
            shift = float(decay((reference - doc_reference) / SECONDS_PER_DAY, model.half_life_days))
            raw = {model.index[pid]: value * shift for pid, value in doc["interactions"].items()
                   if pid in model.index}
        for index, value in decayed_counts(lines, reference, model.half_life_days).items():
            raw[index] = raw.get(index, 0.0) + value
        if not raw:
            return None, []
        return solve_user(model.fold_in, raw), list(raw)

    def _trained_state(self, model: LoadedModel, doc: dict):
        """(trained vector, products bought) of a user document, kept per process for the users asked for
        most: a document changes only with its etag, and a heavy customer's has thousands of products."""
        key = (model.version, doc["id"], doc.get(ETAG))
        state = self._trained.get(key) if key[2] is not None else None
        if state is None:
            bought = [model.index[pid] for pid in doc["interactions"] if pid in model.index]
            state = (decode_vectors(doc["vector"], model.vectors.shape[1])[0], bought) if bought else (None, [])
            if key[2] is not None:
                self._trained.put(key, state)
        return state

    @telemetry.recommendations("popular", strategy="popular")
    def popular(self, k: int = 10, categories: tuple[str, ...] = ()) -> dict:
        _check_k(k)
        model = self._models.current()
        items = self._popular(model, k, categories, set()) if model else self._models.fallback_popular()[:k]
        return {"items": [self._item(pid, score) for pid, score in items],
                "modelVersion": model.version if model else None, "generatedAt": _now()}

    @telemetry.recommendations("similar", strategy="similar")
    def similar(self, product_id: str, k: int = 10) -> dict:
        check_id(product_id, "productId")
        _check_k(k)
        model = self._models.current()
        if model is None and self._models.problem:   # degraded: nothing to compare with, not "unknown product"
            return {"productId": product_id, "items": [], "modelVersion": None, "generatedAt": _now()}
        if model is None or product_id not in model.index:
            raise NotFoundError(f"product {product_id!r} is not in the active model")
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, ())
        neighbours = model.similar(self._store).get(product_id)
        if neighbours is None:
            neighbours = model.similar_on_demand(
                product_id, k, self._catalogue.unavailable_indices(model.version, model.product_ids, ()))
        items = [(pid, score) for pid, score in neighbours
                 if mask is None or pid not in model.index or not mask[model.index[pid]]][:k]
        return {"productId": product_id, "items": [self._item(pid, score) for pid, score in items],
                "modelVersion": model.version, "generatedAt": _now()}

    def _popular(self, model: LoadedModel, k: int, categories, skip: set[str]) -> list[tuple[str, float]]:
        mask = self._catalogue.unavailable_mask(model.version, model.product_ids, tuple(sorted(categories)))
        chosen = []
        for pid, score in model.popular:
            if pid in skip or (mask is not None and pid in model.index and mask[model.index[pid]]):
                continue
            chosen.append((pid, score))
            if len(chosen) == k:
                break
        return chosen

    def _item(self, product_id: str, score: float) -> dict:
        return {"productId": product_id, "score": round(score, 6), **self._catalogue.describe(product_id)}

    def _response(self, user_id, items, version, strategy) -> dict:
        return {"userId": user_id, "items": [self._item(pid, score) for pid, score in items],
                "modelVersion": version, "strategy": strategy, "generatedAt": _now()}


# Depends only on the user document's model version, so a handful of values serve every request.
@functools.lru_cache(maxsize=64)
def _fold_in_from(received_through: str) -> str:
    """The receivedAt after which orders may be missing from a user document (with a safety overlap)."""
    return from_epoch_seconds(to_epoch_seconds([received_through])[0] - FOLD_IN_OVERLAP_SECONDS)


@functools.lru_cache(maxsize=1024)
def _epoch(timestamp: str) -> float:
    return float(to_epoch_seconds([timestamp])[0])


@dataclass(frozen=True)
class _Ranking:
    model: LoadedModel
    user_id: str
    k: int
    vector: np.ndarray
    excluded: np.ndarray
    categories: tuple
    exclude: tuple
    skipped: list


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValidationError(f"k must be between 1 and {MAX_K}", {"field": "k"})


def _now() -> str:
    return format_timestamp(datetime.now(timezone.utc))
