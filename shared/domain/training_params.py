"""Training parameters and their defaults: one definition for `manage.py train`, the local trainer and the
Spark job (the job definition's defaults are checked against these by a test). Chosen by `manage.py tune`
on the Online Retail evaluation; see docs/evaluation.md."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from shared.domain.errors import ValidationError

# The recommendation API serves at most 100 items, and these bounds keep every model document under Cosmos DB's
# 2 MB item limit even with 128-character ids (shared.domain.model_docs): the popularity list is one document.
MAX_SIMILAR_K = 100
MAX_POPULAR_K = 1000
MAX_BOUGHT_TOGETHER_K = 100


@dataclass(frozen=True)
class TrainingParams:
    factors: int = 64
    iterations: int = 15
    regularization: float = 0.5
    alpha: float = 1.0
    # Interaction weighting (shared.domain.weighting): BM25 over time-decayed counts.
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    half_life_days: float = 30.0
    similar_k: int = 20
    popular_k: int = 1000
    seed: int = 42
    # Bought together (shared.domain.bought_together): list length and the orders a pair needs.
    bought_together_k: int = 20
    bought_together_min_support: int = 2

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TrainingParams":
        known = {item.name: item.type for item in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValidationError(f"unknown training parameters: {', '.join(unknown)}", {"unknown": unknown})
        params = cls()
        for name, value in data.items():
            default = getattr(params, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(f"training parameter {name} must be a number", {"field": name})
            if isinstance(default, int) and not float(value).is_integer():   # never truncate 3.7 to 3 in silence
                raise ValidationError(f"training parameter {name} must be an integer", {"field": name})
            params = replace(params, **{name: type(default)(value)})
        params.check()
        return params

    def check(self) -> None:
        if not 1 <= self.factors <= 512:
            raise ValidationError("factors must be between 1 and 512", {"field": "factors"})
        if not 1 <= self.iterations <= 100:
            raise ValidationError("iterations must be between 1 and 100", {"field": "iterations"})
        for name in ("regularization", "alpha", "bm25_k1", "half_life_days"):
            if getattr(self, name) <= 0:
                raise ValidationError(f"{name} must be positive", {"field": name})
        if not 0 <= self.bm25_b <= 1:
            raise ValidationError("bm25_b must be between 0 and 1", {"field": "bm25_b"})
        if not 0 <= self.similar_k <= MAX_SIMILAR_K:
            raise ValidationError(f"similar_k must be between 0 and {MAX_SIMILAR_K}", {"field": "similar_k"})
        if not 0 <= self.popular_k <= MAX_POPULAR_K:
            raise ValidationError(f"popular_k must be between 0 and {MAX_POPULAR_K}", {"field": "popular_k"})
        if not 0 <= self.bought_together_k <= MAX_BOUGHT_TOGETHER_K:
            raise ValidationError(f"bought_together_k must be between 0 and {MAX_BOUGHT_TOGETHER_K}",
                                  {"field": "bought_together_k"})
        if not 1 <= self.bought_together_min_support <= 1_000_000:
            raise ValidationError("bought_together_min_support must be between 1 and 1000000",
                                  {"field": "bought_together_min_support"})
