"""The Databricks trainer: starts the training job with the Jobs API (`jobs.run_now`, idempotent on the request id)
and reports on a run (`jobs.get_run`). It never waits for a run: a timer polls status().

Vendor errors become UnavailableError (throttled, down, timed out: retry later with the same request id) or
PermanentFailureError (unknown job or run, no permission, bad credentials: retrying will not help until someone
fixes the configuration). Messages carry the server's words, never a token."""
from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk import errors as dbx
from databricks.sdk.clock import Clock
from databricks.sdk.config import Config
from databricks.sdk.credentials_provider import CredentialsStrategy

from shared.domain.errors import ConfigurationError, DomainError, PermanentFailureError, UnavailableError
from shared.domain.training import FAILED, PENDING, RUNNING, SUCCEEDED, RunStatus, TrainingRequest, job_parameters

AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"  # the Azure Databricks resource
# run-now and runs/get answer in well under a second; 10 s per HTTP attempt is generous. The SDK retries 429/503
# (after Retry-After), connection errors and timeouts until retry_timeout_seconds (its default is 300 s): 20 s rides
# out a short throttling burst inside one trigger or timer invocation, and a workspace that is down costs a caller
# about 20-30 s, not minutes; the reconciler resubmits later with the same idempotency token.
HTTP_TIMEOUT_SECONDS = 10.0
RETRY_TIMEOUT_SECONDS = 20

_RETRYABLE = (dbx.TooManyRequests, dbx.TemporarilyUnavailable, dbx.DeadlineExceeded, dbx.InternalError,
              dbx.Aborted, dbx.Cancelled)
_PERMANENT = (dbx.BadRequest, dbx.Unauthenticated, dbx.PermissionDenied, dbx.NotFound, dbx.ResourceConflict,
              dbx.NotImplemented)
_SECRETS = ((re.compile(r"(?i)\b(bearer\s+)\S+"), r"\1***"), (re.compile(r"\bdapi[0-9a-f]{8,}(-\d+)?"), "dapi***"))


class _WaitBeyondBudget(Exception):
    """Raised by _BudgetClock inside the SDK's retry loop; the error being retried is its __context__."""


class _BudgetClock(Clock):
    """The SDK sleeps the whole Retry-After before it looks at its retry deadline, so a `Retry-After: 300` would
    hold the caller for five minutes. Refuse any single wait longer than the whole retry budget instead (the
    SDK's own backoff waits at most 11 s, so with the default budget only a long Retry-After is refused)."""

    def __init__(self, budget_seconds: float):
        self._budget = budget_seconds

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > self._budget:
            raise _WaitBeyondBudget(f"will not wait {seconds:.1f} s to retry")
        time.sleep(seconds)


class AzureTokenCredentials(CredentialsStrategy):
    """Sends `Authorization: Bearer <Azure AD token for Azure Databricks>` from any azure-core TokenCredential
    (ManagedIdentityCredential in Azure; the SDK has no managed-identity strategy of its own). Tokens are reused
    until `refresh_margin_seconds` before they expire."""

    def __init__(self, credential: Any, scope: str = AZURE_DATABRICKS_SCOPE, refresh_margin_seconds: float = 300):
        self._credential, self._scope, self._margin = credential, scope, refresh_margin_seconds
        self._token: Any = None
        self._lock = threading.Lock()

    def auth_type(self) -> str:
        return "azure-token-credential"

    def __call__(self, cfg: Config) -> Callable[[], dict[str, str]]:
        return self.headers

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._token.expires_on - time.time() < self._margin:
                self._token = self._fetch()
            return {"Authorization": f"Bearer {self._token.token}"}

    def _fetch(self) -> Any:
        try:
            return self._credential.get_token(self._scope)
        except Exception as err:
            from azure.core.exceptions import ClientAuthenticationError  # CredentialUnavailableError is one too
            text = f"no Azure AD token for Azure Databricks ({type(err).__name__}: {_scrub(str(err))})"
            if isinstance(err, ClientAuthenticationError):  # no identity here, or not allowed: a config problem
                raise PermanentFailureError(text) from err
            raise UnavailableError(text) from err


