"""The retraining loop at the functions level: `on_orders_changed` fed change feed batches, `reconcile_training`
ticked by hand, and the admin API, over a real SQLite store, a hand-written fake trainer and a clock the test moves.
Models are really trained (shared.adapters.local_trainer.train_model), as the Databricks job would write them."""
import itertools
import json

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from functions.admin import get_active_model, get_training_run, list_training_runs, set_active_model, \
    start_training_run
from functions.training import on_orders_changed, reconcile_training
from shared import bootstrap
from shared.adapters.local_trainer import train_model
from shared.domain.errors import PermanentFailureError, UnavailableError
from shared.domain.model_docs import MANIFEST_ID
from shared.domain.ports import MODELS, ORDERS
from shared.domain.retrain_policy import RetrainPolicy
from shared.domain.training_params import TrainingParams
from shared.services.orders import OrderService
from shared.services.training import TrainingService
from shared.services.training_requests import ACTIVE_STATES, now_iso
from tests.builders import SMALL, clustered_orders, trained
from tests.fakes.trainers import FakeClock, FakeRuns, FakeTrainer

THRESHOLD = 5
INTERVAL = 600
GRACE = 900
_numbers = itertools.count()


# ---- wiring -------------------------------------------------------------------------------------------------------

@pytest.fixture
def clock():
    return FakeClock(float(int(FakeClock().now)))   # whole seconds: no rounding at the millisecond stamps


@pytest.fixture
def runs():
    return FakeRuns()


@pytest.fixture
def trainer(runs):
    return FakeTrainer(runs)


def use_service(store, trainer, clock) -> TrainingService:
    """A training service as bootstrap builds it, with our trainer, clock and policy; what the functions call."""
    bootstrap.override(trainer=trainer)
    service = TrainingService(store, trainer, bootstrap.model_registry(),
                              RetrainPolicy(THRESHOLD, INTERVAL, 86400), params=SMALL, clock=clock,
                              manifest_grace_seconds=GRACE)
    bootstrap.override(training_service=service)
    return service


@pytest.fixture
def service(wired, trainer, clock):
    return use_service(wired, trainer, clock)


@pytest.fixture
def old_model(wired):
    """An active model trained on earlier orders (received in 2024, before any order a test places)."""
    return trained(wired, bootstrap.model_registry(), clustered_orders())["modelVersion"]


def place(store, count: int) -> func.DocumentList:
    """Place `count` orders; return them as the change feed delivers them (the stored documents)."""
    after = store.latest_sequence(ORDERS)
    orders = OrderService(store)
    for _ in range(count):
        number = next(_numbers)
        orders.place({"orderId": f"o-{number}", "userId": f"u{number % 4:03d}",
                      "items": [{"productId": f"p{number % 9:03d}", "quantity": 1}]})
    return func.DocumentList([func.Document.from_dict(doc) for _, doc in store.read_changes(ORDERS, after, 10_000)])


def tick():
    reconcile_training(TimerRequest(past_due=False))


def requests(service):
    return service.requests.recent(limit=100)


def only_request(service) -> dict:
    [doc] = requests(service)
    return doc


def in_flight(service) -> list[dict]:
    return [doc for doc in requests(service) if doc["state"] in ACTIVE_STATES]


def finish_with_model(store, runs, doc) -> None:
    """What a successful Databricks job does: write the model under the request's version, end SUCCESS."""
    train_model(store, doc["modelVersion"], SMALL)
    runs.succeed(doc["runId"])


def call(function, method, url, body=None, route_params=None, params=None, headers=None):
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    response = function(func.HttpRequest(method, url, headers=headers or {}, params=params or {},
                                         route_params=route_params or {}, body=raw))
    return response.status_code, json.loads(response.get_body()), response.headers


def admin_get_run(run_id):
    return call(get_training_run, "GET", f"/api/manage/training-runs/{run_id}", route_params={"run_id": run_id})


def admin_active():
    return call(get_active_model, "GET", "/api/manage/models/active")[1]


# ---- the change feed trigger ----------------------------------------------------------------------------------------

