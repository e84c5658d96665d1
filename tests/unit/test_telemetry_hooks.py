"""shared.telemetry, the port: what each hook records, through a hand-written Recorder; and that without one
installed nothing is recorded or measured. The Azure Monitor adapter itself is tested end to end in
tests/integration/test_telemetry_export.py."""
from __future__ import annotations

import ast
import asyncio
import os
from contextlib import contextmanager

import pytest

from shared import bootstrap, store_calls, telemetry
from shared.domain.errors import ConflictError, UnavailableError, ValidationError
from shared.domain.ports import TRAINING_RUNS
from shared.domain.training_params import TrainingParams
from shared.services.orders import OrderService
from shared.services.training_requests import TrainingRequests, new_request_doc


class RecordingRecorder:
    def __init__(self):
        self.spans: list[dict] = []
        self.recommendations: list[tuple[str, str]] = []
        self.durations: list[float] = []
        self.orders: list[str] = []
        self.calls: list[store_calls.StoreCall] = []
        self.training: list[str] = []

    @contextmanager
    def recommendation_span(self, endpoint):
        span = {"endpoint": endpoint}
        self.spans.append(span)
        yield _Span(span)

    def recommendation(self, strategy, endpoint, duration_ms):
        self.recommendations.append((strategy, endpoint))
        self.durations.append(duration_ms)

    def order(self, outcome):
        self.orders.append(outcome)

    def store_call(self, call):
        self.calls.append(call)

    def training_run(self, state):
        self.training.append(state)

    def flush(self, timeout_millis):
        return True


class _Span:
    def __init__(self, attributes: dict):
        self.attributes = attributes

    def set_attribute(self, key, value):
        self.attributes[key] = value


@pytest.fixture
def recorder():
    installed = RecordingRecorder()
    telemetry.install(installed)
    yield installed
    telemetry.uninstall()


class Service:
    @telemetry.recommendations("user")
    def for_user(self, strategy):
        return {"strategy": strategy, "modelVersion": "v1", "items": []}

    @telemetry.recommendations("user")
    async def for_user_async(self, strategy):
        await asyncio.sleep(0)
        return {"strategy": strategy, "modelVersion": "v2", "items": []}

    @telemetry.recommendations("similar", strategy="similar")
    def similar(self, fail=False):
        if fail:
            raise ValidationError("k must be between 1 and 100")
        return {"modelVersion": None, "items": []}


def test_recommendations_are_counted_timed_and_carry_the_model_version(recorder):
    service = Service()
    assert service.for_user("personalized")["modelVersion"] == "v1"
    assert asyncio.run(service.for_user_async("popular"))["modelVersion"] == "v2"
    assert service.similar()["items"] == []
    assert recorder.recommendations == [("personalized", "user"), ("popular", "user"), ("similar", "similar")]
    assert [span[telemetry.MODEL_VERSION_ATTRIBUTE] for span in recorder.spans] == ["v1", "v2", ""]
    assert all(duration >= 0 for duration in recorder.durations)


def test_a_failed_recommendation_is_not_counted(recorder):
    with pytest.raises(ValidationError):
        Service().similar(fail=True)
    assert recorder.recommendations == [] and len(recorder.spans) == 1


def test_orders_are_counted_by_outcome(recorder, wired):
    service = OrderService(wired)
    order = {"orderId": "o-1", "userId": "u1", "items": [{"productId": "p1", "quantity": 1}]}
    assert service.place(order).created
    assert not service.place(order).created
    with pytest.raises(ConflictError):
        service.place(dict(order, items=[{"productId": "p2", "quantity": 1}]))
    with pytest.raises(ValidationError):
        service.place({"userId": "u1", "items": []})
    assert recorder.orders == ["created", "replayed", "rejected", "rejected"]


def test_orders_placed_on_an_event_loop_are_counted_by_outcome(recorder, wired):
    service = OrderService(wired)
    order = {"orderId": "o-1", "userId": "u1", "items": [{"productId": "p1", "quantity": 1}]}
    assert asyncio.run(service.place_async(order)).created
    assert not asyncio.run(service.place_async(order)).created
    with pytest.raises(ConflictError):
        asyncio.run(service.place_async(dict(order, items=[{"productId": "p2", "quantity": 1}])))
    with pytest.raises(ValidationError):
        asyncio.run(service.place_async({"userId": "u1", "items": []}))
    assert recorder.orders == ["created", "replayed", "rejected", "rejected"]


def test_an_order_the_store_could_not_take_is_not_counted_as_rejected(recorder):
    class DownStore:
        embedded = False

        def create(self, container, doc):
            raise UnavailableError("Cosmos DB is throttling")
    with pytest.raises(UnavailableError):
        OrderService(DownStore()).place({"userId": "u1", "items": [{"productId": "p1", "quantity": 1}]})
    assert recorder.orders == []


def test_training_request_state_changes_are_counted_once_each(recorder, wired):
    requests = TrainingRequests(wired)
    doc = new_request_doc("train-1", "20240101T000000Z-00000001", "manual", "", TrainingParams(),
                          "2024-01-01T00:00:00.000Z")
    wired.create(TRAINING_RUNS, doc)
    stored = requests.get("train-1")
    submitted = requests.update(stored, state="submitted", runId="r1")
    requests.update(submitted, attempts=1)                  # no state change: nothing counted
    requests.update(requests.get("train-1"), state="running")
    assert recorder.training == ["submitted", "running"]


def test_store_calls_reach_the_recorder_while_installed_only(recorder):
    store_calls.record_store_call("orders", "create", store_calls.WRITE, 5.71, 3.0)
    telemetry.uninstall()
    store_calls.record_store_call("orders", "create", store_calls.WRITE, 5.71, 3.0)
    assert [(call.container, call.charge) for call in recorder.calls] == [("orders", 5.71)]


def test_without_a_recorder_nothing_listens_to_store_calls():
    telemetry.uninstall()
    assert not telemetry.active()
    assert not store_calls.measuring(), "with telemetry off the adapters must not even compute item sizes"
    assert telemetry.flush() is True


def test_settings_without_a_connection_string_install_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "store.sqlite3"))
    bootstrap.reset()
    try:
        assert bootstrap.settings().applicationinsights_connection_string == ""
        assert not telemetry.active()
    finally:
        bootstrap.reset()


def test_only_the_adapter_imports_opentelemetry_or_the_distro():
    from tests.unit.test_architecture import ROOT, offenders
    sdk = ("opentelemetry", "azure.monitor")
    for folder in ("shared/services", "shared/domain", "functions", "devhost"):
        assert offenders(folder, sdk) == []
    found = [path for path, _ in offenders("shared", sdk)]
    assert found and all(path.endswith(os.path.join("shared", "adapters", "azure_monitor.py")) for path in found)
    with open(os.path.join(ROOT, "function_app.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    modules = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    modules += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    assert "azure.functions" in modules and not [name for name in modules if name.startswith(sdk)]
