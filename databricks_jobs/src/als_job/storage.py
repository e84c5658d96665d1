"""The two I/O modes behind one option: "cosmos" (the Cosmos DB Spark connector) and "files" (JSON lines).

Both read the same order documents and write the same model documents; in files mode each container is one
file, OUTPUT/<container>.jsonl, written in the order the job writes (the manifest is the last models line).
"""
from __future__ import annotations

import json
import os
from typing import Callable, Iterable, Union

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StringType, StructField, StructType

from als_job.config import CosmosSettings, JobConfig
from als_job.orders import ORDER_SCHEMA
from als_job.user_docs import RAW_JSON

Documents = Union[DataFrame, Iterable[dict]]
SecretReader = Callable[[str, str], str]
_RAW_SCHEMA = StructType([StructField(RAW_JSON, StringType(), True)])


def databricks_secret(spark: SparkSession) -> SecretReader:
    """Secrets from a Databricks secret scope; off Databricks, from COSMOS_<KEY> environment variables."""
    def read(scope: str, key: str) -> str:
        try:
            from pyspark.dbutils import DBUtils  # only exists on Databricks runtimes
        except ImportError:
            name = "COSMOS_" + key.upper().replace("-", "_")
            if name not in os.environ:
                raise RuntimeError(f"secret {scope}/{key}: not on Databricks and {name} is not set") from None
            return os.environ[name]
        return DBUtils(spark).secrets.get(scope=scope, key=key)
    return read


def cosmos_options(cosmos: CosmosSettings, container: str, secret: SecretReader) -> dict[str, str]:
    """Connector options for one container with the configured identity (names per the connector docs)."""
    options = {"spark.cosmos.accountEndpoint": cosmos.endpoint, "spark.cosmos.database": cosmos.database,
               "spark.cosmos.container": container, "spark.cosmos.auth.type": cosmos.auth_type,
               "spark.cosmos.applicationName": "personalization-train-als", **throughput_control(cosmos)}
    if cosmos.auth_type == "MasterKey":
        options["spark.cosmos.accountKey"] = secret(cosmos.secret_scope, cosmos.key_secret)
        return options
    # Entra ID identities also need the account's coordinates: the connector reads metadata through ARM.
    options.update({"spark.cosmos.account.subscriptionId": cosmos.subscription_id,
                    "spark.cosmos.account.tenantId": cosmos.tenant_id,
                    "spark.cosmos.account.resourceGroupName": cosmos.resource_group})
    if cosmos.auth_type == "ServicePrincipal":
        options["spark.cosmos.auth.aad.clientId"] = cosmos.client_id
        options["spark.cosmos.auth.aad.clientSecret"] = secret(cosmos.secret_scope, cosmos.client_secret_secret)
    elif cosmos.client_id:  # a user-assigned managed identity
        options["spark.cosmos.auth.aad.clientId"] = cosmos.client_id
    return options


def throughput_control(cosmos: CosmosSettings) -> dict[str, str]:
    """The connector's global throughput control: the job's requests to a container stay under a share of
    that container's provisioned throughput, so training never throttles the storefront. (Not supported on
    serverless accounts, which take an absolute targetThroughput instead; set the share to 0 there.)"""
    if float(cosmos.throughput_share) <= 0:
        return {}
    return {"spark.cosmos.throughputControl.enabled": "true",
            "spark.cosmos.throughputControl.name": "personalization-training",
            "spark.cosmos.throughputControl.targetThroughputThreshold": cosmos.throughput_share,
            "spark.cosmos.throughputControl.globalControl.database": cosmos.database,
            "spark.cosmos.throughputControl.globalControl.container": cosmos.throughput_control_container}


def write_options(options: dict[str, str]) -> dict[str, str]:
    # ItemOverwrite = upsert: a retried run rewrites the same ids instead of failing on conflicts.
    return {**options, "spark.cosmos.write.strategy": "ItemOverwrite", "spark.cosmos.write.bulk.enabled": "true"}


def read_orders(spark: SparkSession, config: JobConfig, secret: SecretReader | None = None) -> DataFrame:
    if config.io_mode == "files":
        return spark.read.schema(ORDER_SCHEMA).json(config.input_path)
    options = cosmos_options(config.cosmos, config.cosmos.orders_container, secret or databricks_secret(spark))
    return spark.read.format("cosmos.oltp").options(**options).schema(ORDER_SCHEMA).load()


class FilesSink:
    """OUTPUT/<container>.jsonl; the first write of a run truncates the file, later writes append."""

    def __init__(self, output_path: str):
        self.output_path = output_path
        self._started: set[str] = set()

    def write(self, container: str, documents: Documents) -> None:
        os.makedirs(self.output_path, exist_ok=True)
        mode = "a" if container in self._started else "w"
        self._started.add(container)
        with open(os.path.join(self.output_path, f"{container}.jsonl"), mode, encoding="utf-8") as handle:
            for line in _json_lines(documents):
                handle.write(line + "\n")


class CosmosSink:
    """Bulk upserts through the connector; documents travel as raw JSON so every field keeps its JSON type."""

    def __init__(self, spark: SparkSession, cosmos: CosmosSettings, secret: SecretReader):
        self.spark, self.cosmos, self.secret = spark, cosmos, secret

    def write(self, container: str, documents: Documents) -> None:
        if isinstance(documents, DataFrame):
            frame = documents.select(RAW_JSON)
        else:
            frame = self.spark.createDataFrame([(line,) for line in _json_lines(documents)], _RAW_SCHEMA)
        options = write_options(cosmos_options(self.cosmos, container, self.secret))
        frame.write.format("cosmos.oltp").options(**options).mode("append").save()


def _json_lines(documents: Documents) -> Iterable[str]:
    if isinstance(documents, DataFrame):
        return (row[RAW_JSON] for row in documents.select(RAW_JSON).toLocalIterator())
    return (json.dumps(doc, separators=(",", ":")) for doc in documents)


def sink_for(spark: SparkSession, config: JobConfig, secret: SecretReader | None = None):
    if config.io_mode == "files":
        return FilesSink(config.output_path)
    return CosmosSink(spark, config.cosmos, secret or databricks_secret(spark))
