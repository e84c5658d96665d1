"""The asset bundle, checked offline: databricks.yml, and the job definition loaded with `databricks-bundles`.

Variables resolve as the Databricks CLI resolves them (bundle/config/mutator/set_variables.go): a value set for
the target, else `--var` / BUNDLE_VAR_<name>, else the default; a variable with none of these is "no value assigned
to required variable", and the CLI refuses to validate or deploy the bundle."""
from __future__ import annotations

import glob
import os
import re

import pyspark

import pytest
import yaml
from databricks.bundles.core import Bundle, Variable
from databricks.bundles.jobs import Job

from shared.domain.training import job_parameters
from shared.domain.training_params import TrainingParams
from tests.jobs.conftest import JOB_DIR

from als_job.config import parse_args  # noqa: E402  (databricks_jobs/src is on sys.path via conftest)

VARIABLE = re.compile(r"\$\{var\.([A-Za-z0-9_]+)\}")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def bundle():
    return load(os.path.join(JOB_DIR, "databricks.yml"))


@pytest.fixture(scope="module")
def job_file(bundle):
    files = sorted(path for pattern in bundle["include"] for path in glob.glob(os.path.join(JOB_DIR, pattern)))
    assert [os.path.basename(path) for path in files] == ["train_als.job.yml"]
    return files[0]


@pytest.fixture(scope="module")
def job_dict(job_file):
    return load(job_file)["resources"]["jobs"]["train_als"]


PROD_VALUES = {  # what the deploy workflow passes (repository variables), as examples
    "cosmos_endpoint": "https://acct.documents.azure.com:443/",
    "function_app_service_principal": "11111111-1111-1111-1111-111111111111",
    "checkpoint_dir": "/Volumes/main/personalization/checkpoints/train_als",
    "run_as_service_principal": "22222222-2222-2222-2222-222222222222",
    "cosmos_client_id": "33333333-3333-3333-3333-333333333333",
    "azure_subscription_id": "44444444-4444-4444-4444-444444444444",
    "azure_tenant_id": "55555555-5555-5555-5555-555555555555",
    "azure_resource_group": "rg-personalization",
}
DEV_VALUES = {name: PROD_VALUES[name] for name in ("cosmos_endpoint", "function_app_service_principal",
                                                    "checkpoint_dir")}


class MissingVariable(Exception):
    pass


def resolve_variables(bundle, target: str, passed: dict) -> dict:
    """The CLI's order: the target's value, then --var / BUNDLE_VAR_, then the default; else an error."""
    overrides = bundle["targets"][target].get("variables", {})
    values = {}
    for name, definition in bundle["variables"].items():
        if name in overrides:
            values[name] = overrides[name]
        elif name in passed:
            values[name] = passed[name]
        elif "default" in definition:
            values[name] = definition["default"]
        else:
            raise MissingVariable(f"no value assigned to required variable {name}")
    return values


def required(bundle) -> set[str]:
    return {name for name, definition in bundle["variables"].items() if "default" not in definition}


def substitute(text: str, values: dict) -> str:
    return VARIABLE.sub(lambda match: str(values[match.group(1)]), text)


def test_bundle_has_the_include_and_both_targets(bundle):
    assert bundle["bundle"]["name"]
    assert bundle["include"] == ["resources/*.yml"]
    dev, prod = bundle["targets"]["dev"], bundle["targets"]["prod"]
    assert dev["mode"] == "development" and dev["default"] is True
    assert prod["mode"] == "production"
    for target in (dev, prod):
        assert set(target.get("variables", {})) <= set(bundle["variables"])


def test_every_variable_the_bundle_uses_is_declared(bundle, job_file):
    with open(job_file, encoding="utf-8") as handle:
        used = set(VARIABLE.findall(handle.read())) | set(VARIABLE.findall(str(bundle["targets"])))
    assert used and used <= set(bundle["variables"])


def test_prod_holds_no_account_values_and_fails_without_the_workflow_variables(bundle):
    prod = bundle["targets"]["prod"]
    values = [definition.get("default") for definition in bundle["variables"].values()]
    values += [value for target in bundle["targets"].values() for value in target.get("variables", {}).values()]
    assert not [value for value in values if "documents.azure.com" in str(value)]  # no endpoint, not even a default
    assert required(bundle) == set(PROD_VALUES)
    assert not set(prod.get("variables", {})) & required(bundle)      # prod sets none of them itself...
    assert all(value not in ("", None) for value in prod.get("variables", {}).values())  # ...and nothing empty
    for name in PROD_VALUES:  # each one missing alone is a deploy-time error
        with pytest.raises(MissingVariable, match=f"required variable {name}$"):
            resolve_variables(bundle, "prod", {key: value for key, value in PROD_VALUES.items() if key != name})
    values = resolve_variables(bundle, "prod", PROD_VALUES)
    assert values["cosmos_auth_type"] == "ServicePrincipal"


def test_dev_needs_only_the_endpoint_the_app_identity_and_the_volume(bundle):
    values = resolve_variables(bundle, "dev", DEV_VALUES)
    assert values["cosmos_auth_type"] == "MasterKey"
    with pytest.raises(MissingVariable):
        resolve_variables(bundle, "dev", {})


