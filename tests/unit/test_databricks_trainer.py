"""The Databricks trainer through databricks-sdk's real HTTP, retry and error code, against a fake workspace
(tests/fakes/databricks_jobs_api.py). No network, no real workspace; the slowest test takes about three seconds."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ServiceRequestError
from azure.identity import CredentialUnavailableError
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue

from shared.adapters.databricks_trainer import (AZURE_DATABRICKS_SCOPE, AzureTokenCredentials, DatabricksTrainer,
                                                _translate, build_databricks_trainer, workspace_client)
from shared.config import Settings
from shared.domain.errors import ConfigurationError, PermanentFailureError, UnavailableError
from shared.domain.training import (FAILED, PENDING, RUNNING, SUCCEEDED, TrainingRequest, job_parameters,
                                    model_version_for, request_id)
from shared.domain.training_params import TrainingParams
from tests.fakes.databricks_jobs_api import FakeJobsApi

JOB_ID = 123
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def no_ambient_databricks_config(monkeypatch, tmp_path):
    """The SDK also reads DATABRICKS_*/ARM_* variables and ~/.databrickscfg; keep the machine's out."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "absent.databrickscfg"))


@pytest.fixture
def api():
    with FakeJobsApi(job_ids=[JOB_ID]) as fake:
        yield fake


def make_request(window: str = "orders:100", **params) -> TrainingRequest:
    rid = request_id(window)
    return TrainingRequest(rid, model_version_for(rid, "2024-05-01T12:00:00Z"), TrainingParams(**params))


def trainer_for(api: FakeJobsApi, job_id: int = JOB_ID) -> DatabricksTrainer:
    """A trainer on a plain WorkspaceClient, as a caller would build one."""
    return DatabricksTrainer(WorkspaceClient(host=api.url, token=api.token), job_id)


def fast_trainer(api_or_url, token: str | None = None, http: float = 1.0, retry: float = 1) -> DatabricksTrainer:
    """A trainer whose client gives up within about a second (the production limits are 10 s / 20 s)."""
    url = api_or_url if isinstance(api_or_url, str) else api_or_url.url
    token = token or getattr(api_or_url, "token", None)
    return DatabricksTrainer(workspace_client(url, token=token, http_timeout_seconds=http,
                                              retry_timeout_seconds=retry), JOB_ID)


def settings_for(url: str, **extra: str) -> Settings:
    env = {"TRAINER_BACKEND": "databricks", "DATABRICKS_HOST": url, "DATABRICKS_TRAIN_JOB_ID": str(JOB_ID)}
    env.update(extra)
    return Settings.from_env(env)


# ---- submit -------------------------------------------------------------------------------------------------

def test_submit_returns_the_run_id_at_once_without_waiting_for_the_run(api):
    trainer = trainer_for(api)
    request = make_request()
    assert trainer.name == "databricks"
    run_id = trainer.submit(request)
    assert run_id == "1001"
    [call] = api.calls("jobs/run-now")
    assert call.path == "/api/2.2/jobs/run-now" and call.authorized
    assert call.body["job_id"] == JOB_ID and call.idempotency_token == request.id
    assert api.calls("jobs/runs/get") == []          # never polls inside submit
    assert api.runs[1001].state == "PENDING"


def test_the_same_request_twice_starts_one_run(api):
    trainer, request = trainer_for(api), make_request()
    assert trainer.submit(request) == trainer.submit(request)
    assert [call.idempotency_token for call in api.calls("jobs/run-now")] == [request.id, request.id]
    assert api.runs_started == 1
    assert trainer.submit(make_request("orders:200")) == "1002"
    assert api.runs_started == 2


def test_job_parameters_arrive_as_the_strings_of_job_parameters(api):
    request = make_request(factors=32, regularization=0.1)
    trainer_for(api).submit(request)
    sent = api.calls("jobs/run-now")[0].body["job_parameters"]
    assert sent == job_parameters(request.model_version, request.params)
    assert sent["model_version"] == request.model_version and sent["factors"] == "32"
    assert all(isinstance(value, str) for value in sent.values())


# ---- throttling, outages, timeouts ----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [429, 503])
def test_a_short_throttle_is_ridden_out_by_the_sdk_retry(api, status):
    api.fail_next(1, status, retry_after=1)
    request = make_request()
    assert fast_trainer(api, retry=5).submit(request) == "1001"
    calls = api.calls("jobs/run-now")
    assert [call.status for call in calls] == [status, 200]
    assert {call.idempotency_token for call in calls} == {request.id}
    assert api.runs_started == 1


def test_a_retry_after_longer_than_the_budget_fails_fast_and_a_later_retry_submits_once(api):
    api.fail_next(1, 429, retry_after=120)
    trainer, request = fast_trainer(api, retry=5), make_request()
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        trainer.submit(request)
    assert time.monotonic() - started < 2            # did not sleep the two minutes
    assert caught.value.retry_after == 120
    assert api.runs_started == 0
    assert trainer.submit(request) == "1001"          # the reconciler's later retry
    assert api.runs_started == 1


