"""The serving side's view of the active model: product vectors, Y^T Y and popularity held in memory per
model version; the active pointer re-read at most every `refresh_seconds`. Loading a new version happens
off to the side and replaces the old one in a single assignment, so a request sees one model or the other.

A damaged model (unreadable pointer, missing manifest or shards, garbage or non-finite vectors) never fails
a request: serving keeps the last good model (or loads the pointer's previous version), else only the damaged
model's popularity list, else nothing; `problem` says why, for /api/health, and it is logged once."""
from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from shared.domain import model_docs
from shared.domain.errors import NotFoundError, UnavailableError
from shared.domain.foldin import FoldInModel
from shared.domain.interactions import to_epoch_seconds
from shared.domain.ports import MODELS, DocumentStore
from shared.domain.ranking import top_k
from shared.services.approximate import ApproximateScorer
from shared.services.scoring import BatchedScoring, BatchScorer
from shared.services.sharded_lists import ShardedLists

log = logging.getLogger("models")


@dataclass
class LoadedModel:
    version: str
    manifest: dict
    product_ids: list[str]
    index: dict[str, int]
    fold_in: FoldInModel
    popular: list[tuple[str, float]]
    decay_reference_seconds: float
    half_life_days: float
    approximate_from: int = 0   # products from which an approximate index picks candidates (0: never)
    scorer: BatchedScoring | None = field(default=None, repr=False)
    _loaded_lists: dict[str, ShardedLists] = field(default_factory=dict, repr=False)
    _norms: np.ndarray | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self):
        vectors = self.fold_in.vectors
        large = 0 < self.approximate_from <= vectors.shape[0]
        self.scorer = ApproximateScorer(vectors) if large else BatchScorer(vectors.T)

    @property
    def vectors(self) -> np.ndarray:
        return self.fold_in.vectors

    def similar(self, store: DocumentStore) -> ShardedLists:
        """Similar-product lists (`.get(product_id)`), read a shard at a time on first use: only the
        similar-products endpoint needs them, and merged whole they would sit in every process."""
        return self._lists(store, "similar")

    def bought_together(self, store: DocumentStore) -> ShardedLists:
        """Bought-together lists, likewise; none for a model trained before they existed."""
        return self._lists(store, "boughtTogether")

    def _lists(self, store: DocumentStore, kind: str) -> ShardedLists:
        found = self._loaded_lists.get(kind)
        if found is None:
            with self._lock:
                found = self._loaded_lists.get(kind)
                if found is None:
                    # A missing shard only means those products' lists are computed on demand (similar) or
                    # empty (bought together).
                    found = ShardedLists(store, self.version, kind, self.manifest["shards"].get(kind, 0))
                    self._loaded_lists[kind] = found
        return found

    def similar_on_demand(self, product_id: str, k: int, excluded: np.ndarray | None = None) -> list[list]:
        """Cosine neighbours of one product against all, for products whose lists were not precomputed."""
        if self._norms is None:
            self._norms = np.maximum(np.linalg.norm(self.scorer.vectors_t, axis=0), 1e-12)
        row = self.index[product_id]
        scores = (self.vectors[row] @ self.scorer.vectors_t) / (self._norms * self._norms[row])
        skip = np.append(excluded if excluded is not None else np.zeros(0, dtype=np.int64), row)
        return [[self.product_ids[i], round(float(scores[i]), 5)] for i in top_k(scores, k, skip, overwrite=True)]


def load_model(store: DocumentStore, version: str, approximate_from: int = 0) -> LoadedModel:
    manifest = store.read(MODELS, model_docs.MANIFEST_ID, version)
    factors = int(manifest["params"]["factors"])
    try:
        popular = [(item["productId"], item["score"])
                   for item in store.read(MODELS, model_docs.POPULARITY_ID, version)["items"]]
    except NotFoundError:
        popular = []
    # Point reads of just what serving needs (the manifest names the shards): similar-products shards are
    # read on first use only, and a scan of the partition would read them all. One shard at a time, each decoded
    # and let go at once: a million products are some 340 MB of JSON.
    product_ids: list[str] = []
    idf: list[float] = []
    parts: list[np.ndarray] = []
    for doc in _shards(store, version, "products", manifest["shards"]["products"]):
        model_docs.validate(doc, size=False)   # ValueError on garbage; the vectors are checked as they are decoded
        parts.append(model_docs.shard_vectors(doc, factors).T)
        product_ids += doc["productIds"]
        idf += doc["idf"]
    if not parts:
        raise NotFoundError(f"model {version} has no product shards")
    # Kept transposed (factors x products, contiguous): BLAS scores x @ Y^T about twice as fast as Y @ x,
    # and fold-in gathers its few rows from the transposed view just as well. A catalogue served through the
    # approximate index keeps products x factors instead: it gathers a few thousand candidates' rows on
    # each request, 20x faster from contiguous rows, and scores every product only in rare fallbacks.
    if 0 < approximate_from <= len(product_ids):
        vectors_t = np.concatenate([part.T for part in parts], axis=0).T
    else:
        vectors_t = np.concatenate(parts, axis=1)
    del parts
    params, fold = manifest["params"], manifest["foldIn"]
    fold_in = FoldInModel(vectors_t.T, _gram(vectors_t), np.asarray(idf, dtype=np.float64),
                          float(manifest["weighting"]["meanRowSum"]),
                          float(params["regularization"]), float(params["alpha"]), float(params["bm25_k1"]),
                          float(params["bm25_b"]), int(fold["confidenceOffset"]),
                          fold["regularizationScaling"] == "count")
    return LoadedModel(version, manifest, product_ids, {pid: i for i, pid in enumerate(product_ids)}, fold_in,
                       popular, float(to_epoch_seconds([manifest["decayReference"]])[0]),
                       float(params["half_life_days"]), approximate_from)


