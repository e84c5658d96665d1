"""Hand-written fakes of the Trainer port, and a clock tests move by hand.

`FakeRuns` is the remote side (a Databricks workspace, say): it outlives one `FakeTrainer`, the way a workspace
outlives a crashed functions host, and is idempotent on the request id like run-now's idempotency token."""
from __future__ import annotations

import itertools
import time

from shared.domain.training import FAILED, PENDING, RUNNING, SUCCEEDED, RunStatus, TrainingRequest


class FakeClock:
    def __init__(self, now: float | None = None):
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeRuns:
    """Runs started, by run id; every submit call seen, by idempotency token."""

    def __init__(self):
        self.status: dict[str, RunStatus] = {}
        self.by_token: dict[str, str] = {}
        self.parameters: dict[str, TrainingRequest] = {}
        self.tokens_seen: list[str] = []       # one entry per submit call, whether it worked or not
        self._numbers = itertools.count(1001)

    def start(self, request: TrainingRequest) -> str:
        if request.id not in self.by_token:
            run_id = str(next(self._numbers))
            self.by_token[request.id] = run_id
            self.status[run_id] = RunStatus(PENDING)
            self.parameters[run_id] = request
        return self.by_token[request.id]

    @property
    def started(self) -> int:
        return len(self.status)

    def run_for(self, request_id: str) -> str:
        return self.by_token[request_id]

    def running(self, run_id: str) -> None:
        self.status[run_id] = RunStatus(RUNNING)

    def succeed(self, run_id: str) -> None:
        self.status[run_id] = RunStatus(SUCCEEDED)

    def fail(self, run_id: str, message: str) -> None:
        self.status[run_id] = RunStatus(FAILED, message)


class FakeTrainer:
    """The Trainer port. Set `submit_error` (raised by every submit until cleared), `crash_after_start` (the run
    is started, then the caller dies before it learns the run id), `status_error`, or `while_submitting` (called
    once, after the run started and before submit returns: something else happening meanwhile)."""

    name = "fake"

    def __init__(self, runs: FakeRuns | None = None):
        self.runs = runs or FakeRuns()
        self.submit_error: BaseException | None = None
        self.crash_after_start = False
        self.status_error: BaseException | None = None
        self.while_submitting = None

    def submit(self, request: TrainingRequest) -> str:
        self.runs.tokens_seen.append(request.id)
        if self.submit_error is not None:
            raise self.submit_error
        run_id = self.runs.start(request)
        if self.crash_after_start:
            raise RuntimeError("the worker died after run-now reached the trainer")
        meanwhile, self.while_submitting = self.while_submitting, None
        if meanwhile is not None:
            meanwhile()
        return run_id

    def status(self, run_id: str) -> RunStatus:
        if self.status_error is not None:
            raise self.status_error
        return self.runs.status[run_id]
