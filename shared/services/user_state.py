"""A shopper's state at request time: their trained vector and what they bought, from their user-vector document
and the orders that document does not count yet (the one placed a moment ago included), re-solved by fold-in
when there are such orders."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from shared.domain.errors import NotFoundError
from shared.domain.foldin import decayed_counts, solve_user
from shared.domain.interactions import from_epoch_seconds, to_epoch_seconds
from shared.domain.model_docs import FOLD_IN_OVERLAP_SECONDS, decode_vectors
from shared.domain.ports import ETAG, NOT_IN, ORDERS, USER_VECTORS, DocumentStore, Filter, Query
from shared.domain.weighting import SECONDS_PER_DAY, decay, folded_reference
from shared.services.lru import LruCache
from shared.services.model_cache import LoadedModel

MAX_ORDERS_READ = 1000   # a user's history beyond this many newest orders is left to the trained vector
KNOWN_USERS_KEPT = 4096   # users whose document a process keeps the gist of (etag, trained state: a few MB)


@dataclass(frozen=True)
class _Known:
    """What a process keeps of a user document it read: its etag, what the orders query needs, and the
    trained state (vector, indices of the products bought) when the document is of the model served."""
    etag: str
    received_through: str
    recent_ids: tuple[str, ...]
    model_version: str
    trained: tuple | None


class UserStates:
    def __init__(self, store: DocumentStore):
        self._store = store
        self._known = LruCache(KNOWN_USERS_KEPT)

    def state(self, model: LoadedModel, user_id: str, session_token: str | None, counts: bool = True):
        """(vector or None for cold start, {product index: decayed count} of the products bought) from the user's
        vector document and the orders that document does not cover yet. Without `counts` the second part may be
        an array of just the product indices (when the trained vector stands, that is all a ranking needs)."""
        known, doc = self._document(model, user_id, fresh=counts)
        filters = (Filter("receivedAt", ">", _fold_in_from(known.received_through)),) if known is not None else ()
        if known is not None and known.recent_ids:
            # The orders in the overlap that the document already counts are left out by the store: after a bulk
            # import that is every order of the user, which would otherwise be read and decoded on each request.
            filters += (Filter("id", NOT_IN, known.recent_ids),)
        query = Query(partition_key=user_id, filters=filters, order_by="receivedAt", descending=True,
                      limit=MAX_ORDERS_READ)
        seen = set(known.recent_ids) if known is not None else set()
        orders = [order for order in self._store.query(ORDERS, query, session_token=session_token).items
                  if order["id"] not in seen]
        created = to_epoch_seconds([order["createdAt"] for order in orders]) if orders else []
        lines = [(model.index[line["productId"]], when) for order, when in zip(orders, created)
                 for line in order["items"] if line["productId"] in model.index]
        if known is not None and not lines and known.model_version == model.version and known.trained is not None:
            # Nothing new: the trained vector stands, and only which products were bought is needed (no decay
            # of every interaction, which is most of the Python work for a customer of a thousand products).
            return known.trained
        if known is not None and doc is None:
            # Unchanged since this process last read it, but folding in needs the whole document: read it, and
            # the orders again with it (it may have been rewritten a moment ago).
            return self.state(model, user_id, session_token, counts=True)
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
            return None, {}
        return solve_user(model.fold_in, raw), raw

    def _document(self, model: LoadedModel, user_id: str, fresh: bool) -> tuple[_Known | None, dict | None]:
        """(what is known of the user's document, the document itself when it was read): with `fresh` the
        document is read whole; otherwise, for a user read before, only when its etag changed (a conditional
        read: a heavy customer's document is 60 KB of JSON, decoded for nothing when unchanged)."""
        before = None if fresh else self._known.get(user_id)
        try:
            # No session token here: the shopper's token belongs to the orders container (session tokens are
            # per container); sent to userVectors it can be answered 404/1002, read session not available.
            if before is not None and before.model_version == model.version and before.trained is not None:
                doc = self._store.read_if_changed(USER_VECTORS, user_id, user_id, before.etag)
                if doc is None:
                    return before, None
            else:
                doc = self._store.read(USER_VECTORS, user_id, user_id)
        except NotFoundError:
            return None, None
        # The trained state only for the requests that may use it (`fresh` ones fold in or explain from the whole
        # document): a heavy customer's is thousands of product lookups.
        usable = not fresh and doc["modelVersion"] == model.version
        known = _Known(doc.get(ETAG) or "", doc["receivedThrough"], tuple(doc["recentOrderIds"]),
                       doc["modelVersion"], _trained(model, doc) if usable else None)
        if known.etag and not fresh:
            self._known.put(user_id, known)
        return known, doc


def _trained(model: LoadedModel, doc: dict) -> tuple:
    """(trained vector, indices of the products bought) of a document of the model served."""
    bought = np.fromiter((model.index[pid] for pid in doc["interactions"] if pid in model.index), np.int64)
    return (decode_vectors(doc["vector"], model.vectors.shape[1])[0], bought) if bought.size else (None, bought)


# Depends only on the user document's model version, so a handful of values serve every request.
@functools.lru_cache(maxsize=64)
def _fold_in_from(received_through: str) -> str:
    """The receivedAt after which orders may be missing from a user document (with a safety overlap)."""
    return from_epoch_seconds(to_epoch_seconds([received_through])[0] - FOLD_IN_OVERLAP_SECONDS)


@functools.lru_cache(maxsize=1024)
def _epoch(timestamp: str) -> float:
    return float(to_epoch_seconds([timestamp])[0])