def _freeze_long_lived() -> None:
    """What exists once a model is loaded (modules, the model, the caches) lives about as long as the process:
    frozen out of the collector's generations, full collections walk only what requests allocate (they were the
    p99.9 of order writes, docs/benchmarks.md). Unfrozen first, so the collection frees the replaced model."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _gram(vectors_t: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Y^T Y in float64, a slice of products at a time (a float64 copy of all would double the model's memory)."""
    gram = np.zeros((vectors_t.shape[0],) * 2)
    for start in range(0, vectors_t.shape[1], chunk):
        part = vectors_t[:, start:start + chunk].astype(np.float64)
        gram += part @ part.T
    return gram


def _shards(store: DocumentStore, version: str, kind: str, count: int) -> Iterator[dict]:
    for index in range(count):
        try:
            yield store.read(MODELS, model_docs.shard_id(kind, index), version)
        except NotFoundError:
            raise NotFoundError(f"model {version} is missing {kind} shards") from None


class ModelCache:
    def __init__(self, store: DocumentStore, refresh_seconds: float = 5.0, approximate_from: int = 0):
        self._store = store
        self._refresh = refresh_seconds
        self._approximate_from = approximate_from
        self._model: LoadedModel | None = None
        self._broken: tuple[str, str, list] | None = None   # (what, why, the damaged model's popularity if readable)
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> LoadedModel | None:
        if time.monotonic() - self._checked_at >= self._refresh:
            with self._lock:
                if time.monotonic() - self._checked_at >= self._refresh:
                    self._refresh_now()
                    self._checked_at = time.monotonic()
        return self._model

    def invalidate(self) -> None:
        self._checked_at = float("-inf")

    @property
    def problem(self) -> str | None:
        """Why serving does not use the active model, or None when it does (or there is none yet)."""
        self.current()
        return self._broken[1] if self._broken else None

    def fallback_popular(self) -> list[tuple[str, float]]:
        """With no usable model: the damaged active model's popularity list when that part was readable."""
        return self._broken[2] if self._broken and self._model is None else []

    def _refresh_now(self) -> None:
        try:
            pointer = self._store.read(MODELS, model_docs.ACTIVE_POINTER_ID, model_docs.ACTIVE_POINTER_ID)
        except NotFoundError:
            self._model, self._broken = None, None
            return
        except UnavailableError:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged document must not fail every request
            return self._degrade("pointer", f"the active pointer cannot be read ({type(error).__name__}: {error})",
                                 None)
        version = pointer.get("activeVersion") if isinstance(pointer, dict) else None
        if not isinstance(version, str) or not model_docs.valid_version(version):
            return self._degrade("pointer", f"the active pointer names no valid model version ({version!r})", None)
        if self._model is not None and self._model.version == version:
            self._broken = None
            return
        if self._broken and self._broken[0] == f"{version}@{pointer.get('activatedAt')}":
            return   # known damaged: not re-read on every refresh; a new activation is
        try:
            self._model, self._broken = load_model(self._store, version, self._approximate_from), None
            _freeze_long_lived()
        except UnavailableError:
            raise
        except Exception as error:  # noqa: BLE001 - see above
            self._degrade(f"{version}@{pointer.get('activatedAt')}",
                          f"model {version} cannot be served ({type(error).__name__}: {error})",
                          pointer.get("previousVersion"), version)

    def _degrade(self, key: str, why: str, previous: str | None, version: str | None = None) -> None:
        """`key` names the damaged state (pointer version and activation), `version` the damaged model."""
        if self._model is None and isinstance(previous, str) and model_docs.valid_version(previous):
            try:
                self._model = load_model(self._store, previous, self._approximate_from)
            except UnavailableError:
                raise
            except Exception:  # noqa: BLE001 - the previous one is damaged too: popularity
                self._model = None
        if self._broken is None or self._broken[:2] != (key, why):   # once per problem, not per request
            log.error("%s; serving %s", why, f"model {self._model.version}" if self._model else "popularity")
        popular = _popularity(self._store, version) if self._model is None and version else []
        self._broken = (key, why, popular)


def _popularity(store: DocumentStore, version: str) -> list[tuple[str, float]]:
    try:
        doc = store.read(MODELS, model_docs.POPULARITY_ID, version)
        model_docs.validate(doc)
        return [(item["productId"], float(item["score"])) for item in doc["items"]]
    except UnavailableError:
        raise
    except Exception:  # noqa: BLE001 - no usable popularity either: an empty list
        return []
