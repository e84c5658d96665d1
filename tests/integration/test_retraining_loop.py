"""The retraining loop end to end through the real local host (`manage.py serve` in a subprocess): orders posted
over HTTP reach `on_orders_changed` through the SQLite change feed, `reconcile_training` runs on its NCRONTAB
schedule, and the result is read back through the admin API and the recommendations.

With the local trainer the host trains by itself. With TRAINER_BACKEND=databricks the host talks, through
databricks-sdk, to a fake Jobs API served from this test process; the test plays the Databricks job: it moves the
run and writes the model documents into the host's SQLite file, as the Spark job writes them into Cosmos DB."""
from __future__ import annotations

import time

import pytest

from shared.adapters.databricks_trainer import RETRY_TIMEOUT_SECONDS
from shared.adapters.local_trainer import train_model
from shared.adapters.sqlite_store import SqliteStore
from shared.domain.ports import LEASES, ORDERS
from shared.domain.training_params import TrainingParams
from shared.services.models import ModelRegistry
from tests.builders import clustered_orders, store_orders
from tests.fakes.databricks_jobs_api import FakeJobsApi
from tests.integration.localhost import ADMIN_KEY, ORDERS_LEASE_ID, LocalHostProcess, lease_position, wait_for

FAST = {"RETRAIN_MIN_INTERVAL_SECONDS": "0", "RECONCILE_SCHEDULE": "*/1 * * * * *", "MODEL_REFRESH_SECONDS": "0.5"}
LEASE_ID = ORDERS_LEASE_ID
JOB_ID = 4242
TOKEN = "dapi-e2e-test-token"
DATABRICKS_THRESHOLD = 20
# The acceptance speaks of Databricks answering 503 "for a minute". A 503 carries Retry-After (1 s when missing), so
# databricks-sdk retries it inside one submit for RETRY_TIMEOUT_SECONDS (20 s); only a longer outage reaches the
# outbox: the request stays pending, and the timer sends the same request id again after a growing wait (5 s, 10 s,
# 20 s, 40 s, ... retrain_policy.backoff_seconds). 25 s is the shortest outage that takes that path; a minute only
# means more attempts, and would push this test past a minute.
OUTAGE_SECONDS = RETRY_TIMEOUT_SECONDS + 5
SMALL_JOB = TrainingParams(factors=8, iterations=3)


def admin(host, method, path, body=None):
    return host.request(method, path, body, key=ADMIN_KEY)


def training_runs(host) -> list[dict]:
    status, body, _ = admin(host, "GET", "/api/manage/training-runs?limit=100")
    assert status == 200, body
    return body["items"]


def run_in_state(host, state):
    def check():
        items = training_runs(host)
        return items[0] if items and items[0]["state"] == state else None
    return check


def active_version(host) -> str | None:
    return admin(host, "GET", "/api/manage/models/active")[1]["activeVersion"]


def recommended_version(host, user: str) -> str | None:
    status, body, _ = host.request("GET", f"/api/users/{user}/recommendations")
    assert status == 200, body
    return body["modelVersion"]


def post_orders(host, count: int, prefix: str, users: list[str]) -> None:
    for number in range(count):
        status, body, _ = host.request("POST", "/api/orders", {
            "orderId": f"{prefix}-{number}", "userId": users[number % len(users)],
            "items": [{"productId": f"p{number % 40:03d}", "quantity": 1}]})
        assert status == 201, body



def orders_position(path: str) -> int:
    store = SqliteStore(path)
    try:
        return store.latest_sequence(ORDERS)
    finally:
        store.close()


# ---- the local trainer -----------------------------------------------------------------------------------------------

def test_fifty_new_orders_lead_to_a_new_active_model_on_the_local_host(tmp_path):
    path = str(tmp_path / "store.sqlite3")
    host = LocalHostProcess(path, {"RETRAIN_MIN_NEW_ORDERS": "50", **FAST}, args=("--demo",)).start(90)
    try:
        before = wait_for(lambda: active_version(host), 30, "the demo model is active", host)
        users = [f"demo-user-{n:04d}" for n in range(25)]
        assert recommended_version(host, users[0]) == before
        post_orders(host, 49, "below", users)
        last = orders_position(path)
        wait_for(lambda: lease_position(path) >= last, 20, "the trigger saw the 49 orders", host)
        time.sleep(1.5)                                   # and at least one reconcile tick went by
        assert training_runs(host) == [] and active_version(host) == before

        started = time.monotonic()
        post_orders(host, 1, "threshold", users)
        after = wait_for(lambda: (version := active_version(host)) != before and version, 30,
                         "a new model is active", host)
        took = time.monotonic() - started
        [request] = training_runs(host)
        assert request["state"] == "activated" and request["reason"] == "orders" and request["trainer"] == "local"
        assert request["modelVersion"] == after
        assert admin(host, "GET", "/api/manage/models/active")[1]["previousVersion"] == before
        wait_for(lambda: recommended_version(host, users[0]) == after, 10, "recommendations use the new model",
                 host)
        print(f"new model active {took:.1f} s after the 50th order")
    finally:
        host.stop()


# ---- Databricks through the fake Jobs API ----------------------------------------------------------------------------

@pytest.fixture
def jobs_api():
    with FakeJobsApi(token=TOKEN, job_ids=[JOB_ID]) as api:
        yield api


@pytest.fixture
def seeded(tmp_path):
    """A store with earlier orders and an active model trained on them, before the host starts."""
    path = str(tmp_path / "store.sqlite3")
    store = SqliteStore(path)
    bodies = clustered_orders()
    store_orders(store, bodies)
    version = "20240301T000000Z-e2e00001"
    train_model(store, version, SMALL_JOB)
    ModelRegistry(store).activate(version)
    store.close()
    return path, version, sorted({body["userId"] for body in bodies})


