"""A few requests served the way the Python worker serves them, in a process of its own (the OpenTelemetry
SDK's providers are process-global): `python -m tests.integration.telemetry_scenario`. Settings come from
the environment, as in Azure. It imports function_app, indexes it once, places orders (created, replayed,
rejected), starts a training run and ticks the reconcile timer until the model is active, asks for
recommendations, flushes telemetry and prints one JSON line with what it saw."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time

import azure.functions as func
from azure.functions.timer import TimerRequest

ORDERS = [
    {"orderId": f"o-{user}-{n}", "userId": f"u{user}",
     "items": [{"productId": f"p{(user + n + shift) % 12:02d}", "quantity": 1} for shift in (0, 1, 2)]}
    for user in range(6) for n in range(2)
]
TRAINING = {"params": {"factors": 4, "iterations": 3, "similar_k": 3, "popular_k": 10}}
TICKS = 300   # reconcile ticks at most, 0.1 s apart, while the in-process trainer trains


def main() -> None:
    if os.environ.get("SCENARIO_WORKER_CONFIGURES_AZURE_MONITOR") == "true":
        _as_the_worker_does()
    meter_providers_at_start = _meter_providers()
    import function_app
    functions = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}
    imported_after_indexing = _telemetry_modules()

    def call(name, method, url, body=None, route_params=None, params=None):
        request = func.HttpRequest(method, url, body=json.dumps(body).encode() if body is not None else b"",
                                   route_params=route_params or {}, params=params or {})
        response = functions[name](request)
        if asyncio.iscoroutine(response):
            response = asyncio.run(response)
        return response.status_code, json.loads(response.get_body() or b"null")

    statuses = {"orders": [call("create_order", "POST", "/api/orders", order)[0] for order in ORDERS]}
    statuses["replayed"] = call("create_order", "POST", "/api/orders", ORDERS[0])[0]
    statuses["rejected"] = call("create_order", "POST", "/api/orders", {"userId": "u1", "items": []})[0]
    status, run = call("start_training_run", "POST", "/api/manage/training-runs", TRAINING)
    statuses["training"] = status
    state = run["state"]
    for _ in range(TICKS):
        if state in ("activated", "failed"):
            break
        time.sleep(0.1)
        functions["reconcile_training"](TimerRequest(past_due=False))
        state = call("get_training_run", "GET", f"/api/manage/training-runs/{run['id']}",
                     route_params={"run_id": run["id"]})[1]["state"]
    status, served = call("user_recommendations", "GET", "/api/users/u1/recommendations",
                          route_params={"user_id": "u1"}, params={"k": "3"})
    statuses["recommendations"] = status
    statuses["popular"] = call("popular_products", "GET", "/api/recommendations/popular", params={"k": "3"})[0]
    statuses["similar"] = call("similar_products", "GET", "/api/products/p01/similar",
                               route_params={"product_id": "p01"}, params={"k": "3"})[0]

    from shared import telemetry
    print(json.dumps({"statuses": statuses, "trainingState": state, "modelVersion": served.get("modelVersion"),
                      "strategy": served.get("strategy"), "telemetryActive": telemetry.active(),
                      "flushed": telemetry.flush(),
                      "importedAfterIndexing": imported_after_indexing, "imported": _telemetry_modules(),
                      "meterProvidersAtStart": meter_providers_at_start, "meterProviders": _meter_providers()}))
    sys.stdout.flush()


def _as_the_worker_does() -> None:
    """What the Python worker does before it imports function_app.py when the app setting
    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY is true (azure_functions_worker, initialize_azure_monitor)."""
    from azure.monitor.opentelemetry import configure_azure_monitor
    os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")
    configure_azure_monitor(connection_string=os.environ["APPLICATIONINSIGHTS_CONNECTION_STRING"], logger_name="")


def _meter_providers() -> int:
    """OpenTelemetry SDK meter providers alive in this process: each configuration of the distro adds one."""
    sdk = sys.modules.get("opentelemetry.sdk.metrics")
    gc.unfreeze()   # a model load freezes what exists (shared.services.model_cache); get_objects skips frozen ones
    return 0 if sdk is None else sum(isinstance(thing, sdk.MeterProvider) for thing in gc.get_objects())


def _telemetry_modules() -> list[str]:
    """The OpenTelemetry and Azure Monitor packages loaded so far (first two name parts)."""
    return sorted({".".join(name.split(".")[:2]) for name in sys.modules
                   if name.split(".")[0] == "opentelemetry" or name.startswith(("azure.monitor.", "azure.monitor"))})


if __name__ == "__main__":
    main()
