"""Training requests and the trainer port. A request is recorded (outbox) before it is submitted; its id is
deterministic and doubles as the Databricks idempotency token (at most 64 characters), so a repeated change
feed batch, or a crash between recording and submitting, can never start two runs."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from shared.domain.training_params import TrainingParams

# Run states as a trainer reports them.
PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
MAX_TOKEN_LENGTH = 64


def job_parameters(model_version: str, params: TrainingParams) -> dict[str, str]:
    """What a training run receives (Databricks job parameters are strings): the version to write, the params."""
    values = {"model_version": model_version}
    values.update({name: str(value) for name, value in params.to_json().items()})
    return values


def request_id(window: str) -> str:
    """A deterministic id for one retrain window (e.g. 'orders:1200' or 'manual:<client id>')."""
    digest = hashlib.sha256(window.encode()).hexdigest()[:40]
    return f"train-{digest}"


def model_version_for(request_id_value: str, requested_at: str) -> str:
    """`20240101T120000Z-<8 hex>`: sortable by time, unique per request, valid for model_docs.valid_version."""
    stamp = requested_at[:19].replace("-", "").replace(":", "")
    return f"{stamp}Z-{hashlib.sha256(request_id_value.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class TrainingRequest:
    id: str
    model_version: str
    params: TrainingParams = field(default_factory=TrainingParams)


@dataclass(frozen=True)
class RunStatus:
    state: str                    # PENDING | RUNNING | SUCCEEDED | FAILED
    message: str | None = None    # why it failed, in words a person can act on
    details: dict | None = None


class Trainer(Protocol):
    """Starts training runs and reports on them; never blocks waiting for a run to finish.

    submit() is idempotent on request.id: submitting the same request again returns the same run id.
    Errors: UnavailableError when a retry later may succeed (throttled, down, timed out),
    PermanentFailureError when it will not (bad job id, no permission)."""

    name: str

    def submit(self, request: TrainingRequest) -> str: ...

    def status(self, run_id: str) -> RunStatus: ...