def databricks_host(path: str, api: FakeJobsApi) -> LocalHostProcess:
    return LocalHostProcess(path, {"TRAINER_BACKEND": "databricks", "DATABRICKS_HOST": api.url,
                                   "DATABRICKS_TOKEN": TOKEN, "DATABRICKS_TRAIN_JOB_ID": str(JOB_ID),
                                   "RETRAIN_MIN_NEW_ORDERS": str(DATABRICKS_THRESHOLD), **FAST})


def run_now_tokens(api: FakeJobsApi) -> list[str]:
    return [call.idempotency_token for call in api.calls("jobs/run-now")]


def test_databricks_one_run_per_window_even_redelivered_then_activated_when_its_manifest_is_stored(jobs_api, seeded):
    path, old_version, users = seeded
    host = databricks_host(path, jobs_api).start()
    try:
        post_orders(host, DATABRICKS_THRESHOLD, "window", users)
        request = wait_for(run_in_state(host, "submitted"), 20, "a training run is submitted", host)
        assert len(training_runs(host)) == 1 and jobs_api.runs_started == 1
        [run] = jobs_api.runs.values()
        assert request["runId"] == str(run.run_id) and request["trainer"] == "databricks"
        assert run.job_id == JOB_ID and run.job_parameters["model_version"] == request["modelVersion"]
        assert set(run_now_tokens(jobs_api)) == {request["id"]}
        assert jobs_api.calls("") and all(call.authorized for call in jobs_api.calls(""))

        # The host dies before it checkpoints: on restart the change feed delivers the same batch again.
        host.kill()
        store = SqliteStore(path)
        last = store.latest_sequence(ORDERS)
        store.upsert(LEASES, {"id": LEASE_ID, "continuation": 0, "owner": "devhost"})
        store.close()
        host = databricks_host(path, jobs_api).start()
        wait_for(lambda: lease_position(path) >= last, 20, "the batch was delivered again", host)
        time.sleep(1.5)                                   # and a reconcile tick went by
        assert [item["id"] for item in training_runs(host)] == [request["id"]]
        assert jobs_api.runs_started == 1 and set(run_now_tokens(jobs_api)) == {request["id"]}

        jobs_api.start_run(run.run_id)
        wait_for(run_in_state(host, "running"), 10, "the request follows the run to RUNNING", host)
        jobs_api.succeed_run(run.run_id)
        wait_for(run_in_state(host, "succeeded"), 10, "the run ended SUCCESS, no manifest yet", host)
        assert active_version(host) == old_version

        store = SqliteStore(path)                         # what the Databricks job writes, manifest last
        train_model(store, request["modelVersion"], SMALL_JOB)
        store.close()
        wait_for(run_in_state(host, "activated"), 10, "the model is activated", host)
        assert active_version(host) == request["modelVersion"]
        wait_for(lambda: recommended_version(host, users[0]) == request["modelVersion"], 10,
                 "recommendations use the new model", host)
        assert jobs_api.runs_started == 1 and "on_orders_changed failed" not in host.log()
    finally:
        host.stop()


def test_databricks_down_then_back_submits_once_and_a_failed_run_keeps_the_old_model(jobs_api, seeded):
    path, old_version, users = seeded
    host = databricks_host(path, jobs_api).start()
    try:
        jobs_api.fail_for(OUTAGE_SECONDS, status=503, retry_after=1)
        post_orders(host, DATABRICKS_THRESHOLD, "outage", users)
        pending = wait_for(lambda: next((item for item in training_runs(host) if item["attempts"] >= 1), None),
                           OUTAGE_SECONDS + 10, "a refused submission is recorded", host)
        assert pending["state"] == "pending" and "TemporarilyUnavailable" in pending["lastError"]
        assert pending["nextAttemptAt"] > pending["createdAt"]
        assert jobs_api.runs_started == 0

        request = wait_for(run_in_state(host, "submitted"), 30, "submitted after the outage", host)
        refused = [call for call in jobs_api.calls("jobs/run-now") if call.status == 503]
        assert request["id"] == pending["id"] and len(training_runs(host)) == 1
        assert jobs_api.runs_started == 1 and set(run_now_tokens(jobs_api)) == {request["id"]}
        assert len(refused) >= 2 and request["attempts"] >= 1 and request["lastError"] is None

        jobs_api.fail_run(request["runId"], "Task train failed with message: Py4JJavaError: out of memory.")
        failed = wait_for(lambda: (doc := admin(host, "GET", f"/api/manage/training-runs/{request['id']}")[1])
                          ["state"] == "failed" and doc, 10, "the request failed", host)
        assert "out of memory" in failed["error"] and "RUN_EXECUTION_ERROR" in failed["error"]
        assert active_version(host) == old_version
        assert recommended_version(host, users[0]) == old_version
        # RETRAIN_MIN_INTERVAL_SECONDS=0: the window is retried at once, under a new request id and token.
        retry = wait_for(lambda: next((item for item in training_runs(host) if item["id"] != request["id"]), None),
                         10, "the window is retried", host)
        wait_for(lambda: jobs_api.runs_started == 2, 10, "the retry's run is started", host)
        assert retry["window"] == request["window"] and run_now_tokens(jobs_api)[-1] == retry["id"]
        assert active_version(host) == old_version
        assert "on_orders_changed failed" not in host.log()   # nor did the trigger fail while the timer raced it
    finally:
        host.stop()
