"""Parameters of the job and the Cosmos connector options per identity. No Spark needed."""
from __future__ import annotations

import pytest

from tests.jobs import conftest  # noqa: F401  (puts databricks_jobs/src on sys.path)

import train_als  # noqa: E402
from als_job.config import ConfigError, CosmosSettings, parse_args  # noqa: E402
from als_job.storage import cosmos_options, write_options  # noqa: E402

FILES = ["--io_mode=files", "--input_path=in", "--output_path=out"]
SECRETS = {("scope", "key"): "account-key", ("scope", "sp"): "sp-secret"}


def secret(scope, key):
    return SECRETS[(scope, key)]


@pytest.mark.parametrize("argv", [["--factors=abc"], ["--factors=1.5"], ["--iterations=0"], ["--bm25_b=2"],
                                  ["--alpha=-1"], ["--model_version=not-a-version"], ["--model_ttl_seconds=-5"],
                                  ["--similar_k=101"], ["--popular_k=1001"], ["--similar_k=-1"], ["--factors=513"],
                                  ["--checkpoint_dir=dbfs:/tmp/checkpoints"], ["--checkpoint_dir=/dbfs/tmp/x"]])
def test_bad_values_are_rejected(argv):
    with pytest.raises(ConfigError):
        parse_args(FILES + argv)


def test_entry_point_exit_code_two_for_bad_parameters():
    assert train_als.main(FILES + ["--factors=abc"]) == 2
    assert train_als.main(FILES + ["--no_such_parameter=1"]) == 2
    assert train_als.main(FILES + ["--fact=8"]) == 2           # no abbreviations
    assert train_als.main(["--io_mode=files"]) == 2          # no input or output path
    assert train_als.main(["--io_mode=cosmos"]) == 2         # no endpoint


def test_numbers_arrive_as_strings_and_keep_their_types():
    config = parse_args(FILES + ["--factors=32", "--regularization=1", "--seed=7.0", "--model_ttl_seconds=600"])
    assert config.params.factors == 32 and isinstance(config.params.factors, int)
    assert config.params.regularization == 1.0 and isinstance(config.params.regularization, float)
    assert config.params.seed == 7 and config.model_ttl_seconds == 600
    assert parse_args(FILES + ["--model_ttl_seconds="]).model_ttl_seconds is None


def test_checkpoint_dir_is_a_parameter_and_empty_by_default():
    assert parse_args(FILES).checkpoint_dir == ""
    config = parse_args(FILES + ["--checkpoint_dir=/Volumes/main/personalization/checkpoints/"])
    assert config.checkpoint_dir == "/Volumes/main/personalization/checkpoints"


def test_cosmos_mode_needs_the_settings_of_its_identity():
    base = ["--cosmos_endpoint=https://a.documents.azure.com:443/"]
    with pytest.raises(ConfigError, match="cosmos_secret_scope"):
        parse_args(base)
    with pytest.raises(ConfigError, match="cosmos_subscription_id"):
        parse_args(base + ["--cosmos_auth_type=ManagedIdentity"])
    config = parse_args(base + ["--cosmos_secret_scope=scope", "--cosmos_key_secret=key"])
    assert config.io_mode == "cosmos" and config.cosmos.models_container == "models"


def test_master_key_options():
    options = cosmos_options(CosmosSettings(endpoint="https://a/", secret_scope="scope", key_secret="key"),
                             "orders", secret)
    assert options["spark.cosmos.accountEndpoint"] == "https://a/"
    assert options["spark.cosmos.container"] == "orders"
    assert options["spark.cosmos.auth.type"] == "MasterKey"
    assert options["spark.cosmos.accountKey"] == "account-key"


def test_service_principal_options():
    settings = CosmosSettings(endpoint="https://a/", auth_type="ServicePrincipal", secret_scope="scope",
                              client_id="app", client_secret_secret="sp", subscription_id="sub", tenant_id="ten",
                              resource_group="rg")
    options = cosmos_options(settings, "models", secret)
    assert options["spark.cosmos.auth.aad.clientId"] == "app"
    assert options["spark.cosmos.auth.aad.clientSecret"] == "sp-secret"
    assert (options["spark.cosmos.account.subscriptionId"], options["spark.cosmos.account.tenantId"],
            options["spark.cosmos.account.resourceGroupName"]) == ("sub", "ten", "rg")
    assert "spark.cosmos.accountKey" not in options


def test_managed_identity_options_hold_no_secret():
    settings = CosmosSettings(endpoint="https://a/", auth_type="ManagedIdentity", subscription_id="sub",
                              tenant_id="ten", resource_group="rg")
    options = cosmos_options(settings, "userVectors", lambda scope, key: pytest.fail("no secret needed"))
    assert options["spark.cosmos.auth.type"] == "ManagedIdentity"
    assert "spark.cosmos.auth.aad.clientId" not in options
    assert not any("key" in name.lower() or "secret" in name.lower() for name in options)


def test_writes_are_bulk_upserts():
    options = write_options({"spark.cosmos.container": "models"})
    assert options["spark.cosmos.write.strategy"] == "ItemOverwrite"
    assert options["spark.cosmos.write.bulk.enabled"] == "true"


def test_training_takes_at_most_its_share_of_the_throughput():
    options = cosmos_options(CosmosSettings(endpoint="https://a/", database="db", secret_scope="scope",
                                            key_secret="key", throughput_share="0.25"), "userVectors", secret)
    assert options["spark.cosmos.throughputControl.enabled"] == "true"
    assert options["spark.cosmos.throughputControl.targetThroughputThreshold"] == "0.25"
    assert options["spark.cosmos.throughputControl.globalControl.database"] == "db"
    assert options["spark.cosmos.throughputControl.globalControl.container"] == "throughputControl"
    assert options["spark.cosmos.throughputControl.name"]
    off = cosmos_options(CosmosSettings(endpoint="https://a/", secret_scope="scope", key_secret="key",
                                        throughput_share="0"), "orders", secret)
    assert not any(name.startswith("spark.cosmos.throughputControl") for name in off)
    with pytest.raises(ConfigError):
        parse_args(["--io_mode=cosmos", "--cosmos_endpoint=https://a/", "--cosmos_database=db",
                    "--cosmos_secret_scope=s", "--cosmos_key_secret=k", "--cosmos_throughput_share=1.5"])
