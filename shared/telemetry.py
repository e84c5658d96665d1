"""Product telemetry: what an operator watches in Application Insights, recorded through one small port.

Services call the functions and decorators below. They do nothing but check one module attribute until the
composition root installs a Recorder (shared.adapters.azure_monitor, when APPLICATIONINSIGHTS_CONNECTION_STRING
is set), so without that setting no SDK is imported and no hot path pays more than that check.

The instruments (names and attributes are a contract: dashboards and alerts query them):
    personalization.recommendations           counter      strategy, endpoint
    personalization.recommendation.duration   histogram ms strategy, endpoint
    personalization.orders                    counter      outcome: created | replayed | rejected
    personalization.store.request_charge      histogram RU container, operation (from shared.store_calls)
    personalization.training.runs             counter      state: the state a training request moved to
and one span per recommendation request with the active model version (personalization.model_version)."""
from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from contextlib import AbstractContextManager
from typing import Any, Callable, Protocol

from shared import store_calls
from shared.domain.errors import ConflictError, ValidationError

RECOMMENDATIONS = "personalization.recommendations"
RECOMMENDATION_DURATION = "personalization.recommendation.duration"
ORDERS = "personalization.orders"
STORE_REQUEST_CHARGE = "personalization.store.request_charge"
TRAINING_RUNS = "personalization.training.runs"
MODEL_VERSION_ATTRIBUTE = "personalization.model_version"
ORDER_OUTCOMES = ("created", "replayed", "rejected")

log = logging.getLogger("telemetry")


class Span(Protocol):
    def set_attribute(self, key: str, value: Any) -> None: ...


class Recorder(Protocol):
    """What an adapter implements. Every method must be cheap and must never raise into a request."""

    def recommendation_span(self, endpoint: str) -> AbstractContextManager[Span]: ...
    def recommendation(self, strategy: str, endpoint: str, duration_ms: float) -> None: ...
    def order(self, outcome: str) -> None: ...
    def store_call(self, call: store_calls.StoreCall) -> None: ...
    def training_run(self, state: str) -> None: ...
    def flush(self, timeout_millis: int) -> bool: ...


_recorder: Recorder | None = None    # None: telemetry is off, and every hook returns at once
_unsubscribe: Callable[[], None] | None = None
_lock = threading.Lock()


def install(recorder: Recorder | None) -> None:
    """Called by the composition root, once per process; also subscribes to the store call reports."""
    global _recorder, _unsubscribe
    if recorder is None:
        return
    with _lock:
        if _unsubscribe is not None:
            _unsubscribe()
        _unsubscribe = store_calls.subscribe(recorder.store_call)
        _recorder = recorder


def uninstall() -> None:
    """Back to recording nothing (tests, bootstrap.reset). The exporter's own global state stays."""
    global _recorder, _unsubscribe
    with _lock:
        if _unsubscribe is not None:
            _unsubscribe()
        _recorder, _unsubscribe = None, None


def active() -> bool:
    return _recorder is not None


def flush(timeout_millis: int = 10_000) -> bool:
    """Export what was recorded now instead of at the next export interval; True when nothing is pending."""
    recorder = _recorder
    return True if recorder is None else recorder.flush(timeout_millis)


# -- hooks the services call ---------------------------------------------------------------------------
def recommendations(endpoint: str, strategy: str | None = None):
    """Decorates a recommendation use case whose result is a dict with "modelVersion" (and "strategy", else
    `strategy` is used): counts it, times it and wraps it in a span. Failures are recorded on the span only."""
    def decorate(function):
        if inspect.iscoroutinefunction(function):
            @functools.wraps(function)
            async def measured_async(*args, **kwargs):
                recorder = _recorder
                if recorder is None:
                    return await function(*args, **kwargs)
                with recorder.recommendation_span(endpoint) as span:
                    started = time.perf_counter()
                    result = await function(*args, **kwargs)
                    _served(recorder, span, endpoint, strategy, result, started)
                    return result
            return measured_async

        @functools.wraps(function)
        def measured(*args, **kwargs):
            recorder = _recorder
            if recorder is None:
                return function(*args, **kwargs)
            with recorder.recommendation_span(endpoint) as span:
                started = time.perf_counter()
                result = function(*args, **kwargs)
                _served(recorder, span, endpoint, strategy, result, started)
                return result
        return measured
    return decorate


def _served(recorder: Recorder, span: Span, endpoint: str, strategy: str | None, result: dict,
            started: float) -> None:
    duration_ms = (time.perf_counter() - started) * 1000
    used = result.get("strategy") or strategy or endpoint
    span.set_attribute(MODEL_VERSION_ATTRIBUTE, result.get("modelVersion") or "")
    span.set_attribute("personalization.strategy", used)
    recorder.recommendation(used, endpoint, duration_ms)


def order_outcomes(function):
    """Decorates order intake (sync or async) returning an object with `created`: counts created / replayed,
    and rejected when the order is refused (invalid, or a different order under a used orderId)."""
    def count(placed=None, refused: bool = False) -> None:
        recorder = _recorder
        if recorder is not None:
            recorder.order("rejected" if refused else "created" if placed.created else "replayed")

    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def counted_async(*args, **kwargs):
            try:
                placed = await function(*args, **kwargs)
            except (ValidationError, ConflictError):
                count(refused=True)
                raise
            count(placed)
            return placed
        return counted_async

    @functools.wraps(function)
    def counted(*args, **kwargs):
        try:
            placed = function(*args, **kwargs)
        except (ValidationError, ConflictError):
            count(refused=True)
            raise
        count(placed)
        return placed
    return counted


def training_run_state(previous: str | None, state: str) -> None:
    """A training request was written in `state` (previous: its state before, None when it was created)."""
    recorder = _recorder
    if recorder is not None and state != previous:
        recorder.training_run(state)
