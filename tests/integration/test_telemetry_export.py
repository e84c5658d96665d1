"""Telemetry to Application Insights, end to end: the app's own process (tests/integration/telemetry_scenario.py,
a subprocess because the OpenTelemetry SDK's providers are process-global) serves orders, a training run and
recommendations with APPLICATIONINSIGHTS_CONNECTION_STRING pointing at a local HTTP server that stands in for the
ingestion endpoint. The real Azure Monitor distro and exporter post their Breeze envelopes (POST /v2.1/track, a
JSON array; gzip is accepted too) there, and the test reads the metric names, attributes and spans that arrived."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared import telemetry
from tests.contract.cosmos_server import session_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IKEY = "5b1f1c2e-0000-4000-8000-000000000001"
SCENARIO_TIMEOUT = 300
# Settings of the parent environment that would change what the scenario does.
INHERITED_OUT = ("APPLICATIONINSIGHTS_", "OTEL_", "PYTHON_ENABLE_OPENTELEMETRY", "PYTHON_APPLICATIONINSIGHTS_",
                 "STORE_BACKEND", "COSMOS_", "SQLITE_PATH", "TRAINER_BACKEND")


class Ingestion(ThreadingHTTPServer):
    """Stands in for the Application Insights ingestion endpoint (and the live metrics endpoint)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.tracked: list[dict] = []      # every envelope posted to /v2.1/track
        self.other_paths: list[str] = []   # live metrics pings and anything else

    @property
    def connection_string(self) -> str:
        base = f"http://127.0.0.1:{self.server_address[1]}/"
        return f"InstrumentationKey={IKEY};IngestionEndpoint={base};LiveEndpoint={base}"

    def metric_points(self) -> dict[str, list[tuple[dict, dict]]]:
        """metric name -> [(properties, data point)] over every MetricData envelope."""
        found = defaultdict(list)
        for envelope in self.tracked:
            if envelope["data"]["baseType"] == "MetricData":
                data = envelope["data"]["baseData"]
                for point in data["metrics"]:
                    found[point["name"]].append((data.get("properties") or {}, point))
        return found

    def spans(self) -> dict[str, list[dict]]:
        """dependency or request name -> the properties of each."""
        found = defaultdict(list)
        for envelope in self.tracked:
            if envelope["data"]["baseType"] in ("RemoteDependencyData", "RequestData"):
                data = envelope["data"]["baseData"]
                found[data["name"]].append(data.get("properties") or {})
        return found


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        if self.path.split("?")[0].endswith("/v2.1/track"):
            envelopes = json.loads(body)
            with self.server.lock:
                self.server.tracked.extend(envelopes)
            # Breeze's answer: everything accepted (a 206 with "errors" would make the exporter retry).
            self._answer({"itemsReceived": len(envelopes), "itemsAccepted": len(envelopes), "errors": []})
        else:
            with self.server.lock:
                self.server.other_paths.append(self.path)
            self._answer({})

    def _answer(self, payload: dict) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def ingestion():
    server = Ingestion()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_scenario(settings: dict[str, str]) -> tuple[dict, str]:
    """Run the scenario in a fresh interpreter with these settings; (its JSON report, its stderr)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(INHERITED_OUT)}
    env.update(settings)
    done = subprocess.run([sys.executable, "-m", "tests.integration.telemetry_scenario"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=SCENARIO_TIMEOUT, stdin=subprocess.DEVNULL)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        pytest.fail(f"the scenario failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    report = json.loads(lines[-1])
    assert report["statuses"] == {"orders": [201] * 12, "replayed": 200, "rejected": 400, "training": 202,
                                  "recommendations": 200, "popular": 200, "similar": 200}, report
    assert report["trainingState"] == "activated" and report["strategy"] == "personalized", report
    return report, done.stderr


def exporting(ingestion: Ingestion) -> dict[str, str]:
    return {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string,
            # Both would otherwise reach Microsoft's own endpoints (SDK usage statistics, remote configuration).
            "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
            "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
            # The distro samples traces at 5 per second by default; this test wants every span.
            "OTEL_TRACES_SAMPLER": "always_on"}


def totals(points: list[tuple[dict, dict]], *keys: str) -> dict[tuple, float]:
    """Sum of values per combination of the given properties (counters are exported as deltas)."""
    summed: dict[tuple, float] = defaultdict(float)
    for properties, point in points:
        summed[tuple(properties.get(key) for key in keys)] += point["value"]
    return dict(summed)


def test_serving_with_the_cosmos_store_delivers_every_metric_and_the_model_version_span(ingestion, request):
    cosmos = session_server(request)
    report, _ = run_scenario({
        **exporting(ingestion), "STORE_BACKEND": "cosmos", "COSMOS_ENDPOINT": cosmos.endpoint,
        "COSMOS_KEY": cosmos.key, "COSMOS_DATABASE": f"telemetry-{uuid.uuid4().hex}",
        "COSMOS_CREATE_IF_MISSING": "true", "COSMOS_VERIFY_TLS": "false"})
    assert report["telemetryActive"] and report["flushed"]
    assert report["importedAfterIndexing"] == [], "importing and indexing function_app must not load the SDK"
    assert ingestion.tracked, "nothing reached the ingestion endpoint"
    assert {envelope["iKey"] for envelope in ingestion.tracked} == {IKEY}

    points = ingestion.metric_points()
    assert {telemetry.RECOMMENDATIONS, telemetry.RECOMMENDATION_DURATION, telemetry.ORDERS,
            telemetry.STORE_REQUEST_CHARGE, telemetry.TRAINING_RUNS} <= set(points)
    assert totals(points[telemetry.ORDERS], "outcome") == {("created",): 12, ("replayed",): 1, ("rejected",): 1}
    assert totals(points[telemetry.RECOMMENDATIONS], "strategy", "endpoint") == {
        ("personalized", "user"): 1, ("popular", "popular"): 1, ("similar", "similar"): 1}
    durations = totals(points[telemetry.RECOMMENDATION_DURATION], "strategy", "endpoint")
    assert set(durations) == {("personalized", "user"), ("popular", "popular"), ("similar", "similar")}
    assert all(point["count"] == 1 and point["value"] > 0 for _, point in points[telemetry.RECOMMENDATION_DURATION])
    charges = totals(points[telemetry.STORE_REQUEST_CHARGE], "container", "operation")
    # The order writes and the recommendation's reads, each with the charge the server reported.
    assert {("orders", "create"), ("userVectors", "read"), ("orders", "query")} <= set(charges)
    assert all(value > 0 for value in charges.values())
    runs = totals(points[telemetry.TRAINING_RUNS], "state")
    assert runs[("pending",)] == 1 and runs[("submitted",)] == 1 and runs[("activated",)] == 1

    spans = ingestion.spans()
    for endpoint in ("user", "popular", "similar"):
        [properties] = spans[f"recommendations {endpoint}"]
        assert properties[telemetry.MODEL_VERSION_ATTRIBUTE] == report["modelVersion"]
    # The Cosmos SDK's own calls arrive as dependencies too (the distro's azure_sdk instrumentation).
    assert any(name.startswith("ContainerProxy.") for name in spans)


def test_without_a_connection_string_the_distro_is_never_imported_and_nothing_is_sent(ingestion, tmp_path):
    report, _ = run_scenario({"SQLITE_PATH": str(tmp_path / "store.sqlite3")})
    assert report["telemetryActive"] is False
    assert report["imported"] == [], "no OpenTelemetry or Azure Monitor module may be loaded"
    assert ingestion.tracked == [] and ingestion.other_paths == []


def test_on_sqlite_every_metric_but_request_units_arrives(ingestion, tmp_path):
    report, _ = run_scenario({**exporting(ingestion), "SQLITE_PATH": str(tmp_path / "store.sqlite3")})
    assert report["meterProvidersAtStart"] == 0 and report["meterProviders"] > 0   # configured by the app
    points = ingestion.metric_points()
    assert totals(points[telemetry.ORDERS], "outcome") == {("created",): 12, ("replayed",): 1, ("rejected",): 1}
    assert {telemetry.RECOMMENDATIONS, telemetry.RECOMMENDATION_DURATION, telemetry.TRAINING_RUNS} <= set(points)
    assert telemetry.STORE_REQUEST_CHARGE not in points, "SQLite has no request units to report"
    [properties] = ingestion.spans()["recommendations user"]
    assert properties[telemetry.MODEL_VERSION_ATTRIBUTE] == report["modelVersion"]


def test_when_the_worker_configured_the_distro_the_app_uses_it_and_exports_once(ingestion, tmp_path):
    """PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true: the worker configures the distro before importing
    function_app.py; configuring it again would set up a second pipeline the OpenTelemetry API refuses."""
    report, _ = run_scenario({**exporting(ingestion), "SQLITE_PATH": str(tmp_path / "store.sqlite3"),
                              "SCENARIO_WORKER_CONFIGURES_AZURE_MONITOR": "true"})
    assert report["telemetryActive"]
    assert report["meterProvidersAtStart"] > 0, "the worker's configuration did not happen"
    assert report["meterProviders"] == report["meterProvidersAtStart"], "the app configured the distro again"
    points = ingestion.metric_points()
    assert totals(points[telemetry.ORDERS], "outcome") == {("created",): 12, ("replayed",): 1, ("rejected",): 1}
    assert len(ingestion.spans()["recommendations user"]) == 1


def test_a_malformed_connection_string_turns_telemetry_off_and_the_app_keeps_serving(ingestion, tmp_path):
    report, stderr = run_scenario({**exporting(ingestion), "SQLITE_PATH": str(tmp_path / "store.sqlite3"),
                                   "APPLICATIONINSIGHTS_CONNECTION_STRING": "IngestionEndpoint=http://127.0.0.1:9/"})
    assert report["telemetryActive"] is False
    assert "Application Insights telemetry is off" in stderr
    assert ingestion.tracked == []