def test_a_batch_delivered_twice_makes_one_request_and_one_submit(service, runs):
    batch = place(service._store, THRESHOLD)
    on_orders_changed(batch)
    on_orders_changed(batch)
    doc = only_request(service)
    assert doc["state"] == "submitted" and doc["reason"] == "orders" and doc["trainer"] == "fake"
    assert runs.tokens_seen == [doc["id"]] and runs.started == 1
    assert doc["runId"] == runs.run_for(doc["id"])
    assert runs.parameters[doc["runId"]].model_version == doc["modelVersion"]


def test_a_batch_redelivered_after_its_model_went_live_changes_nothing(service, runs, clock, old_model):
    batch = place(service._store, THRESHOLD)
    on_orders_changed(batch)
    doc = only_request(service)
    finish_with_model(service._store, runs, doc)
    tick()
    assert only_request(service)["state"] == "activated"
    clock.advance(10 * INTERVAL)            # rested: only the redelivered batch could make it retrain now
    on_orders_changed(batch)
    tick()
    assert [d["id"] for d in requests(service)] == [doc["id"]] and runs.tokens_seen == [doc["id"]]


def test_orders_below_the_threshold_make_no_request_until_it_is_reached(service, runs):
    on_orders_changed(place(service._store, THRESHOLD - 1))
    tick()
    assert requests(service) == [] and runs.tokens_seen == []
    on_orders_changed(place(service._store, 1))         # counted from the store, not from one batch
    assert only_request(service)["state"] == "submitted"


def test_a_batch_without_orders_is_ignored(service, runs):
    store = service._store
    place(store, THRESHOLD)
    on_orders_changed(func.DocumentList([func.Document.from_dict({"id": "lease-ish", "type": "somethingElse"})]))
    assert requests(service) == [] and runs.tokens_seen == []


