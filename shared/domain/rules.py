"""Merchandising rules, the operator's levers on every list: parsing (a bad rule is a ValidationError) and the
one function a ranked list passes through at request time.

How a list passes through its active rules (active: startsAt <= now < endsAt, and the list named in `lists`):
1. `hide` removes every matching product.
2. `boost` / `bury` re-rank by rank, so that lists with any kind of score behave alike: a candidate at rank r
   has relevance 1 / r, multiplied by the weight of each matching boost and divided by that of each matching
   bury (weight w: it ranks as if its position were divided, or multiplied, by w). Ties keep the list's order.
3. `pin` puts its products at `position` (1 = first), in the order given, the next free slot when a slot is
   taken by an earlier pin (lower position first, then rule id); a category pin places the list's best
   candidate of that category. A pinned product need not be a candidate, but must be allowed in the list (the
   list's own exclusions: stock, categories, purchased, the product itself) and not hidden.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Sequence

from shared.domain.errors import ValidationError
from shared.domain.validation import check_fields, check_id, check_int, check_number, format_timestamp, \
    parse_timestamp

ACTIONS = ("boost", "bury", "pin", "hide")
LISTS = ("personalized", "popular", "trending", "similar", "boughtTogether")
MAX_RULES = 200
MAX_PRODUCTS_PER_RULE = 1000
MAX_WEIGHT = 100.0
MAX_POSITION = 100           # the longest list the API serves
DEFAULT_WEIGHT = 2.0
_FIELDS = {"action", "products", "category", "weight", "position", "lists", "startsAt", "endsAt"}


@dataclass(frozen=True)
class Rule:
    id: str
    action: str
    products: tuple[str, ...] = ()
    category: str | None = None
    weight: float | None = None
    position: int | None = None
    lists: frozenset[str] = frozenset(LISTS)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "_product_set", frozenset(self.products))

    def applies(self, list_name: str, now: datetime) -> bool:
        return (list_name in self.lists and (self.starts_at is None or self.starts_at <= now)
                and (self.ends_at is None or now < self.ends_at))

    def matches(self, product_id: str, category: str | None) -> bool:
        if self.category is not None:
            return category == self.category
        return product_id in self._product_set

    def to_json(self) -> dict:
        body: dict = {"id": self.id, "action": self.action}
        if self.category is not None:
            body["category"] = self.category
        else:
            body["products"] = list(self.products)
        if self.weight is not None:
            body["weight"] = self.weight
        if self.position is not None:
            body["position"] = self.position
        body["lists"] = [name for name in LISTS if name in self.lists]
        if self.starts_at is not None:
            body["startsAt"] = format_timestamp(self.starts_at)
        if self.ends_at is not None:
            body["endsAt"] = format_timestamp(self.ends_at)
        return body


def parse_rule(rule_id: str, body: object) -> Rule:
    """The request body of PUT /api/manage/rules/{rule_id}, checked field by field."""
    check_id(rule_id, "ruleId")
    check_fields(body, "rule", {"action"}, _FIELDS - {"action"})
    action = body["action"]
    if action not in ACTIONS:
        raise ValidationError(f"action must be one of {', '.join(ACTIONS)}", {"field": "action"})
    if ("products" in body) == ("category" in body):
        raise ValidationError("a rule targets either products or a category (exactly one)",
                              {"field": "products"})
    products: tuple[str, ...] = ()
    category = None
    if "products" in body:
        products = _products(body["products"])
    else:
        category = check_id(body["category"], "category")
    weight = position = None
    if "weight" in body:
        if action not in ("boost", "bury"):
            raise ValidationError("weight applies to boost and bury only", {"field": "weight"})
        weight = check_number(body["weight"], "weight", 1.0, MAX_WEIGHT)
        if weight == 1.0:
            raise ValidationError("a weight of 1 changes nothing; use more than 1", {"field": "weight"})
    elif action in ("boost", "bury"):
        weight = DEFAULT_WEIGHT
    if "position" in body:
        if action != "pin":
            raise ValidationError("position applies to pin only", {"field": "position"})
        position = check_int(body["position"], "position", 1, MAX_POSITION)
    elif action == "pin":
        raise ValidationError("a pin needs a position (1 = first)", {"field": "position"})
    lists = _lists(body["lists"]) if "lists" in body else frozenset(LISTS)
    starts = parse_timestamp(body["startsAt"], "startsAt") if "startsAt" in body else None
    ends = parse_timestamp(body["endsAt"], "endsAt") if "endsAt" in body else None
    if starts is not None and ends is not None and ends <= starts:
        raise ValidationError("endsAt must be after startsAt", {"field": "endsAt"})
    return Rule(rule_id, action, products, category, weight, position, lists, starts, ends)


def _products(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PRODUCTS_PER_RULE:
        raise ValidationError(f"products must be a list of 1 to {MAX_PRODUCTS_PER_RULE} product ids",
                              {"field": "products"})
    ids = tuple(check_id(pid, "products[]") for pid in value)
    if len(set(ids)) != len(ids):
        raise ValidationError("products lists a product twice", {"field": "products"})
    return ids


def _lists(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not value or any(name not in LISTS for name in value):
        raise ValidationError(f"lists must be a non-empty list of: {', '.join(LISTS)}", {"field": "lists"})
    return frozenset(value)


def rule_from_json(body: dict) -> Rule:
    """A rule as stored (to_json), read back."""
    return parse_rule(body["id"], {key: value for key, value in body.items() if key != "id"})


@dataclass(frozen=True)
class Placed:
    product_id: str
    score: float
    rule_id: str | None = None     # the pin that put it here


def pool_size(rules: Sequence[Rule], list_name: str, k: int, now: datetime) -> int:
    """How many ranked candidates a list should hand to `apply`: enough that a boost of weight w can lift a
    product from rank k * w into the first k, plus what hide rules may remove."""
    active = [rule for rule in rules if rule.applies(list_name, now)]
    boost = max((rule.weight for rule in active if rule.action == "boost"), default=1.0)
    hidden = sum(len(rule.products) if rule.category is None else k for rule in active if rule.action == "hide")
    pins = sum(1 for rule in active if rule.action == "pin" and rule.category is not None)
    return int(k * boost) + hidden + pins * k


def apply(rules: Sequence[Rule], list_name: str, candidates: Iterable[tuple[str, float]], k: int, now: datetime,
          category_of: Callable[[str], str | None], allowed: Callable[[str], bool]) -> list[Placed]:
    """The first k of `candidates` (best first) after the active rules of `list_name`."""
    active = [rule for rule in rules if rule.applies(list_name, now)]
    ranked = list(candidates)
    if not active:
        return [Placed(pid, score) for pid, score in ranked[:k]]
    hides = [rule for rule in active if rule.action == "hide"]

    def hidden(pid: str, category: str | None) -> bool:
        return any(rule.matches(pid, category) for rule in hides)

    categories = {pid: category_of(pid) for pid, _ in ranked}
    ranked = [(pid, score) for pid, score in ranked if not hidden(pid, categories[pid])]
    movers = [rule for rule in active if rule.action in ("boost", "bury")]
    if movers:
        ranked = _rerank(ranked, movers, categories)
    slots: list[Placed | None] = [None] * k
    pinned: set[str] = set()
    for rule in sorted((rule for rule in active if rule.action == "pin"), key=lambda rule: (rule.position, rule.id)):
        for pid in _pin_targets(rule, ranked, categories, pinned):
            if pid in pinned or hidden(pid, categories.get(pid, category_of(pid))):
                continue
            if pid not in categories and not allowed(pid):
                continue
            free = next((slot for slot in range(rule.position - 1, k) if slots[slot] is None), None)
            if free is None:
                break
            slots[free] = Placed(pid, 0.0, rule.id)
            pinned.add(pid)
    rest = iter([(pid, score) for pid, score in ranked if pid not in pinned])
    scores = dict(ranked)
    unpinned_scores = [score for _, score in ranked[:k]]
    result: list[Placed] = []
    for slot, placed in enumerate(slots):
        if placed is not None:
            # A pin keeps its own score when it was a candidate, else takes the score of the place it took.
            fallback = unpinned_scores[slot] if slot < len(unpinned_scores) else 0.0
            result.append(Placed(placed.product_id, scores.get(placed.product_id, fallback), placed.rule_id))
            continue
        following = next(rest, None)
        if following is None:
            continue
        result.append(Placed(*following))
    return result


def _rerank(ranked: list[tuple[str, float]], movers: list[Rule], categories: dict) -> list[tuple[str, float]]:
    def relevance(item: tuple[int, tuple[str, float]]) -> float:
        rank, (pid, _) = item
        value = 1.0 / (rank + 1)
        for rule in movers:
            if rule.matches(pid, categories[pid]):
                value = value * rule.weight if rule.action == "boost" else value / rule.weight
        return -value

    return [pair for _, pair in sorted(enumerate(ranked), key=relevance)]   # sorted is stable: ties keep order


def _pin_targets(rule: Rule, ranked, categories: dict, pinned: set[str]) -> list[str]:
    if rule.category is None:
        return list(rule.products)
    best = next((pid for pid, _ in ranked if categories[pid] == rule.category and pid not in pinned), None)
    return [best] if best is not None else []
