import json
import os

import pytest

from shared.config import Settings
from shared.domain.errors import ConfigurationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_defaults_work_offline():
    settings = Settings.from_env({})
    assert settings.store_backend == "sqlite" and settings.cosmos_consistency_level == "Session"


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(Exception):
        settings.store_backend = "cosmos"


@pytest.mark.parametrize("env, named", [
    ({"STORE_BACKEND": "mongo"}, "STORE_BACKEND"),
    ({"STORE_BACKEND": "cosmos"}, "COSMOS_ENDPOINT"),
    ({"COSMOS_CONSISTENCY_LEVEL": "Sometimes"}, "COSMOS_CONSISTENCY_LEVEL"),
    ({"RETRAIN_MIN_NEW_ORDERS": "many"}, "RETRAIN_MIN_NEW_ORDERS"),
    ({"RETRAIN_MIN_NEW_ORDERS": "-1"}, "RETRAIN_MIN_NEW_ORDERS"),
    ({"RETRAIN_MIN_NEW_ORDERS": "30001"}, "RETRAIN_MIN_NEW_ORDERS"),
    ({"COSMOS_CREATE_IF_MISSING": "perhaps"}, "COSMOS_CREATE_IF_MISSING"),
    ({"TRAINER_BACKEND": "databricks"}, "DATABRICKS_TRAIN_JOB_ID"),
])
def test_bad_settings_fail_with_one_line_naming_the_setting(env, named):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(env)
    assert named in raised.value.message and "\n" not in raised.value.message


def test_secrets_never_in_repr():
    settings = Settings.from_env({"COSMOS_KEY": "cosmos-secret", "LOCAL_ADMIN_KEY": "admin-secret",
                                  "DATABRICKS_TOKEN": "dapi-secret", "LOCAL_FUNCTION_KEY": "fn-secret"})
    shown = repr(settings) + str(settings)
    for secret in ("cosmos-secret", "admin-secret", "dapi-secret", "fn-secret"):
        assert secret not in shown


def test_sample_settings_document_every_setting():
    with open(os.path.join(ROOT, "local.settings.sample.json"), encoding="utf-8") as handle:
        values = json.load(handle)["Values"]
    assert set(Settings.env_names()) <= set(values)
    assert Settings.from_env(values).store_backend == "sqlite"
