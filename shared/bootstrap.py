"""The composition root. Builds settings, adapters and services lazily, once per process, on first use:
importing function_app.py must not read settings, open a client or touch the network (an import error in
Azure shows up as "0 functions found"). Tests swap parts in with `override()`."""
from __future__ import annotations

import threading
from typing import Any, Callable

from shared import telemetry
from shared.config import Settings
from shared.domain.ports import DocumentStore

_lock = threading.RLock()
_built: dict[str, Any] = {}
_overrides: dict[str, Any] = {}
_local_training_elsewhere = False   # see leave_local_training_to_the_timer


def _get(name: str, build: Callable[[], Any]) -> Any:
    if name in _overrides:
        return _overrides[name]
    value = _built.get(name)
    if value is None:
        with _lock:
            value = _built.get(name)
            if value is None:
                value = build()
                _built[name] = value
    return value


def override(**parts: Any) -> None:
    """Replace parts (settings, store, trainer, ...) and forget everything built from the old ones."""
    with _lock:
        _overrides.update(parts)
        _built.clear()


def reset() -> None:
    global _local_training_elsewhere
    with _lock:
        _local_training_elsewhere = False
        telemetry.uninstall()
        store = _built.get("store")
        _built.clear()
        _overrides.clear()
    if store is not None:
        store.close()


def settings() -> Settings:
    return _get("settings", _settings_from_env)


def _settings_from_env() -> Settings:
    """The process's settings; telemetry starts with them, once, on first use (never at import)."""
    config = Settings.from_env()
    if config.applicationinsights_connection_string and not telemetry.active():
        from shared.adapters.azure_monitor import start_azure_monitor
        telemetry.install(start_azure_monitor(config.applicationinsights_connection_string))
    return config


def store() -> DocumentStore:
    return _get("store", lambda: build_store(settings()))


def build_store(config: Settings) -> DocumentStore:
    """The one factory that picks the store backend from STORE_BACKEND; SDKs are imported only when chosen."""
    if config.store_backend == "cosmos":
        from shared.adapters.cosmos_store import CosmosStore
        return CosmosStore.from_settings(config)
    from shared.adapters.sqlite_store import SqliteStore
    return SqliteStore(config.sqlite_path)


def order_service():
    from shared.services.orders import OrderService
    return _get("order_service", lambda: OrderService(store()))


def health_service():
    from shared.services.health import HealthService
    return _get("health_service", lambda: HealthService(store, model_cache))


def model_registry():
    from shared.services.models import ModelRegistry
    return _get("model_registry", lambda: ModelRegistry(store(), settings().model_ttl_seconds))


def model_cache():
    from shared.services.model_cache import ModelCache
    return _get("model_cache", lambda: ModelCache(store(), settings().model_refresh_seconds,
                                                     settings().approximate_index_products))


def catalogue():
    from shared.services.catalogue import Catalogue
    return _get("catalogue", lambda: Catalogue(store()))


def trending_updater():
    from shared.services.trending import TrendingUpdater
    return _get("trending_updater", lambda: TrendingUpdater(store(), settings().ranking_params()))


def trending_board():
    from shared.services.trending import TrendingBoard
    return _get("trending_board", lambda: TrendingBoard(store(), settings().ranking_params(),
                                                        settings().trending_refresh_seconds))


def rule_book():
    from shared.services.rules import RuleBook
    return _get("rule_book", lambda: RuleBook(store(), settings().rules_refresh_seconds))


def recommendation_service():
    from shared.services.recommendations import RecommendationService

    def build():
        # Scoring runs in one thread per process beside the request threads; BLAS threads would only fight them.
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, "blas")
        return RecommendationService(store(), model_cache(), catalogue(), rules=rule_book(),
                                     trending=trending_board(), ranking=settings().ranking_params())
    return _get("recommendation_service", build)


def user_data():
    from shared.services.users import UserData
    return _get("user_data", lambda: UserData(store()))


def shopper_tokens():
    """The bearer token verifier of SHOPPER_AUTH=jwt (its key cache lives as long as the process)."""
    from shared.identity import TokenVerifier
    return _get("shopper_tokens", lambda: TokenVerifier.from_settings(settings()))


def trainer():
    return _get("trainer", lambda: build_trainer(settings(), store()))


def build_trainer(config: Settings, document_store: DocumentStore):
    """The one factory that picks the trainer from TRAINER_BACKEND."""
    if config.trainer_backend == "databricks":
        from shared.adapters.databricks_trainer import build_databricks_trainer
        return build_databricks_trainer(config)
    from shared.adapters.local_trainer import LocalTrainer
    # No ttl at write: a model expires only once it is superseded (ModelRegistry.retire_old).
    return LocalTrainer(document_store, config.training_threads)


def training_service():
    from shared.domain.retrain_policy import RetrainPolicy
    from shared.services.training import TrainingService

    def build():
        config = settings()
        policy = RetrainPolicy(config.retrain_min_new_orders, config.retrain_min_interval_seconds,
                               config.retrain_full_interval_seconds)
        local_elsewhere = _local_training_elsewhere and config.trainer_backend == "local"
        return TrainingService(store(), trainer(), model_registry(), policy, submit_at_once=not local_elsewhere)
    return _get("training_service", build)


def leave_local_training_to_the_timer() -> None:
    """For a local host process that runs no timer: the local trainer trains in the process it was asked in,
    and only the process running `reconcile_training` can follow a run. So here a training request is only
    recorded, and that timer submits it on its next tick."""
    global _local_training_elsewhere
    with _lock:
        _local_training_elsewhere = True
        _built.pop("training_service", None)


def live_metrics():
    """This process's live figures (orders per minute, recommendation latency, strategy mix)."""
    from shared.services.live_metrics import LiveMetrics
    return _get("live_metrics", LiveMetrics)
