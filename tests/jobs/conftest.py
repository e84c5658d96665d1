"""Fixtures of the Spark job tests: one local Spark session and one files-mode training run for the session."""
from __future__ import annotations

import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOB_DIR = os.path.join(ROOT, "databricks_jobs")
JOB_SRC = os.path.join(JOB_DIR, "src")
if JOB_SRC not in sys.path:
    sys.path.insert(0, JOB_SRC)   # as on Databricks: the entry point's folder, not an installed package

from tests.jobs.fixture_orders import make_orders  # noqa: E402

TEST_VERSION = "20240720T000000Z-test1234"
# Not the defaults: the checks must follow the parameters a run receives.
TEST_ARGS = {"factors": 8, "iterations": 5, "regularization": 0.1, "half_life_days": 45.0, "bm25_k1": 50.0,
             "bm25_b": 0.75, "similar_k": 5, "popular_k": 10, "model_ttl_seconds": 3600}


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("tests-jobs")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               # C1 only: halves the JVM's start-up; the data here is too small for C2 to pay off.
               .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def orders() -> list[dict]:
    return make_orders()


@pytest.fixture(scope="session")
def orders_path(tmp_path_factory, orders) -> str:
    path = tmp_path_factory.mktemp("orders") / "orders.jsonl"
    path.write_text("".join(json.dumps(order) + "\n" for order in orders), encoding="utf-8")
    return str(path)


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="session")
def trained(spark, orders_path, tmp_path_factory) -> dict:
    """The entry point run once in files mode, as `python train_als.py --io_mode=files ...` would run it."""
    import train_als

    output = str(tmp_path_factory.mktemp("model"))
    argv = ["--io_mode=files", f"--input_path={orders_path}", f"--output_path={output}",
            f"--model_version={TEST_VERSION}"] + [f"--{name}={value}" for name, value in TEST_ARGS.items()]
    exit_code = train_als.main(argv, spark=spark)
    models = os.path.join(output, "models.jsonl")
    users = os.path.join(output, "userVectors.jsonl")
    return {"exit_code": exit_code, "output": output, "models_path": models, "users_path": users,
            "models": read_jsonl(models) if os.path.exists(models) else [],
            "users": read_jsonl(users) if os.path.exists(users) else []}
