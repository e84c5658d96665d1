"""The asset bundle, checked offline: databricks.yml, and the job definition loaded with `databricks-bundles`."""
from __future__ import annotations

import glob
import os
import re

import pytest
import yaml
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


def resolve(text, variables):
    return VARIABLE.sub(lambda match: str(variables[match.group(1)]["default"]), text)


def test_bundle_has_the_include_and_both_targets(bundle):
    assert bundle["bundle"]["name"]
    assert bundle["include"] == ["resources/*.yml"]
    dev, prod = bundle["targets"]["dev"], bundle["targets"]["prod"]
    assert dev["mode"] == "development" and dev["default"] is True
    assert prod["mode"] == "production"
    for target in (dev, prod):
        assert set(target.get("variables", {})) <= set(bundle["variables"])


def test_every_variable_the_job_uses_is_declared_with_a_default(bundle, job_file):
    with open(job_file, encoding="utf-8") as handle:
        used = set(VARIABLE.findall(handle.read()))
    assert used and used <= set(bundle["variables"])
    assert all("default" in bundle["variables"][name] for name in used)


def test_job_loads_with_databricks_bundles(job_dict):
    job = Job.from_dict(job_dict)
    assert job.max_concurrent_runs == 1
    assert job.queue.enabled is True
    (task,) = job.tasks
    assert task.job_cluster_key == job.job_clusters[0].job_cluster_key
    coordinates = [library.maven.coordinates for library in task.libraries if library.maven]
    assert len(coordinates) == 1
    assert coordinates[0].startswith("com.azure.cosmos.spark:azure-cosmos-spark_3-5_2-12:")


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


def test_entry_point_accepts_the_resolved_defaults(bundle, job_dict):
    """What a run started with no overrides passes to train_als.py parses (cosmos mode, the default identity)."""
    argv = [f"--{item['name']}={resolve(item['default'], bundle['variables'])}" for item in job_dict["parameters"]]
    config = parse_args(argv)
    assert config.io_mode == "cosmos" and config.cosmos.auth_type == "MasterKey"
    assert config.params.to_json() == TrainingParams().to_json()
