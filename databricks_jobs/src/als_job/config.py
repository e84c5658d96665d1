"""Job parameters: every value arrives as `--name=value` (Databricks job parameters are strings).

The training fields and their defaults mirror shared.domain.training_params.TrainingParams (a test checks it).
"""
from __future__ import annotations

import argparse
import re
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timezone


class ConfigError(ValueError):
    """A parameter is missing or out of range; the run fails before Spark does any work."""


# name -> default, in the order of TrainingParams; the type of the default is the type of the parameter.
TRAINING_DEFAULTS = {
    "factors": 64, "iterations": 15, "regularization": 0.5, "alpha": 1.0, "bm25_k1": 100.0, "bm25_b": 0.8,
    "half_life_days": 30.0, "similar_k": 20, "popular_k": 1000, "seed": 42,
    "bought_together_k": 20, "bought_together_min_support": 2,
}
# The bounds of shared.domain.training_params: they keep every model document under Cosmos DB's 2 MB.
MAX_SIMILAR_K = 100
MAX_POPULAR_K = 1000
MAX_BOUGHT_TOGETHER_K = 100
IO_MODES = ("cosmos", "files")
AUTH_TYPES = ("MasterKey", "ServicePrincipal", "ManagedIdentity")
_VERSION = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{4,16}$")


@dataclass(frozen=True)
class TrainingParams:
    factors: int
    iterations: int
    regularization: float
    alpha: float
    bm25_k1: float
    bm25_b: float
    half_life_days: float
    similar_k: int
    popular_k: int
    seed: int
    bought_together_k: int
    bought_together_min_support: int

    def to_json(self) -> dict:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True)
class CosmosSettings:
    endpoint: str = ""
    database: str = "personalization"
    orders_container: str = "orders"
    models_container: str = "models"
    user_vectors_container: str = "userVectors"
    auth_type: str = "MasterKey"
    secret_scope: str = ""          # Databricks secret scope holding the account key or the client secret
    key_secret: str = ""            # MasterKey: the secret's key name in that scope
    client_id: str = ""             # ServicePrincipal: app id; ManagedIdentity: user-assigned identity (optional)
    client_secret_secret: str = ""  # ServicePrincipal: the secret's key name in that scope
    subscription_id: str = ""
    tenant_id: str = ""
    resource_group: str = ""
    # Throughput control: the job never takes more than this share of the container's throughput ("0" = off),
    # coordinated across executors through the named container (partition key /groupId, ttl on).
    throughput_share: str = "0.3"
    throughput_control_container: str = "throughputControl"


@dataclass(frozen=True)
class JobConfig:
    model_version: str
    params: TrainingParams
    io_mode: str = "cosmos"
    input_path: str = ""
    output_path: str = ""
    model_ttl_seconds: int | None = None
    checkpoint_dir: str = ""        # ALS checkpoints; a Unity Catalog volume on Databricks, a temp dir locally
    cosmos: CosmosSettings = CosmosSettings()


_COSMOS_ARGS = {f"cosmos_{item.name}": item.name for item in fields(CosmosSettings)}


def parse_args(argv: list[str]) -> JobConfig:
    """Parse `--name=value` arguments; unknown names are an error (a typo must not silently use a default)."""
    parser = argparse.ArgumentParser(prog="train_als", description="Train implicit ALS and write the model.",
                                     allow_abbrev=False)  # a misspelt name must not match a longer one
    parser.add_argument("--model_version", default="")
    for name, default in TRAINING_DEFAULTS.items():
        parser.add_argument(f"--{name}", default=str(default))
    parser.add_argument("--io_mode", default="cosmos", choices=IO_MODES)
    parser.add_argument("--input_path", default="")
    parser.add_argument("--output_path", default="")
    parser.add_argument("--model_ttl_seconds", default="")
    parser.add_argument("--checkpoint_dir", default="")
    for name, attribute in _COSMOS_ARGS.items():
        parser.add_argument(f"--{name}", default=getattr(CosmosSettings(), attribute))
    args = vars(parser.parse_args(argv))
    params = TrainingParams(**{name: _number(name, args[name], type(default))
                               for name, default in TRAINING_DEFAULTS.items()})
    _check(params)
    cosmos = CosmosSettings(**{attribute: args[name].strip() for name, attribute in _COSMOS_ARGS.items()})
    config = JobConfig(model_version=args["model_version"].strip() or new_version(), params=params,
                       io_mode=args["io_mode"], input_path=args["input_path"], output_path=args["output_path"],
                       model_ttl_seconds=_ttl(args["model_ttl_seconds"]),
                       checkpoint_dir=_checkpoint_dir(args["checkpoint_dir"]), cosmos=cosmos)
    _check_io(config)
    _throughput_share(cosmos.throughput_share)
    return config


