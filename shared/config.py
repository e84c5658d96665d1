"""One frozen, validated Settings object, read from environment variables (local.settings.json values when
run locally). Every setting has an offline default, so the embedded default needs no configuration at all.
`local.settings.sample.json` documents every key; a test keeps the two in step."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from shared.domain.errors import ConfigurationError
from shared.domain.trending import RankingParams

_RANKING = RankingParams()

CONSISTENCY_LEVELS = ("Strong", "BoundedStaleness", "Session", "ConsistentPrefix", "Eventual")


def _setting(env: str, default: Any, *, secret: bool = False, choices: tuple[str, ...] = (),
             low: float | None = None, high: float | None = None, why: str = ""):
    """`why`: said after a value out of range, when the limit is not obvious."""
    return field(default=default, repr=not secret,
                 metadata={"env": env, "secret": secret, "choices": choices, "low": low, "high": high, "why": why})


@dataclass(frozen=True)
class Settings:
    store_backend: str = _setting("STORE_BACKEND", "sqlite", choices=("sqlite", "cosmos"))
    sqlite_path: str = _setting("SQLITE_PATH", ".data/store.sqlite3")

    cosmos_endpoint: str = _setting("COSMOS_ENDPOINT", "")
    cosmos_key: str = _setting("COSMOS_KEY", "", secret=True)
    cosmos_database: str = _setting("COSMOS_DATABASE", "personalization")
    cosmos_consistency_level: str = _setting("COSMOS_CONSISTENCY_LEVEL", "Session", choices=CONSISTENCY_LEVELS)
    cosmos_create_if_missing: bool = _setting("COSMOS_CREATE_IF_MISSING", False)
    cosmos_verify_tls: bool = _setting("COSMOS_VERIFY_TLS", True)
    orders_container: str = _setting("COSMOS_ORDERS_CONTAINER", "orders")
    leases_container: str = _setting("COSMOS_LEASES_CONTAINER", "leases")
    products_container: str = _setting("COSMOS_PRODUCTS_CONTAINER", "products")
    models_container: str = _setting("COSMOS_MODELS_CONTAINER", "models")
    user_vectors_container: str = _setting("COSMOS_USER_VECTORS_CONTAINER", "userVectors")
    training_runs_container: str = _setting("COSMOS_TRAINING_RUNS_CONTAINER", "trainingRuns")

    local_function_key: str = _setting("LOCAL_FUNCTION_KEY", "", secret=True)
    local_admin_key: str = _setting("LOCAL_ADMIN_KEY", "", secret=True)
    # Azure's own names, so the local host means by them what the Functions host does.
    functions_worker_process_count: int = _setting("FUNCTIONS_WORKER_PROCESS_COUNT", 1, low=1, high=10)
    python_threadpool_thread_count: int = _setting("PYTHON_THREADPOOL_THREAD_COUNT", 8, low=1, high=32)
    # Kestrel's RequestHeadersTimeout (the Functions host's web server): slower clients get 408.
    local_request_headers_timeout_seconds: float = _setting("LOCAL_REQUEST_HEADERS_TIMEOUT_SECONDS", 30.0,
                                                            low=0.1, high=3600)

    # Who a shopper is (docs/api.md, "Shopper identity"): key = a trusted backend holding the function key;
    # easyauth = App Service authentication's principal header; jwt = a verified OpenID Connect bearer token.
    shopper_auth: str = _setting("SHOPPER_AUTH", "key", choices=("key", "easyauth", "jwt"))
    shopper_jwks_url: str = _setting("SHOPPER_JWKS_URL", "")
    shopper_jwt_issuer: str = _setting("SHOPPER_JWT_ISSUER", "")
    shopper_jwt_audience: str = _setting("SHOPPER_JWT_AUDIENCE", "")
    shopper_jwt_claim: str = _setting("SHOPPER_JWT_CLAIM", "sub")

    trainer_backend: str = _setting("TRAINER_BACKEND", "local", choices=("local", "databricks"))
    training_threads: int = _setting("TRAINING_THREADS", 1, low=1, high=64)
    databricks_host: str = _setting("DATABRICKS_HOST", "")
    databricks_token: str = _setting("DATABRICKS_TOKEN", "", secret=True)
    databricks_auth: str = _setting("DATABRICKS_AUTH", "sdk", choices=("sdk", "managed-identity"))
    databricks_managed_identity_client_id: str = _setting("DATABRICKS_MANAGED_IDENTITY_CLIENT_ID", "")
    databricks_train_job_id: int = _setting("DATABRICKS_TRAIN_JOB_ID", 0, low=0)

    # 0: no retraining on the count of new orders (the schedule still retrains). The counter document holds
    # this many entries of about 46 bytes; Cosmos DB refuses items over 2 MB (shared.services.new_orders).
    retrain_min_new_orders: int = _setting(
        "RETRAIN_MIN_NEW_ORDERS", 100, low=0, high=30_000,
        why=": the new-orders counter holds that many entries in one Cosmos DB item (at most 2 MB); "
            "set 0 to retrain on the schedule alone")
    retrain_min_interval_seconds: int = _setting("RETRAIN_MIN_INTERVAL_SECONDS", 3600, low=0)
    retrain_full_interval_seconds: int = _setting("RETRAIN_FULL_INTERVAL_SECONDS", 86400, low=0)
    reconcile_schedule: str = _setting("RECONCILE_SCHEDULE", "*/10 * * * * *")
    model_ttl_seconds: int = _setting("MODEL_TTL_SECONDS", 7 * 86400, low=0)
    model_refresh_seconds: float = _setting("MODEL_REFRESH_SECONDS", 5.0, low=0)
    # From this many products, candidates come from an approximate index and are scored exactly
    # (shared.services.approximate); 0 scores every product on every request, whatever the catalogue's size.
    approximate_index_products: int = _setting("APPROXIMATE_INDEX_PRODUCTS", 250_000, low=0)
    # Empty: no telemetry is exported and the Azure Monitor distro is never imported (shared.telemetry).
    applicationinsights_connection_string: str = _setting("APPLICATIONINSIGHTS_CONNECTION_STRING", "", secret=True)

    # Trending and its part in the personalized list (defaults chosen by `manage.py tune`: RankingParams).
    trending_half_life_days: float = _setting("TRENDING_HALF_LIFE_DAYS", _RANKING.trending_half_life_days, low=0.01)
    trending_window_days: float = _setting("TRENDING_WINDOW_DAYS", _RANKING.trending_window_days, low=0.05,
                                           high=60)
    trending_weight: float = _setting("TRENDING_WEIGHT", _RANKING.trending_weight, low=0)
    trending_refresh_seconds: float = _setting("TRENDING_REFRESH_SECONDS", 2.0, low=0)
    rules_refresh_seconds: float = _setting("RULES_REFRESH_SECONDS", 2.0, low=0.1, high=60)

    def ranking_params(self) -> RankingParams:
        return RankingParams(self.trending_half_life_days, self.trending_window_days, self.trending_weight)

    def __repr__(self) -> str:  # dataclass repr would be fine, but be explicit that secrets are redacted
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.metadata["secret"]:
                value = "***" if value else ""
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    def container_names(self) -> dict[str, str]:
        """Logical container name -> real container name."""
        return {
            "orders": self.orders_container,
            "leases": self.leases_container,
            "products": self.products_container,
            "models": self.models_container,
            "userVectors": self.user_vectors_container,
            "trainingRuns": self.training_runs_container,
        }

    @classmethod
    def env_names(cls) -> list[str]:
        return [item.metadata["env"] for item in fields(cls)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate; a bad value raises ConfigurationError with one line naming the setting."""
        environ = os.environ if environ is None else environ
        values = {}
        for item in fields(cls):
            raw = environ.get(item.metadata["env"])
            values[item.name] = item.default if raw is None or raw == "" else _convert(item, raw)
        settings = cls(**values)
        settings._check_combinations()
        return settings

    def _check_combinations(self) -> None:
        from shared.domain import ncrontab
        try:
            ncrontab.check(self.reconcile_schedule)
        except ValueError as error:
            raise ConfigurationError(f"RECONCILE_SCHEDULE={self.reconcile_schedule!r} is not an NCRONTAB schedule "
                                     f"(six fields, seconds first, e.g. '*/10 * * * * *'): {error}") from None
        if self.store_backend == "cosmos" and not self.cosmos_endpoint:
            raise ConfigurationError("COSMOS_ENDPOINT is required when STORE_BACKEND=cosmos")
        if self.trainer_backend == "databricks" and not self.databricks_train_job_id:
            raise ConfigurationError("DATABRICKS_TRAIN_JOB_ID is required when TRAINER_BACKEND=databricks")


def _convert(item, raw: str):
    meta, env = item.metadata, item.metadata["env"]
    kind = type(item.default)
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            value = lowered in ("true", "1", "yes")
        elif kind in (int, float):
            value = kind(raw)
        else:
            value = raw.strip()
    except ValueError:
        raise ConfigurationError(f"{env}={raw!r} is not a valid {kind.__name__}") from None
    if meta["choices"] and value not in meta["choices"]:
        raise ConfigurationError(f"{env}={raw!r} must be one of: {', '.join(meta['choices'])}")
    if meta["low"] is not None and value < meta["low"]:
        raise ConfigurationError(f"{env}={raw!r} must be at least {meta['low']}")
    if meta["high"] is not None and value > meta["high"]:
        raise ConfigurationError(f"{env}={raw!r} must be at most {meta['high']}{meta['why']}")
    return value