def test_prod_runs_as_a_service_principal(bundle):
    run_as = bundle["targets"]["prod"]["run_as"]
    assert run_as == {"service_principal_name": "${var.run_as_service_principal}"}
    assert substitute(run_as["service_principal_name"], resolve_variables(bundle, "prod", PROD_VALUES)) \
        == PROD_VALUES["run_as_service_principal"]


def test_job_loads_with_databricks_bundles(job_dict):
    job = Job.from_dict(job_dict)
    assert job.max_concurrent_runs == 1
    assert job.queue.enabled is True
    (task,) = job.tasks
    assert task.job_cluster_key == job.job_clusters[0].job_cluster_key
    coordinates = [library.maven.coordinates for library in task.libraries if library.maven]
    assert len(coordinates) == 1
    assert coordinates[0].startswith("com.azure.cosmos.spark:azure-cosmos-spark_3-5_2-12:")


def test_the_function_app_identity_can_manage_runs(bundle, job_dict):
    job = Job.from_dict(job_dict)
    (permission,) = job.permissions
    assert permission.level.value == "CAN_MANAGE_RUN"
    assert isinstance(permission.service_principal_name, Variable)
    resolved = Bundle(target="prod", variables=resolve_variables(bundle, "prod", PROD_VALUES))
    assert resolved.resolve_variable(permission.service_principal_name) == PROD_VALUES["function_app_service_principal"]


def test_checkpoint_dir_is_a_job_parameter_on_a_volume(bundle, job_dict):
    defaults = {item["name"]: item["default"] for item in job_dict["parameters"]}
    assert defaults["checkpoint_dir"] == "${var.checkpoint_dir}"
    assert "/Volumes/" in bundle["variables"]["checkpoint_dir"]["description"]
    with open(os.path.join(JOB_DIR, "databricks.yml"), encoding="utf-8") as handle:
        bundle_text = handle.read()
    with open(os.path.join(JOB_DIR, "resources", "train_als.job.yml"), encoding="utf-8") as handle:
        job_text = handle.read()
    for text in (bundle_text, job_text):
        assert "dbfs:/" not in text.lower()


def test_parameter_defaults_are_the_training_params_defaults(job_dict):
    defaults = {item["name"]: item["default"] for item in job_dict["parameters"]}
    expected = job_parameters("20240101T120000Z-abcd", TrainingParams())
    assert set(expected) <= set(defaults)
    for name, value in TrainingParams().to_json().items():
        assert defaults[name] == str(value), name
    assert defaults["io_mode"] == "cosmos"


def test_task_passes_every_job_parameter(job_dict, job_file):
    names = [item["name"] for item in job_dict["parameters"]]
    task = job_dict["tasks"][0]["spark_python_task"]
    assert task["parameters"] == [f"--{name}={{{{job.parameters.{name}}}}}" for name in names]
    assert os.path.isfile(os.path.normpath(os.path.join(os.path.dirname(job_file), task["python_file"])))


@pytest.mark.parametrize("target, passed, auth_type", [("prod", PROD_VALUES, "ServicePrincipal"),
                                                       ("dev", DEV_VALUES, "MasterKey")])
def test_entry_point_accepts_what_a_run_of_each_target_passes(bundle, job_dict, target, passed, auth_type):
    """A run started with no overrides passes the resolved defaults to train_als.py: they parse."""
    values = resolve_variables(bundle, target, passed)
    argv = [f"--{item['name']}={substitute(item['default'], values)}" for item in job_dict["parameters"]]
    config = parse_args(argv)
    assert config.io_mode == "cosmos" and config.cosmos.auth_type == auth_type
    assert config.cosmos.endpoint == PROD_VALUES["cosmos_endpoint"]
    assert config.checkpoint_dir == PROD_VALUES["checkpoint_dir"]
    assert config.params.to_json() == TrainingParams().to_json()


# Databricks Runtime LTS -> (Spark, Scala), from the runtime release notes.
RUNTIMES = {"15.4": ("3.5", "2.12")}


def test_tests_run_on_the_spark_of_the_runtime_the_job_names(bundle):
    runtime = bundle["variables"]["spark_version"]["default"]
    match = re.fullmatch(r"(\d+\.\d+)\.x-scala(\d+\.\d+)", runtime)
    assert match, runtime
    spark, scala = RUNTIMES[match.group(1)]
    assert scala == match.group(2)
    connector = f"azure-cosmos-spark_{spark.replace('.', '-')}_{scala.replace('.', '-')}"
    assert connector in bundle["variables"]["cosmos_spark_connector_version"]["description"]
    assert pyspark.__version__.startswith(spark + "."), f"pyspark {pyspark.__version__} is not Spark {spark}"
    with open(os.path.join(os.path.dirname(JOB_DIR), "requirements-dev.txt"), encoding="utf-8") as handle:
        assert re.search(rf"^pyspark=={re.escape(spark)}\.\d+$", handle.read(), re.M)
