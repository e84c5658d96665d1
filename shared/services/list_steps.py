"""The steps every list of RecommendationService shares: the merchandising rules (shared.services.rules)
applied last, availability and category of a product, and the response items."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.domain.rules import Rule, apply, pool_size
from shared.domain.validation import format_timestamp
from shared.services.catalogue import Catalogue
from shared.services.model_cache import LoadedModel
from shared.services.rules import RuleBook


class ListSteps:
    _catalogue: Catalogue
    _rules: RuleBook | None

    def _current_rules(self) -> tuple[Rule, ...]:
        return self._rules.current() if self._rules is not None else ()

    def _pool(self, list_name: str, k: int, rules: tuple[Rule, ...] | None = None) -> int:
        rules = self._current_rules() if rules is None else rules
        return pool_size(rules, list_name, k, datetime.now(timezone.utc)) if rules else k

    def _ruled(self, list_name: str, candidates, k: int, allowed,
               rules: tuple[Rule, ...] | None = None) -> list[tuple[str, float]]:
        """The list's first k after the merchandising rules, as (product id, score, id of the pin that
        placed it or None); the first k as they are without rules."""
        rules = self._current_rules() if rules is None else rules
        if not rules:
            return [(pid, score, None) for pid, score in list(candidates)[:k]]
        products = self._catalogue.snapshot()
        placed = apply(rules, list_name, candidates, k, datetime.now(timezone.utc),
                       lambda pid: (products.get(pid) or {}).get("category"), allowed)
        return [(item.product_id, item.score, item.rule_id) for item in placed]

    def _pinnable(self, model: LoadedModel | None, product_id: str, categories) -> bool:
        """May a pin put this product (not one of the list's candidates) into a list: a product the catalogue
        or the model knows, in stock, and in the requested categories."""
        doc = self._catalogue.snapshot().get(product_id)
        if doc is None and (model is None or product_id not in model.index):
            return False
        if doc is not None and doc.get("inStock") is False:
            return False
        if categories and self._catalogue.knows_categories():
            return doc is not None and doc.get("category") in categories
        return True

    def _available(self, product_id: str, categories: tuple[str, ...]) -> bool:
        """In stock, and in one of `categories` when asked for and the catalogue has categories at all."""
        described = self._catalogue.describe(product_id)
        if described.get("inStock") is False:
            return False
        if categories and self._catalogue.knows_categories():
            return described.get("category") in categories
        return True

    def _category(self, product_id: str) -> str | None:
        return self._catalogue.describe(product_id).get("category")

    def _items(self, items, reasons: list[dict] | None = None) -> list[dict]:
        found = [{"productId": item[0], "score": round(item[1], 6), **self._catalogue.describe(item[0])}
                 for item in items]
        for item, because in zip(found, reasons or ()):
            item["because"] = because
        return found

    def _response(self, user_id, items, version, strategy, reasons=None) -> dict:
        return {"userId": user_id, "items": self._items(items, reasons), "modelVersion": version,
                "strategy": strategy, "generatedAt": generated_at()}




def generated_at() -> str:
    return format_timestamp(datetime.now(timezone.utc))
