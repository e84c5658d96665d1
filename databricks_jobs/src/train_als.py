"""Entry point of the Databricks job `train_als` (a spark_python_task), also runnable on one machine:

    python databricks_jobs/src/train_als.py --io_mode=files --input_path=orders.jsonl --output_path=out/

Parameters are `--name=value` (see als_job.config). Exit code 0 when the manifest is written, 2 for bad
parameters, 1 for any other failure.
"""
from __future__ import annotations

import logging
import os
import sys

# Databricks runs this file without putting its folder on sys.path; the package lives beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from als_job.config import ConfigError, parse_args  # noqa: E402

log = logging.getLogger("train_als")


def session():
    """The cluster's session on Databricks; a local one elsewhere. UTC, so naive timestamps read as UTC."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("train_als").getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if spark.conf.get("spark.master", "").startswith("local"):
        # 200 shuffle partitions (the default) cost more than the work itself on one machine.
        spark.conf.set("spark.sql.shuffle.partitions", "4")
    return spark


def main(argv: list[str] | None = None, spark=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = parse_args(sys.argv[1:] if argv is None else argv)
    except ConfigError as error:
        log.error("bad parameters: %s", error)
        return 2
    except SystemExit as exit_:  # argparse: unknown argument or --help
        return int(exit_.code or 0) and 2
    try:
        from als_job.pipeline import train
        from als_job.storage import read_orders, sink_for

        spark = spark or session()
        orders = read_orders(spark, config)
        sink = sink_for(spark, config)
        containers = ({} if config.io_mode == "files" else
                      {"models": config.cosmos.models_container,
                       "user_vectors": config.cosmos.user_vectors_container})
        manifest = train(orders, config, sink, **containers)
    except Exception:  # the run must fail visibly, with the stack trace in the driver log
        log.exception("training model %s failed", config.model_version)
        return 1
    log.info("wrote model %s (%s)", manifest["modelVersion"], manifest["counts"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