def _scrub(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _translate(err: BaseException, action: str) -> DomainError | None:
    """The vendor exception as a domain error, or None when it is not one we understand (a bug: re-raise)."""
    if isinstance(err, DomainError):
        return err
    cause, prefix = err, f"Databricks {action}"
    if isinstance(err, _WaitBeyondBudget):
        cause, prefix = err.__context__ or err, f"Databricks {action}: gave up retrying"
    elif isinstance(err, TimeoutError) and not isinstance(err, dbx.DatabricksError):  # the SDK's retries ran out
        cause, prefix = err.__cause__ or err, f"Databricks {action}: gave up retrying"
    retry_after = getattr(cause, "retry_after_secs", None)
    text = _scrub(f"{prefix}: {type(cause).__name__}: {cause}")
    if retry_after is not None:
        text += f" (Retry-After: {retry_after} s)"
    if isinstance(cause, _RETRYABLE):
        return UnavailableError(text, retry_after=retry_after)
    if isinstance(cause, _PERMANENT):
        return PermanentFailureError(text, {"error_code": getattr(cause, "error_code", None)})
    if isinstance(cause, (dbx.DatabricksError, requests.RequestException, TimeoutError, _WaitBeyondBudget)):
        return UnavailableError(text)  # an unmapped status (a gateway's 502), connection refused, read timeout
    if isinstance(cause, ValueError):  # the SDK's Config refused the settings (no host, no usable credentials)
        return PermanentFailureError(text)
    return None


def _name(value: Any) -> str | None:
    return getattr(value, "value", value) or None


def run_status(run: Any) -> RunStatus:
    """Map a jobs.Run to a RunStatus: `status` (Jobs API 2.2) when present, else the older `state`."""
    status, legacy = run.status, run.state
    term = status.termination_details if status else None
    state = _name(status.state) if status else None
    life = _name(legacy.life_cycle_state) if legacy else None
    result = _name(legacy.result_state) if legacy else None
    code, kind = (_name(term.code), _name(term.type)) if term else (None, None)
    text = (term.message if term else None) or (legacy.state_message if legacy else None) or None
    current = state or life
    if current in ("RUNNING", "TERMINATING"):
        mapped = RUNNING
    elif current == "TERMINATED":
        mapped = SUCCEEDED if (code or result) == "SUCCESS" else FAILED
    elif current in ("SKIPPED", "INTERNAL_ERROR"):
        mapped = FAILED
    else:  # QUEUED, PENDING, BLOCKED, WAITING, WAITING_FOR_RETRY, or a state this SDK does not know yet
        mapped = PENDING
    labels = [label for label in (code, kind) if label and label != "SUCCESS"]
    if mapped == FAILED and not labels and result:
        labels = [result]
    if mapped == FAILED and not text:
        text = "the Databricks run failed without a message"
    message = f"{text} ({', '.join(labels)})" if text and labels else text
    details = {"run_id": run.run_id, "state": state, "life_cycle_state": life, "result_state": result,
               "termination_code": code, "termination_type": kind, "run_page_url": run.run_page_url}
    return RunStatus(mapped, message, {key: value for key, value in details.items() if value is not None})


class DatabricksTrainer:
    """The Trainer port on a Databricks job. Pass a WorkspaceClient, or `connect` to build one on first use."""

    name = "databricks"

    def __init__(self, workspace_client: WorkspaceClient | None = None, job_id: int = 0, *,
                 connect: Callable[[], WorkspaceClient] | None = None):
        if (workspace_client is None) == (connect is None):
            raise ValueError("pass exactly one of workspace_client and connect")
        if not job_id:
            raise ConfigurationError("DATABRICKS_TRAIN_JOB_ID is required for the Databricks trainer")
        self._client, self._connect, self._job_id = workspace_client, connect, int(job_id)
        self._lock = threading.Lock()

    def _workspace(self) -> WorkspaceClient:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()  # not cached when it fails: the next call tries again
        return self._client

    def _call(self, action: str, work: Callable[[WorkspaceClient], Any]) -> Any:
        try:
            return work(self._workspace())
        except Exception as err:
            mapped = _translate(err, action)
            if mapped is None or mapped is err:
                raise
            raise mapped from err

    def submit(self, request: TrainingRequest) -> str:
        """Start the job (or find the run this request already started) and return its run id at once."""
        parameters = job_parameters(request.model_version, request.params)
        waiter = self._call(f"run-now of job {self._job_id}", lambda w: w.jobs.run_now(
            job_id=self._job_id, job_parameters=parameters, idempotency_token=request.id))
        return str(waiter.run_id)  # the run id is in the run-now response; never call waiter.result()

    def status(self, run_id: str) -> RunStatus:
        try:
            number = int(run_id)
        except (TypeError, ValueError):
            raise PermanentFailureError(f"{run_id!r} is not a Databricks run id") from None
        return run_status(self._call(f"runs/get of run {number}", lambda w: w.jobs.get_run(number)))


def workspace_client(host: str, *, token: str | None = None, credentials_strategy: CredentialsStrategy | None = None,
                     http_timeout_seconds: float = HTTP_TIMEOUT_SECONDS,
                     retry_timeout_seconds: float = RETRY_TIMEOUT_SECONDS) -> WorkspaceClient:
    """A WorkspaceClient that gives up quickly. Without token or strategy the SDK's default chain applies
    (DATABRICKS_* and ARM_* variables, Azure CLI). Note Config() itself asks the host for its metadata."""
    budget = max(1, round(retry_timeout_seconds))  # the SDK reads 0 as "the default", 300 s
    config = Config(host=host, token=token, credentials_strategy=credentials_strategy, clock=_BudgetClock(budget),
                    http_timeout_seconds=http_timeout_seconds, retry_timeout_seconds=budget)
    return WorkspaceClient(config=config)


def build_databricks_trainer(settings: Any, credentials_provider: Any = None, *,
                             http_timeout_seconds: float = HTTP_TIMEOUT_SECONDS,
                             retry_timeout_seconds: float = RETRY_TIMEOUT_SECONDS) -> DatabricksTrainer:
    """The trainer from Settings; the client is built on first use. With DATABRICKS_AUTH=managed-identity the
    token comes from `credentials_provider` (an azure-core TokenCredential; tests pass a fake) or, by default,
    ManagedIdentityCredential (user-assigned when DATABRICKS_MANAGED_IDENTITY_CLIENT_ID is set)."""
    if not settings.databricks_host:
        raise ConfigurationError("DATABRICKS_HOST is required when TRAINER_BACKEND=databricks")
    limits = {"http_timeout_seconds": http_timeout_seconds, "retry_timeout_seconds": retry_timeout_seconds}

    def connect() -> WorkspaceClient:
        if settings.databricks_auth == "managed-identity":
            credential = credentials_provider
            if credential is None:
                from azure.identity import ManagedIdentityCredential
                client_id = settings.databricks_managed_identity_client_id or None
                credential = ManagedIdentityCredential(client_id=client_id)
            return workspace_client(settings.databricks_host, credentials_strategy=AzureTokenCredentials(credential),
                                    **limits)
        return workspace_client(settings.databricks_host, token=settings.databricks_token or None, **limits)

    return DatabricksTrainer(job_id=settings.databricks_train_job_id, connect=connect)
