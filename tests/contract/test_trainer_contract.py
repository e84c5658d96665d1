"""One contract for the Trainer port; the local trainer and the Databricks trainer (the SDK's real HTTP code
against a local server that answers the Jobs API) both pass it."""
from __future__ import annotations

import time

import pytest
from databricks.sdk import WorkspaceClient

from shared.adapters.databricks_trainer import DatabricksTrainer
from shared.adapters.local_trainer import LocalTrainer
from shared.adapters.sqlite_store import SqliteStore
from shared.domain.training import FAILED, PENDING, RUNNING, SUCCEEDED, TrainingRequest
from tests.builders import SMALL, clustered_orders, store_orders
from tests.fakes.databricks_jobs_api import FakeJobsApi

JOB_ID = 4242


class LocalSide:
    """The local trainer: runs finish by themselves; a run fails when there is nothing to train on."""

    def __init__(self, tmp_path, with_orders: bool = True):
        self.store = SqliteStore(str(tmp_path / "trainer.sqlite3"))
        if with_orders:
            store_orders(self.store, clustered_orders(users=20, products=12))
        self.trainer = LocalTrainer(self.store)

    def finish(self, run_id: str, succeed: bool) -> None:
        self.trainer.wait(60)

    def close(self) -> None:
        self.trainer.close()
        self.store.close()


class DatabricksSide:
    """The Databricks trainer: a run finishes when the (fake) workspace says so."""

    def __init__(self, tmp_path, with_orders: bool = True):
        self.api = FakeJobsApi(job_ids=[JOB_ID]).start()
        self.trainer = DatabricksTrainer(WorkspaceClient(host=self.api.url, token=self.api.token), JOB_ID)

    def finish(self, run_id: str, succeed: bool) -> None:
        if succeed:
            self.api.succeed_run(int(run_id))
        else:
            self.api.fail_run(int(run_id))

    def close(self) -> None:
        self.api.stop()


SIDES = {"local": LocalSide, "databricks": DatabricksSide}


@pytest.fixture(params=sorted(SIDES))
def side(request, tmp_path):
    made = SIDES[request.param](tmp_path)
    yield made
    made.close()


def request_for(suffix: str) -> TrainingRequest:
    return TrainingRequest(f"train-contract-{suffix}", f"20240101T000000Z-{suffix}", SMALL)


def test_submit_returns_a_run_id_at_once_and_is_idempotent(side):
    request = request_for("aaaa0001")
    run_id = side.trainer.submit(request)
    assert isinstance(run_id, str) and run_id
    assert side.trainer.submit(request) == run_id
    assert side.trainer.status(run_id).state in (PENDING, RUNNING, SUCCEEDED)


def test_a_finished_run_reports_succeeded(side):
    run_id = side.trainer.submit(request_for("aaaa0002"))
    side.finish(run_id, succeed=True)
    deadline = time.time() + 60
    while side.trainer.status(run_id).state != SUCCEEDED and time.time() < deadline:
        time.sleep(0.1)
    assert side.trainer.status(run_id).state == SUCCEEDED


def test_two_requests_are_two_runs(side):
    first = side.trainer.submit(request_for("aaaa0003"))
    second = side.trainer.submit(request_for("aaaa0004"))
    assert first != second


@pytest.fixture(params=sorted(SIDES))
def failing_side(request, tmp_path):
    """A side whose next run fails: no orders to train on locally, a failing task on Databricks."""
    made = SIDES[request.param](tmp_path, with_orders=False)
    yield made
    made.close()


def test_a_failed_run_reports_failed_with_a_reason(failing_side):
    run_id = failing_side.trainer.submit(request_for("aaaa0005"))
    failing_side.finish(run_id, succeed=False)
    status = failing_side.trainer.status(run_id)
    assert status.state == FAILED and status.message


def test_the_name_is_the_backend(side):
    assert side.trainer.name in ("local", "databricks")