def test_unavailable_for_longer_than_the_budget_is_unavailable_then_recovers(api):
    api.fail_for(30, 503, retry_after=1)
    trainer, request = fast_trainer(api, retry=1), make_request()
    with pytest.raises(UnavailableError) as caught:
        trainer.submit(request)
    assert "TemporarilyUnavailable" in caught.value.message
    api.clear_faults()
    assert trainer.submit(request) == trainer.submit(request) == "1001"
    assert api.runs_started == 1


@pytest.mark.parametrize("status", [500, 504])
def test_server_errors_are_unavailable(api, status):
    api.fail_next(1, status, retry_after=None)
    with pytest.raises(UnavailableError):
        fast_trainer(api).submit(make_request())
    assert api.runs_started == 0


def test_a_timeout_is_unavailable_and_the_retry_finds_the_run_the_server_started(api):
    api.delay_next(1.5)
    trainer, request = fast_trainer(api, http=0.5, retry=1), make_request()
    with pytest.raises(UnavailableError) as caught:
        trainer.submit(request)
    assert "Timeout" in caught.value.message or "timed out" in caught.value.message.lower()
    deadline = time.monotonic() + 3                   # the server still handles the slow request
    while api.runs_started == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.runs_started == 1
    assert trainer.submit(request) == "1001"          # same idempotency token: no second run
    assert api.runs_started == 1


def test_a_down_workspace_fails_fast_and_building_the_trainer_does_no_io():
    with socket.socket() as probe:                    # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    trainer = build_databricks_trainer(settings_for(url, DATABRICKS_TOKEN="t"), http_timeout_seconds=1,
                                       retry_timeout_seconds=1)
    assert time.monotonic() - started < 0.5
    with pytest.raises(UnavailableError):
        trainer.submit(make_request())
    assert time.monotonic() - started < 10


# ---- permanent failures ---------------------------------------------------------------------------------------

def test_a_wrong_token_is_a_permanent_failure_and_the_token_is_not_in_the_message(api):
    wrong = "dapi0123456789abcdef0123456789abcdef"
    with pytest.raises(PermanentFailureError) as caught:
        fast_trainer(api, token=wrong, retry=5).submit(make_request())
    assert "Unauthenticated" in caught.value.message
    assert wrong not in str(caught.value) and wrong not in repr(caught.value.details)
    assert len(api.calls("jobs/run-now")) == 1        # not retried
    assert api.runs_started == 0


@pytest.mark.parametrize("missing_status", [400, 404])
def test_an_unknown_job_is_a_permanent_failure(missing_status):
    with FakeJobsApi(job_ids=[JOB_ID], missing_status=missing_status) as api:
        with pytest.raises(PermanentFailureError) as caught:
            trainer_for(api, job_id=999).submit(make_request())
    assert "Job 999 does not exist" in caught.value.message


def test_status_of_an_unknown_or_malformed_run_is_a_permanent_failure(api):
    with pytest.raises(PermanentFailureError, match="Run 4242 does not exist"):
        trainer_for(api).status("4242")
    with pytest.raises(PermanentFailureError, match="not a Databricks run id"):
        trainer_for(api).status("run-abc")


def test_the_job_id_is_required():
    with pytest.raises(ConfigurationError):
        DatabricksTrainer(object(), 0)


def test_tokens_are_scrubbed_from_server_messages():
    err = InvalidParameterValue("bad header Authorization: Bearer eyJhbGciOi.secret and dapi0123456789abcdef")
    mapped = _translate(err, "run-now")
    assert isinstance(mapped, PermanentFailureError)
    assert "eyJhbGciOi" not in mapped.message and "dapi0123456789abcdef" not in mapped.message


# ---- status ------------------------------------------------------------------------------------------------------

STATUS_CASES = {
    "new": (lambda api, run: None, PENDING, None),
    "queued": (lambda api, run: api.queue_run(run), PENDING, "Queued"),
    "running": (lambda api, run: api.start_run(run), RUNNING, None),
    "terminating": (lambda api, run: api.set_run(run, "TERMINATING", "SUCCESS", "SUCCESS"), RUNNING, None),
    "succeeded": (lambda api, run: api.succeed_run(run), SUCCEEDED, None),
    "failed": (lambda api, run: api.fail_run(run, "Task train failed with message: out of memory."), FAILED,
               "out of memory"),
    "cancelled": (lambda api, run: api.set_run(run, "TERMINATED", "USER_CANCELED", "SUCCESS", "Cancelled by x."),
                  FAILED, "Cancelled by x."),
}


