"""The product catalogue: PUT/GET of products, and an in-memory snapshot for filtering recommendations
(re-read at most every `refresh_seconds`; a write through this process refreshes it at once)."""
from __future__ import annotations

import threading
import time

import numpy as np

from shared.domain.errors import ValidationError
from shared.domain.ports import PRODUCTS, DocumentStore
from shared.domain.validation import check_fields, check_id, check_number

PUBLIC_FIELDS = ("title", "category", "price", "inStock")


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
        self._products: dict[str, dict] = {}
        self._loaded_at = float("-inf")
        self._masks: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._has_categories = False
        self._lock = threading.Lock()

    def put(self, product_id: str, body: object) -> dict:
        doc = parse_product(product_id, body)
        self._store.upsert(PRODUCTS, doc)
        self._loaded_at = float("-inf")
        return public_product(doc)

    def get(self, product_id: str) -> dict:
        check_id(product_id, "productId")
        return public_product(self._store.read(PRODUCTS, product_id, product_id))

    def snapshot(self) -> dict[str, dict]:
        if time.monotonic() - self._loaded_at >= self._refresh:
            with self._lock:
                if time.monotonic() - self._loaded_at >= self._refresh:
                    self._products = {doc["id"]: doc for doc in self._store.scan(PRODUCTS)}
                    self._has_categories = any(doc.get("category") for doc in self._products.values())
                    self._masks = {}
                    self._loaded_at = time.monotonic()
        return self._products

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
        products = self.snapshot()
        if not products:
            return None
        if not self.knows_categories():
            categories = ()  # category= applies only when the catalogue has categories at all
        key = (version, categories)
        found = self._masks.get(key)
        if found is None:
            wanted = set(categories)
            mask = np.fromiter(
                ((doc := products.get(pid)) is not None and
                 (doc.get("inStock") is False or (wanted and doc.get("category") not in wanted))
                 or (doc is None and bool(wanted))
                 for pid in product_ids), dtype=bool, count=len(product_ids))
            found = (mask, np.flatnonzero(mask))
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = found
        return found

    def knows_categories(self) -> bool:
        self.snapshot()
        return self._has_categories

    def describe(self, product_id: str) -> dict:
        doc = self._products.get(product_id)
        return {name: doc.get(name) for name in PUBLIC_FIELDS} if doc else {}