def _throughput_share(text: str) -> float:
    share = _number("cosmos_throughput_share", text, float)
    if not 0 <= share <= 1:
        raise ConfigError("cosmos_throughput_share must be between 0 (off) and 1")
    return share


def new_version(now: datetime | None = None) -> str:
    """A version for a run started by hand: sortable by time, unique by a random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def _number(name: str, text: str, kind: type):
    try:
        value = float(text)
        if kind is int:
            if not value.is_integer():
                raise ValueError
            return int(value)
        return value
    except ValueError:
        raise ConfigError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None


def _check(params: TrainingParams) -> None:
    # The same bounds as TrainingParams.check, plus the counts the document builders need.
    if not 1 <= params.factors <= 512:
        raise ConfigError("factors must be between 1 and 512")
    if not 1 <= params.iterations <= 100:
        raise ConfigError("iterations must be between 1 and 100")
    for name in ("regularization", "alpha", "bm25_k1", "half_life_days"):
        if not getattr(params, name) > 0:
            raise ConfigError(f"{name} must be positive")
    if not 0 <= params.bm25_b <= 1:
        raise ConfigError("bm25_b must be between 0 and 1")
    if not 0 <= params.similar_k <= MAX_SIMILAR_K:
        raise ConfigError(f"similar_k must be between 0 and {MAX_SIMILAR_K}")
    if not 0 <= params.popular_k <= MAX_POPULAR_K:
        raise ConfigError(f"popular_k must be between 0 and {MAX_POPULAR_K}")
    if not 0 <= params.bought_together_k <= MAX_BOUGHT_TOGETHER_K:
        raise ConfigError(f"bought_together_k must be between 0 and {MAX_BOUGHT_TOGETHER_K}")
    if not 1 <= params.bought_together_min_support <= 1_000_000:
        raise ConfigError("bought_together_min_support must be between 1 and 1000000")


def _checkpoint_dir(text: str) -> str:
    """DBFS root and mounts are deprecated and disabled on new workspaces: checkpoints go to a volume."""
    path = text.strip().rstrip("/")
    if path.lower().startswith(("dbfs:", "/dbfs")):
        raise ConfigError(f"checkpoint_dir {text!r} is on DBFS; use a Unity Catalog volume (/Volumes/...)")
    return path


def _ttl(text: str) -> int | None:
    if not text.strip():
        return None
    value = _number("model_ttl_seconds", text, int)
    if value <= 0:
        raise ConfigError("model_ttl_seconds must be positive (or empty for no ttl)")
    return value


def _check_io(config: JobConfig) -> None:
    if not _VERSION.match(config.model_version):
        raise ConfigError(f"model_version {config.model_version!r} is not like 20240101T120000Z-ab12")
    if config.io_mode == "files":
        if not config.input_path or not config.output_path:
            raise ConfigError("io_mode=files needs --input_path and --output_path")
        return
    cosmos = config.cosmos
    if not cosmos.endpoint or not cosmos.database:
        raise ConfigError("io_mode=cosmos needs --cosmos_endpoint and --cosmos_database")
    if cosmos.auth_type not in AUTH_TYPES:
        raise ConfigError(f"cosmos_auth_type must be one of {', '.join(AUTH_TYPES)}")
    needed = {"MasterKey": ("secret_scope", "key_secret"),
              "ServicePrincipal": ("secret_scope", "client_id", "client_secret_secret", "subscription_id",
                                   "tenant_id", "resource_group"),
              "ManagedIdentity": ("subscription_id", "tenant_id", "resource_group")}[cosmos.auth_type]
    missing = [f"cosmos_{name}" for name in needed if not getattr(cosmos, name)]
    if missing:
        raise ConfigError(f"cosmos_auth_type={cosmos.auth_type} needs {', '.join(missing)}")