@pytest.mark.parametrize("include_status", [True, False], ids=["status", "legacy-state-only"])
@pytest.mark.parametrize("case", list(STATUS_CASES))
def test_status_maps_run_states(case, include_status):
    move, expected, fragment = STATUS_CASES[case]
    with FakeJobsApi(job_ids=[JOB_ID], include_status=include_status) as api:
        trainer = trainer_for(api)
        run_id = trainer.submit(make_request())
        move(api, run_id)
        status = trainer.status(run_id)
    assert status.state == expected
    assert status.details["run_id"] == int(run_id)
    if fragment:
        assert fragment in status.message
    if case == "failed":
        assert ("RUN_EXECUTION_ERROR" if include_status else "FAILED") in status.message


def test_runs_get_is_called_with_the_numeric_run_id(api):
    trainer = trainer_for(api)
    trainer.status(trainer.submit(make_request()))
    [call] = api.calls("jobs/runs/get")
    assert call.path == "/api/2.2/jobs/runs/get" and call.query == {"run_id": "1001"}


# ---- managed identity and the factory ---------------------------------------------------------------------------

class FakeTokenCredential:
    """A hand-written azure-core TokenCredential."""

    def __init__(self, token: str = "aad-token", lifetime: int = 3600, error: Exception | None = None):
        self.token, self.lifetime, self.error = token, lifetime, error
        self.scopes_asked: list[tuple] = []

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        self.scopes_asked.append(scopes)
        if self.error:
            raise self.error
        return AccessToken(self.token, int(time.time()) + self.lifetime)


def test_the_managed_identity_strategy_sends_a_bearer_token_for_the_databricks_resource():
    credential = FakeTokenCredential("aad-token")
    with FakeJobsApi(token="aad-token", job_ids=[JOB_ID]) as api:
        client = WorkspaceClient(host=api.url, credentials_strategy=AzureTokenCredentials(credential))
        trainer = DatabricksTrainer(client, JOB_ID)
        trainer.status(trainer.submit(make_request()))
        assert all(call.authorized for call in api.calls(""))
    assert credential.scopes_asked == [("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default",)]  # one token, reused
    assert AZURE_DATABRICKS_SCOPE == "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"


def test_the_token_is_renewed_shortly_before_it_expires():
    credential = FakeTokenCredential(lifetime=60)
    strategy = AzureTokenCredentials(credential, refresh_margin_seconds=300)
    assert strategy.headers() == {"Authorization": "Bearer aad-token"}
    strategy.headers()
    assert len(credential.scopes_asked) == 2


@pytest.mark.parametrize("error, expected", [
    (CredentialUnavailableError("ManagedIdentityCredential authentication unavailable"), PermanentFailureError),
    (ServiceRequestError("connection reset"), UnavailableError),
])
def test_credential_failures_are_mapped(api, error, expected):
    trainer = build_databricks_trainer(settings_for(api.url, DATABRICKS_AUTH="managed-identity"),
                                       FakeTokenCredential(error=error))
    with pytest.raises(expected):
        trainer.submit(make_request())
    assert api.runs_started == 0


def test_the_factory_with_managed_identity_submits_through_the_fake():
    with FakeJobsApi(token="aad-token", job_ids=[JOB_ID]) as api:
        settings = settings_for(api.url, DATABRICKS_AUTH="managed-identity",
                                DATABRICKS_MANAGED_IDENTITY_CLIENT_ID="00000000-0000-0000-0000-000000000001")
        trainer = build_databricks_trainer(settings, FakeTokenCredential("aad-token"))
        assert trainer.submit(make_request()) == "1001"
        assert api.calls("jobs/run-now")[0].authorized


def test_the_factory_defaults_to_managed_identity_credential_without_fetching_a_token(api):
    trainer = build_databricks_trainer(settings_for(api.url, DATABRICKS_AUTH="managed-identity"))
    client = trainer._workspace()                     # builds the client; a token is fetched only per request
    assert client.config.auth_type == "azure-token-credential"
    assert api.calls("") == []


def test_the_factory_with_a_token_is_lazy_and_submits(api):
    trainer = build_databricks_trainer(settings_for(api.url, DATABRICKS_TOKEN=api.token))
    assert api.requests == []                          # nothing built, nothing sent yet
    assert trainer.submit(make_request()) == "1001"


def test_the_factory_needs_a_host():
    with pytest.raises(ConfigurationError, match="DATABRICKS_HOST"):
        build_databricks_trainer(Settings.from_env({"DATABRICKS_TRAIN_JOB_ID": "1"}))


# ---- the fake as its own process -----------------------------------------------------------------------------------

def test_the_fake_runs_as_a_standalone_process():
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.databricks_jobs_api", "--port", "0",
                                "--token", "standalone-token", "--job-id", str(JOB_ID)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        trainer = DatabricksTrainer(WorkspaceClient(host=url, token="standalone-token"), JOB_ID)
        run_id = trainer.submit(make_request())
        control = WorkspaceClient(host=url, token="standalone-token").api_client
        control.do("POST", f"/_fake/runs/{run_id}", body={"state": "TERMINATED", "code": "SUCCESS",
                                                          "type": "SUCCESS"})
        assert trainer.status(run_id).state == SUCCEEDED
    finally:
        process.terminate()
        process.wait(timeout=5)
