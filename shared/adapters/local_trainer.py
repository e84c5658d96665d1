"""The in-process trainer of the embedded default: reads orders through the store port, fits ALS with the
`implicit` library, writes the model documents through the store port (manifest last). Runs in one
background thread with a limited number of BLAS/OpenMP threads, so the host keeps serving while it trains."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from shared.domain import model_docs
from shared.domain.bought_together import BasketRecorder
from shared.domain.errors import NotFoundError, ValidationError
from shared.domain.interactions import collect
from shared.domain.model_build import item_idf, manifest, model_documents, user_documents
from shared.domain.ports import MODELS, ORDERS, USER_VECTORS, DocumentStore
from shared.domain.training import FAILED, PENDING, RUNNING, SUCCEEDED, RunStatus, TrainingRequest
from shared.domain.training_params import TrainingParams
from shared.domain.weighting import bm25_matrix

log = logging.getLogger("trainer.local")
USER_BATCH = 5000
# implicit's solver uses c = alpha * w and a plain (unscaled) regularization term.
FOLD_IN = {"confidenceOffset": 0, "regularizationScaling": "none"}


def fit_als(weights, params: TrainingParams, threads: int) -> tuple[np.ndarray, np.ndarray]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit parallelizes itself; nested BLAS threads only contend
        model = AlternatingLeastSquares(factors=params.factors, regularization=params.regularization,
                                        alpha=params.alpha, iterations=params.iterations, random_state=params.seed,
                                        num_threads=threads, calculate_training_loss=False)
        model.fit(weights, show_progress=False)
    return np.asarray(model.user_factors, dtype=np.float32), np.asarray(model.item_factors, dtype=np.float32)


def train_model(store: DocumentStore, version: str, params: TrainingParams, threads: int = 1) -> dict:
    """Train on every order in the store and write model `version`; returns its manifest."""
    started = time.perf_counter()
    baskets = BasketRecorder()   # one read of the orders serves both the interactions and the baskets
    data = collect(baskets.observe(store.scan(ORDERS)), params.half_life_days)
    if not data.user_ids:
        raise ValidationError("there are no orders to train on yet")
    weights, mean_row_sum = bm25_matrix(data.raw, item_idf(data), params.bm25_k1, params.bm25_b)
    read_done = time.perf_counter()
    user_factors, item_factors = fit_als(weights, params, threads)
    fit_done = time.perf_counter()
    # Every document is measured before it is written: one Cosmos DB would refuse fails the run, not the write.
    docs = [model_docs.check_size(doc)
            for doc in model_documents(version, data, item_factors, params, baskets.baskets)]
    store.upsert_many(MODELS, docs)
    batch = []
    for doc in user_documents(version, data, user_factors):
        batch.append(model_docs.check_size(doc))
        if len(batch) >= USER_BATCH:
            store.upsert_many(USER_VECTORS, batch)
            batch = []
    store.upsert_many(USER_VECTORS, batch)
    finished = time.perf_counter()
    shards = {"products": sum(doc["type"] == "productShard" for doc in docs),
              "similar": sum(doc["type"] == "similarShard" for doc in docs),
              "boughtTogether": sum(doc["type"] == "boughtTogetherShard" for doc in docs)}
    timings = {"read": read_done - started, "fit": fit_done - read_done, "write": finished - fit_done,
               "total": finished - started}
    doc = manifest(version, data, params, "local", FOLD_IN, mean_row_sum, shards, timings)
    store.upsert(MODELS, model_docs.check_size(doc))  # last: a model without its manifest is never read
    return doc


class LocalTrainer:
    """The Trainer port on one machine. Runs are kept in memory; after a restart, a run's outcome is
    recovered from the store (its manifest), so the reconciler can still finish or fail it."""

    name = "local"

    def __init__(self, store: DocumentStore, threads: int = 1):
        self._store = store
        self._threads = threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-trainer")
        self._runs: dict[str, RunStatus] = {}
        self._lock = threading.Lock()

    def submit(self, request: TrainingRequest) -> str:
        run_id = f"local-{request.model_version}"
        with self._lock:
            if run_id in self._runs:
                return run_id  # idempotent on the request id
            self._runs[run_id] = RunStatus(PENDING)
        self._executor.submit(self._run, run_id, request)
        return run_id

    def _run(self, run_id: str, request: TrainingRequest) -> None:
        self._set(run_id, RunStatus(RUNNING))
        try:
            doc = train_model(self._store, request.model_version, request.params, self._threads)
            self._set(run_id, RunStatus(SUCCEEDED, details={"counts": doc["counts"], "timings": doc["timings"]}))
        except Exception as error:  # noqa: BLE001 - a failed run is reported through status(), not raised
            log.exception("local training run %s failed", run_id)
            self._set(run_id, RunStatus(FAILED, f"{type(error).__name__}: {error}"))

    def _set(self, run_id: str, status: RunStatus) -> None:
        with self._lock:
            self._runs[run_id] = status

    def status(self, run_id: str) -> RunStatus:
        with self._lock:
            known = self._runs.get(run_id)
        if known is not None:
            return known
        version = run_id.removeprefix("local-")
        if has_manifest(self._store, version):  # finished before this host restarted
            return RunStatus(SUCCEEDED)
        return RunStatus(FAILED, "the run is unknown to this host (it restarted while training); retrain")

    def wait(self, timeout: float | None = None) -> None:
        """For tests and the command line: block until queued runs are done."""
        self._executor.submit(lambda: None).result(timeout)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def has_manifest(store: DocumentStore, version: str) -> bool:
    try:
        store.read(MODELS, model_docs.MANIFEST_ID, version)
        return True
    except NotFoundError:
        return False
