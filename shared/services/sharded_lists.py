"""Precomputed per-product lists (similar products, bought together), read a shard at a time instead of merged
whole into every process.

The trainers write the lists with their keys sorted across the shards (model_docs.list_shards), so the
shard that holds a product is found by binary search on the shards' first and last keys: the first lookup
reads a few shards, and from then on each lookup reads at most the one shard it needs. Only each shard's two
bounding keys are kept for good, plus the few most recently used shards."""
from __future__ import annotations

import collections
import threading

from shared.domain import model_docs
from shared.domain.errors import NotFoundError
from shared.domain.ports import MODELS, DocumentStore

KEPT_SHARDS = 2


class ShardedLists:
    def __init__(self, store: DocumentStore, version: str, kind: str, shards: int, kept: int = KEPT_SHARDS):
        self._store, self._version, self._kind, self._count, self._kept = store, version, kind, shards, kept
        self._bounds: dict[int, tuple[str, str] | None] = {}   # None: missing or empty (lists computed on demand)
        self._recent: collections.OrderedDict[int, dict] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, product_id: str, default: list | None = None) -> list | None:
        """The product's precomputed list, or `default` when it has none (or its shard is missing)."""
        with self._lock:
            low, high = 0, self._count
            while low < high:
                middle = (low + high) // 2
                bounds = self._bounds_of(middle)
                if bounds is None:
                    return default
                if product_id < bounds[0]:
                    high = middle
                elif product_id > bounds[1]:
                    low = middle + 1
                else:
                    return self._items(middle).get(product_id, default)
            return default

    def _bounds_of(self, index: int) -> tuple[str, str] | None:
        if index not in self._bounds:
            self._items(index)
        return self._bounds[index]

    def _items(self, index: int) -> dict:
        items = self._recent.get(index)
        if items is not None:
            self._recent.move_to_end(index)
            return items
        try:
            items = self._store.read(MODELS, model_docs.shard_id(self._kind, index), self._version)["items"]
        except NotFoundError:
            items = {}
        self._bounds[index] = (min(items), max(items)) if items else None
        self._recent[index] = items
        while len(self._recent) > self._kept:
            self._recent.popitem(last=False)
        return items
