"""The product catalogue: PUT/GET of products, and an in-memory snapshot for filtering recommendations.

The snapshot is read in full once per process (the first request that needs it waits for that). After that
it is refreshed incrementally and off the request path: when it is older than `refresh_seconds`, a request
starts one background refresh that reads only the products written since the newest `_ts` seen, and goes on
with the snapshot it has. A write through this process updates the snapshot at once."""
from __future__ import annotations

import logging
import threading
import time

import numpy as np

from shared.domain.errors import ValidationError
from shared.domain.ports import PRODUCTS, TIMESTAMP, DocumentStore, Filter, Query
from shared.domain.validation import check_fields, check_id, check_number

PUBLIC_FIELDS = ("title", "category", "price", "inStock")
log = logging.getLogger("catalogue")


def parse_product(product_id: str, body: object) -> dict:
    check_id(product_id, "productId")
    check_fields(body, "product", {"title"}, {"category", "price", "inStock"})
    title = body["title"]
    if not isinstance(title, str) or not title.strip() or len(title) > 500:
        raise ValidationError("title must be a non-empty string of at most 500 characters", {"field": "title"})
    category = body.get("category")
    if category is not None:
        check_id(category, "category")
    price = body.get("price")
    if price is not None:
        price = check_number(price, "price", 0.0, 1_000_000.0)
    in_stock = body.get("inStock", True)
    if not isinstance(in_stock, bool):
        raise ValidationError("inStock must be true or false", {"field": "inStock"})
    return {"id": product_id, "title": title.strip(), "category": category, "price": price, "inStock": in_stock}


def public_product(doc: dict) -> dict:
    return {"productId": doc["id"], **{name: doc.get(name) for name in PUBLIC_FIELDS}}


class Catalogue:
    def __init__(self, store: DocumentStore, refresh_seconds: float = 30.0):
        self._store = store
        self._refresh = refresh_seconds
        # (products, has categories, masks computed from these products): replaced as one, so a mask is
        # always cached beside the very snapshot it was computed from.
        # (products by id, whether any has a category, unavailable masks per (version, categories),
        # public fields per product asked for): one tuple, replaced whole, so readers see one snapshot.
        self._view: tuple[dict[str, dict], bool, dict[tuple, tuple[np.ndarray, np.ndarray]], dict[str, dict]] = \
            ({}, False, {}, {})
        self._loaded = False
        self._loaded_at = float("-inf")
        self._newest_ts = 0
        self._lock = threading.Lock()
        self._refresher: threading.Thread | None = None

    def put(self, product_id: str, body: object) -> dict:
        doc = parse_product(product_id, body)
        stored = self._store.upsert(PRODUCTS, doc).document
        if self._loaded:
            with self._lock:
                self._merge([stored])
        return public_product(doc)

    def get(self, product_id: str) -> dict:
        check_id(product_id, "productId")
        return public_product(self._store.read(PRODUCTS, product_id, product_id))

    def snapshot(self) -> dict[str, dict]:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._merge(self._store.scan(PRODUCTS))
                    self._loaded, self._loaded_at = True, time.monotonic()
        elif time.monotonic() - self._loaded_at >= self._refresh:
            self._start_refresh()
        return self._view[0]

    def refresh(self) -> int:
        """Read the products written since the newest one seen (a query on `_ts`, Cosmos DB's own write
        time in seconds; `>=` because several writes share a second). Returns how many were read."""
        with self._lock:
            since = self._newest_ts
        changed = list(self._store.scan(PRODUCTS, Query(filters=(Filter(TIMESTAMP, ">=", since),))))
        with self._lock:
            self._merge(changed)
            self._loaded_at = time.monotonic()
        return len(changed)

    def wait_for_refresh(self, timeout: float | None = None) -> None:
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout)

    def _start_refresh(self) -> None:
        with self._lock:
            if self._refresher is not None and self._refresher.is_alive():
                return
            self._loaded_at = time.monotonic()   # one refresh per interval, even when it fails
            self._refresher = threading.Thread(target=self._refresh_quietly, name="catalogue-refresh", daemon=True)
            self._refresher.start()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - the next interval tries again; requests keep the snapshot they have
            log.warning("catalogue refresh failed; keeping the current snapshot", exc_info=True)

    def _merge(self, docs) -> None:
        """Fold documents into a new snapshot, replaced in one assignment (readers see old or new)."""
        products = dict(self._view[0])
        for doc in docs:
            products[doc["id"]] = doc
            self._newest_ts = max(self._newest_ts, int(doc.get(TIMESTAMP) or 0))
        self._view = (products, any(doc.get("category") for doc in products.values()), {}, {})

    def unavailable_mask(self, version: str, product_ids: list[str], categories: tuple[str, ...]) -> np.ndarray | None:
        """True where a model product may not be recommended: out of stock, or outside `categories`."""
        found = self._unavailable(version, product_ids, categories)
        return None if found is None else found[0]

    def unavailable_indices(self, version: str, product_ids: list[str],
                            categories: tuple[str, ...]) -> np.ndarray | None:
        """The same as indices into the model's products, for excluding them from a ranking."""
        found = self._unavailable(version, product_ids, categories)
        return None if found is None else found[1]

    def _unavailable(self, version, product_ids, categories) -> tuple[np.ndarray, np.ndarray] | None:
        self.snapshot()
        products, has_categories, masks, _ = self._view
        if not products:
            return None
        if not has_categories:
            categories = ()  # category= applies only when the catalogue has categories at all
        key = (version, categories)
        found = masks.get(key)
        if found is None:
            wanted = set(categories)
            mask = np.fromiter(
                ((doc := products.get(pid)) is not None and
                 (doc.get("inStock") is False or (wanted and doc.get("category") not in wanted))
                 or (doc is None and bool(wanted))
                 for pid in product_ids), dtype=bool, count=len(product_ids))
            found = (mask, np.flatnonzero(mask))
            if len(masks) > 256:
                masks.clear()
            masks[key] = found
        return found

    def knows_categories(self) -> bool:
        self.snapshot()
        return self._view[1]

    def describe(self, product_id: str) -> dict:
        """A product's public fields ({} when unknown). Kept per snapshot: callers copy it, never change it."""
        products, _, _, described = self._view
        found = described.get(product_id)
        if found is None:
            doc = products.get(product_id)
            if not doc:
                return {}
            found = described[product_id] = {name: doc.get(name) for name in PUBLIC_FIELDS}
        return found