def test_the_minimum_interval_between_runs_is_honoured(service, runs, clock, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    first = only_request(service)
    finish_with_model(service._store, runs, first)
    tick()
    on_orders_changed(place(service._store, THRESHOLD * 3))
    clock.advance(INTERVAL - 1)
    tick()
    assert [doc["id"] for doc in requests(service)] == [first["id"]]
    clock.advance(1)
    tick()
    second = requests(service)[0]
    assert second["id"] != first["id"] and second["state"] == "submitted" and runs.started == 2


def test_never_more_than_one_run_in_flight(service, runs, clock):
    on_orders_changed(place(service._store, THRESHOLD))
    first = only_request(service)
    runs.running(first["runId"])
    tick()
    assert only_request(service)["state"] == "running"
    for _ in range(3):
        clock.advance(10 * INTERVAL)
        on_orders_changed(place(service._store, THRESHOLD * 4))
        tick()
        assert [doc["id"] for doc in requests(service)] == [first["id"]]
    status, body, _ = call(start_training_run, "POST", "/api/manage/training-runs")
    assert status == 409 and body["error"]["code"] == "conflict"
    runs.fail(first["runId"], "Task train failed with message: out of memory.")
    tick()                              # fails the first and, being rested, retries the window at once
    retry, failed = requests(service)
    assert failed["id"] == first["id"] and failed["state"] == "failed"
    assert retry["id"] != first["id"] and retry["window"] == first["window"] and retry["state"] == "submitted"
    assert [doc["id"] for doc in in_flight(service)] == [retry["id"]]
    assert runs.tokens_seen == [first["id"], retry["id"]]


def test_the_trigger_and_the_timer_submitting_at_once_start_one_run_and_neither_fails(service, trainer, runs):
    trainer.while_submitting = tick     # the timer finds the fresh request due while the trigger submits it
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    assert doc["state"] == "submitted" and doc["runId"] == runs.run_for(doc["id"])
    assert runs.started == 1 and runs.tokens_seen == [doc["id"], doc["id"]]


# ---- crashes and outages -------------------------------------------------------------------------------------------

def test_a_crash_between_recording_and_submitting_is_finished_by_the_timer_once(wired, runs, clock):
    dying = FakeTrainer(runs)
    dying.submit_error = RuntimeError("the worker died before run-now was sent")
    service = use_service(wired, dying, clock)
    batch = place(wired, THRESHOLD)
    with pytest.raises(RuntimeError):
        on_orders_changed(batch)
    recorded = only_request(service)
    assert recorded["state"] == "pending" and recorded["runId"] is None and runs.started == 0
    # The host comes back: a new trainer over the same workspace; the batch is delivered again (no checkpoint).
    service = use_service(wired, FakeTrainer(runs), clock)
    on_orders_changed(batch)
    assert only_request(service)["state"] == "pending" and runs.started == 0
    tick()
    tick()
    doc = only_request(service)
    assert doc["id"] == recorded["id"] and doc["state"] == "submitted"
    assert runs.started == 1 and runs.tokens_seen == [recorded["id"], recorded["id"]]   # the lost call, then one


def test_a_crash_after_the_run_started_does_not_start_a_second(wired, runs, clock):
    dying = FakeTrainer(runs)
    dying.crash_after_start = True      # run-now reached the workspace; the answer never got recorded
    service = use_service(wired, dying, clock)
    with pytest.raises(RuntimeError):
        on_orders_changed(place(wired, THRESHOLD))
    recorded = only_request(service)
    assert recorded["state"] == "pending" and runs.started == 1
    service = use_service(wired, FakeTrainer(runs), clock)
    tick()
    doc = only_request(service)
    assert doc["state"] == "submitted" and doc["runId"] == runs.run_for(recorded["id"]) and runs.started == 1
    assert set(runs.tokens_seen) == {recorded["id"]}


def test_a_trainer_down_for_a_while_gets_the_request_once_it_is_back_with_backoff(service, trainer, runs, clock):
    trainer.submit_error = UnavailableError("Databricks run-now: TemporarilyUnavailable: down for maintenance")
    started = clock.now
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    assert doc["state"] == "pending" and doc["attempts"] == 1 and "maintenance" in doc["lastError"]
    assert doc["nextAttemptAt"] == now_iso(started + 5)
    expected_calls = 1
    for wait in (5, 10, 20):            # each attempt only after its backoff: 5 s, 10 s, 20 s
        tick()
        clock.advance(wait - 0.5)
        tick()
        assert len(runs.tokens_seen) == expected_calls and only_request(service)["state"] == "pending"
        clock.advance(0.5)
        if wait == 20:
            trainer.submit_error = None  # back
        tick()
        expected_calls += 1
        assert len(runs.tokens_seen) == expected_calls
    doc = only_request(service)
    assert doc["state"] == "submitted" and doc["attempts"] == 3 and doc["lastError"] is None
    assert runs.tokens_seen == [doc["id"]] * 4 and runs.started == 1
    tick()
    assert len(runs.tokens_seen) == 4


def test_a_retry_after_from_the_trainer_is_honoured(service, trainer, runs, clock):
    trainer.submit_error = UnavailableError("throttled", retry_after=60)
    on_orders_changed(place(service._store, THRESHOLD))
    assert only_request(service)["nextAttemptAt"] == now_iso(clock.now + 60)
    trainer.submit_error = None
    clock.advance(59)
    tick()
    assert len(runs.tokens_seen) == 1
    clock.advance(1)
    tick()
    assert only_request(service)["state"] == "submitted" and len(runs.tokens_seen) == 2


def test_a_permanent_submit_failure_fails_the_request_with_its_reason(service, trainer, runs, clock):
    trainer.submit_error = PermanentFailureError("Databricks run-now of job 7: InvalidParameterValue: Job 7 does "
                                                 "not exist.")
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    assert doc["state"] == "failed" and "Job 7 does not exist" in doc["error"] and doc["finishedAt"]
    tick()
    assert len(runs.tokens_seen) == 1       # not retried before the minimum interval


# ---- following runs --------------------------------------------------------------------------------------------------

def test_a_failed_run_leaves_the_old_model_active_and_shows_why(service, runs, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    runs.running(doc["runId"])
    tick()
    runs.fail(doc["runId"], "Task train failed with message: out of memory. (RUN_EXECUTION_ERROR)")
    tick()
    status, body, _ = admin_get_run(doc["id"])
    assert status == 200 and body["state"] == "failed" and "out of memory" in body["error"] and body["finishedAt"]
    assert body["runId"] == doc["runId"] and "_etag" not in body and "type" not in body
    status, listed, _ = call(list_training_runs, "GET", "/api/manage/training-runs")
    assert status == 200 and [(item["id"], item["state"]) for item in listed["items"]] == [(doc["id"], "failed")]
    assert admin_active()["activeVersion"] == old_model


def test_a_succeeded_run_is_activated_once_its_manifest_is_stored(service, runs, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    runs.running(doc["runId"])
    train_model(service._store, doc["modelVersion"], SMALL)      # written, but the run has not ended yet
    tick()
    assert only_request(service)["state"] == "running" and admin_active()["activeVersion"] == old_model
    runs.succeed(doc["runId"])
    tick()
    assert only_request(service)["state"] == "activated"
    active = admin_active()
    assert active["activeVersion"] == doc["modelVersion"] and active["previousVersion"] == old_model
    assert active["manifest"]["modelVersion"] == doc["modelVersion"]


def test_a_manifest_that_arrives_after_the_run_ended_is_still_activated(service, runs, clock, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    runs.succeed(doc["runId"])
    tick()
    assert only_request(service)["state"] == "succeeded" and admin_active()["activeVersion"] == old_model
    clock.advance(GRACE - 1)
    train_model(service._store, doc["modelVersion"], SMALL)
    tick()
    assert only_request(service)["state"] == "activated" and admin_active()["activeVersion"] == doc["modelVersion"]


def test_a_succeeded_run_without_a_manifest_fails_after_the_grace_period(service, runs, clock, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    runs.succeed(doc["runId"])
    tick()
    ended = only_request(service)
    assert ended["state"] == "succeeded" and ended["runFinishedAt"] == now_iso(clock.now)
    clock.advance(GRACE)
    tick()
    assert only_request(service)["state"] == "succeeded"
    clock.advance(1)
    tick()
    failed = service.requests.get(doc["id"])
    assert failed["state"] == "failed" and "no model manifest" in failed["error"]
    assert admin_active()["activeVersion"] == old_model
    assert len(in_flight(service)) == 1     # rested by now: the window is retried under a new id


def test_a_run_the_trainer_no_longer_knows_is_failed_instead_of_blocking_the_timer(service, trainer, runs, clock):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    trainer.status_error = UnavailableError("Databricks runs/get: TemporarilyUnavailable")
    tick()                                  # a passing outage: the run stays as it was
    assert only_request(service)["state"] == "submitted"
    trainer.status_error = PermanentFailureError(f"Databricks runs/get of run {doc['runId']}: "
                                                 f"InvalidParameterValue: Run {doc['runId']} does not exist.")
    tick()
    failed = only_request(service)
    assert failed["state"] == "failed" and "does not exist" in failed["error"]
    trainer.status_error = None
    clock.advance(INTERVAL)
    tick()                                  # the timer goes on: the window is retried under a new id
    retry = requests(service)[0]
    assert retry["id"] != doc["id"] and retry["state"] == "submitted"


def test_an_invalid_manifest_fails_the_request_and_keeps_the_old_model(service, runs, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    doc = only_request(service)
    service._store.upsert(MODELS, {"id": MANIFEST_ID, "modelVersion": doc["modelVersion"], "type": "manifest",
                                   "schemaVersion": 1})                 # a job writing an incompatible schema
    runs.succeed(doc["runId"])
    tick()
    failed = only_request(service)
    assert failed["state"] == "failed" and "invalid manifest" in failed["error"]
    assert admin_active()["activeVersion"] == old_model


def test_retraining_goes_on_after_a_rollback(service, runs, clock, old_model):
    on_orders_changed(place(service._store, THRESHOLD))
    first = only_request(service)
    finish_with_model(service._store, runs, first)
    tick()
    status, body, _ = call(set_active_model, "PUT", "/api/manage/models/active", {"modelVersion": old_model})
    assert status == 200 and body["activeVersion"] == old_model
    clock.advance(INTERVAL)
    on_orders_changed(place(service._store, THRESHOLD))
    tick()
    latest = requests(service)[0]
    assert latest["id"] != first["id"] and latest["state"] == "submitted" and runs.started == 2


# ---- the admin API ---------------------------------------------------------------------------------------------------

def test_post_training_runs_starts_a_manual_run_and_refuses_a_second_while_in_flight(service, runs):
    status, body, headers = call(start_training_run, "POST", "/api/manage/training-runs")
    assert status == 202 and body["reason"] == "manual" and body["state"] == "submitted"
    assert headers["Location"] == f"/api/manage/training-runs/{body['id']}"
    assert runs.tokens_seen == [body["id"]]
    assert body["params"] == SMALL.to_json()     # the service's configured parameters
    status, error, _ = call(start_training_run, "POST", "/api/manage/training-runs", {})
    assert status == 409 and error["error"]["code"] == "conflict"
    assert runs.tokens_seen == [body["id"]]


def test_post_training_runs_takes_training_params(service, runs):
    status, body, _ = call(start_training_run, "POST", "/api/manage/training-runs",
                           {"params": {"factors": 8, "iterations": 3}})
    assert status == 202 and body["params"]["factors"] == 8 and body["params"]["iterations"] == 3
    sent = runs.parameters[body["runId"]].params
    assert (sent.factors, sent.iterations, sent.regularization) == (8, 3, TrainingParams().regularization)


def test_post_training_runs_with_the_same_idempotency_key_returns_the_same_request(service, runs):
    first = call(start_training_run, "POST", "/api/manage/training-runs", headers={"Idempotency-Key": "retrain-1"})
    again = call(start_training_run, "POST", "/api/manage/training-runs", headers={"Idempotency-Key": "retrain-1"})
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    assert runs.started == 1 and len(requests(service)) == 1


@pytest.mark.parametrize("body, headers", [
    (b"{broken", {}),
    ([], {}),
    ({"extra": 1}, {}),
    ({"params": {"factors": 0}}, {}),
    ({"params": {"similar_k": 101}}, {}),     # bounds that keep model documents under Cosmos DB's 2 MB
    ({"params": {"popular_k": 1001}}, {}),
    ({"params": {"factors": "8"}}, {}),
    ({"params": {"nope": 1}}, {}),
    ({"params": 5}, {}),
    ({"params": [8]}, {}),
    ({"params": None}, {}),
    ({}, {"Idempotency-Key": "a/b"}),
])
def test_post_training_runs_with_bad_input_is_400_and_records_nothing(service, runs, body, headers):
    status, error, _ = call(start_training_run, "POST", "/api/manage/training-runs", body, headers=headers)
    assert status == 400 and error["error"]["code"] == "validation_error"
    assert requests(service) == [] and runs.tokens_seen == []


def test_get_training_runs_lists_newest_first_with_a_limit(service, runs, clock):
    first = call(start_training_run, "POST", "/api/manage/training-runs")[1]
    runs.fail(first["runId"], "boom")
    tick()
    clock.advance(1)
    second = call(start_training_run, "POST", "/api/manage/training-runs")[1]
    status, body, _ = call(list_training_runs, "GET", "/api/manage/training-runs")
    assert status == 200 and [item["id"] for item in body["items"]] == [second["id"], first["id"]]
    assert [item["state"] for item in body["items"]] == ["submitted", "failed"]
    assert all("_etag" not in item for item in body["items"])
    body = call(list_training_runs, "GET", "/api/manage/training-runs", params={"limit": "1"})[1]
    assert [item["id"] for item in body["items"]] == [second["id"]]
    for bad in ("0", "101", "x"):
        assert call(list_training_runs, "GET", "/api/manage/training-runs", params={"limit": bad})[0] == 400


def test_get_training_run_is_404_for_an_unknown_id(service):
    status, body, _ = admin_get_run("train-0000000000000000000000000000000000000000")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_active_model_before_any_model_is_null(service):
    status, body, _ = call(get_active_model, "GET", "/api/manage/models/active")
    assert status == 200 and body == {"activeVersion": None, "previousVersion": None, "manifest": None}


def test_put_active_model_rolls_back_to_the_previous_version(service, old_model):
    newer = "20240302T000000Z-test0002"
    train_model(service._store, newer, SMALL)
    status, body, _ = call(set_active_model, "PUT", "/api/manage/models/active", {"modelVersion": newer})
    assert status == 200 and (body["activeVersion"], body["previousVersion"]) == (newer, old_model)
    status, body, _ = call(set_active_model, "PUT", "/api/manage/models/active", {"modelVersion": old_model})
    assert status == 200 and (body["activeVersion"], body["previousVersion"]) == (old_model, newer)
    active = admin_active()
    assert active["activeVersion"] == old_model and active["manifest"]["modelVersion"] == old_model
    assert call(set_active_model, "PUT", "/api/manage/models/active",
                {"modelVersion": "20990101T000000Z-nothere0"})[0] == 404
    for bad in ({"modelVersion": 5}, {}, {"modelVersion": old_model, "x": 1}, b"nope"):
        assert call(set_active_model, "PUT", "/api/manage/models/active", bad)[0] == 400
    assert admin_active()["activeVersion"] == old_model
