"""GET /api/manage/metrics (admin key): the live figures of the process that answers (see
shared/services/live_metrics.py: each worker process and each instance keeps its own)."""
from __future__ import annotations

import azure.functions as func

from functions.http import handles_errors, json_response
from shared import bootstrap

bp = func.Blueprint()


@bp.function_name("live_metrics")
@bp.route(route="manage/metrics", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def live_metrics(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.live_metrics().snapshot(), headers={"Cache-Control": "no-store"})
