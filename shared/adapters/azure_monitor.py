"""The telemetry Recorder on OpenTelemetry, exported to Application Insights by the Azure Monitor distro
(azure-monitor-opentelemetry). Imported only when APPLICATIONINSIGHTS_CONNECTION_STRING is set.

The distro is configured at most once per process. If the Functions Python worker configured it already
(app setting PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true makes the worker call configure_azure_monitor
before it imports function_app.py), its providers are used as they are: configuring twice exports twice.

Logs: in the Functions host's default telemetry mode the host already sends the worker's logs to Application
Insights, so the distro here exports metrics and traces only. With PYTHON_ENABLE_OPENTELEMETRY=true the worker
tells the host it sends its own logs (capability WorkerOpenTelemetryEnabled; the host then drops them), and the
distro exports them too. See docs/operations.md, "Monitoring"."""
from __future__ import annotations

import logging
import os
import threading
from contextlib import AbstractContextManager

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from shared import telemetry
from shared.store_calls import StoreCall

log = logging.getLogger("telemetry")
SCOPE = "personalization"
_configure_lock = threading.Lock()


class AzureMonitorRecorder:
    """telemetry.Recorder on the global OpenTelemetry meter and tracer providers."""

    def __init__(self):
        meter = metrics.get_meter(SCOPE)
        self._recommendations = meter.create_counter(
            telemetry.RECOMMENDATIONS, unit="{recommendation}", description="Recommendation responses served")
        self._duration = meter.create_histogram(
            telemetry.RECOMMENDATION_DURATION, unit="ms", description="Time to compute one recommendation response")
        self._orders = meter.create_counter(
            telemetry.ORDERS, unit="{order}", description="Orders received, by outcome")
        self._charges = meter.create_histogram(
            telemetry.STORE_REQUEST_CHARGE, unit="RU", description="Cosmos DB request units of one store call")
        self._training = meter.create_counter(
            telemetry.TRAINING_RUNS, unit="{change}", description="Training requests moved to a state")
        self._tracer = trace.get_tracer(SCOPE)

    def recommendation_span(self, endpoint: str) -> AbstractContextManager:
        return self._tracer.start_as_current_span(f"recommendations {endpoint}",
                                                  attributes={"personalization.endpoint": endpoint})

    def recommendation(self, strategy: str, endpoint: str, duration_ms: float) -> None:
        attributes = {"strategy": strategy, "endpoint": endpoint}
        self._recommendations.add(1, attributes)
        self._duration.record(duration_ms, attributes)

    def order(self, outcome: str) -> None:
        self._orders.add(1, {"outcome": outcome})

    def store_call(self, call: StoreCall) -> None:
        if call.charge is not None:   # SQLite reports none: request units exist only on Cosmos DB
            self._charges.record(call.charge, {"container": call.container, "operation": call.operation})

    def training_run(self, state: str) -> None:
        self._training.add(1, {"state": state})

    def flush(self, timeout_millis: int) -> bool:
        flushed = True
        for provider in (metrics.get_meter_provider(), trace.get_tracer_provider()):
            flush = getattr(provider, "force_flush", None)   # the API's no-op providers have none
            if flush is not None:
                flushed = bool(flush(timeout_millis)) and flushed
        return flushed


def start_azure_monitor(connection_string: str) -> AzureMonitorRecorder | None:
    """Configure the distro (unless the worker did) and return the recorder; None, logged, when the distro
    cannot start (not installed, a malformed connection string): telemetry must never stop the app."""
    try:
        with _configure_lock:
            if not _configured():
                _configure(connection_string)
        return AzureMonitorRecorder()
    except Exception:  # noqa: BLE001 - whatever the distro raises, serving goes on without telemetry
        log.exception("Application Insights telemetry is off: the Azure Monitor distro could not start")
        return None


def _configured() -> bool:
    return (isinstance(metrics.get_meter_provider(), MeterProvider)
            and isinstance(trace.get_tracer_provider(), TracerProvider))


def _configure(connection_string: str) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor

    # As the Functions worker does: describe the app with the Functions resource detector (cloud_RoleName =
    # the app's name) instead of probing for App Service and VM metadata.
    os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")
    worker_sends_logs = os.environ.get("PYTHON_ENABLE_OPENTELEMETRY", "").strip().lower() == "true"
    if not worker_sends_logs:
        # The distro reads only this variable to leave logs out; an operator's own value wins.
        os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    configure_azure_monitor(connection_string=connection_string,
                            logger_name=os.environ.get("PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME", ""))
    log.info("Application Insights telemetry is on (metrics, traces%s)", ", logs" if worker_sends_logs else "")
