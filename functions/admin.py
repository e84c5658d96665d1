"""Operator API under /api/manage (admin key): training runs and the active model. The Functions host reserves
routes starting with `admin` or `runtime`, so operator routes never use them."""
from __future__ import annotations

import azure.functions as func

from functions.http import handles_errors, int_param, json_response, read_json, route_param
from shared import bootstrap
from shared.domain.errors import ValidationError
from shared.domain.training_params import TrainingParams
from shared.domain.validation import check_fields, check_id
from shared.services.training_requests import public_request

bp = func.Blueprint()


@bp.function_name("start_training_run")
@bp.route(route="manage/training-runs", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def start_training_run(req: func.HttpRequest) -> func.HttpResponse:
    body = read_json(req) if req.get_body() else {}
    check_fields(body, "body", set(), {"params"})
    if "params" in body and not isinstance(body["params"], dict):
        raise ValidationError("params must be a JSON object", {"field": "params"})
    params = TrainingParams.from_json({**TrainingParams().to_json(), **body["params"]}) if "params" in body else None
    key = req.headers.get("Idempotency-Key")
    if key is not None:
        check_id(key, "Idempotency-Key")
    doc = bootstrap.training_service().manual(params, key)
    return json_response(public_request(doc), 202, {"Location": f"/api/manage/training-runs/{doc['id']}"})


@bp.function_name("get_training_run")
@bp.route(route="manage/training-runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def get_training_run(req: func.HttpRequest) -> func.HttpResponse:
    doc = bootstrap.training_service().requests.get(route_param(req, "run_id"))
    return json_response(public_request(doc))


@bp.function_name("list_training_runs")
@bp.route(route="manage/training-runs", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def list_training_runs(req: func.HttpRequest) -> func.HttpResponse:
    docs = bootstrap.training_service().requests.recent(limit=int_param(req, "limit", 20, 1, 100))
    return json_response({"items": [public_request(doc) for doc in docs]})


@bp.function_name("get_active_model")
@bp.route(route="manage/models/active", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def get_active_model(req: func.HttpRequest) -> func.HttpResponse:
    registry = bootstrap.model_registry()
    pointer = registry.pointer()
    if pointer is None:
        return json_response({"activeVersion": None, "previousVersion": None, "manifest": None})
    manifest = registry.manifest(pointer["activeVersion"])
    return json_response({"activeVersion": pointer["activeVersion"], "previousVersion": pointer.get("previousVersion"),
                          "activatedAt": pointer["activatedAt"],
                          "manifest": {key: value for key, value in manifest.items() if not key.startswith("_")}})


@bp.function_name("set_active_model")
@bp.route(route="manage/models/active", methods=["PUT"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def set_active_model(req: func.HttpRequest) -> func.HttpResponse:
    """Roll back (or forward) to a model version that is still stored."""
    body = check_fields(read_json(req), "body", {"modelVersion"}, set())
    if not isinstance(body["modelVersion"], str):
        raise ValidationError("modelVersion must be a string", {"field": "modelVersion"})
    pointer = bootstrap.model_registry().activate(check_id(body["modelVersion"], "modelVersion"))
    bootstrap.model_cache().invalidate()
    return json_response({"activeVersion": pointer["activeVersion"], "previousVersion": pointer.get("previousVersion"),
                          "activatedAt": pointer["activatedAt"]})


@bp.function_name("list_models")
@bp.route(route="manage/models", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def list_models(req: func.HttpRequest) -> func.HttpResponse:
    """The stored model versions, newest first: what a rollback (PUT manage/models/active) can go to."""
    return json_response({"items": bootstrap.model_registry().stored_versions()})
