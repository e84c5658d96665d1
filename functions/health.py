"""GET /api/health (anonymous): is the store reachable, which model is active."""
from __future__ import annotations

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def health(req: func.HttpRequest) -> func.HttpResponse:
    healthy, report = bootstrap.health_service().check()
    return json_response(report, 200 if healthy else 503)
