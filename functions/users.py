"""A shopper's data, deleted or exported (docs/operations.md, "Deleting a shopper").

Two routes for each, because the admin level is a host-level check a function cannot make itself:
`DELETE /api/users/{user_id}` and `GET /api/users/{user_id}/export` are shopper routes (the shopper themselves,
per SHOPPER_AUTH; in `key` mode a trusted backend with the function key); `DELETE /api/manage/users/{user_id}` and
`GET /api/manage/users/{user_id}/export` need the admin key. A timer finishes what a training run in flight
during a deletion could bring back."""
from __future__ import annotations

import logging

import azure.functions as func

from functions.http import ensure_shopper, handles_errors, json_response, route_param, shopper_auth_level
from shared import bootstrap

bp = func.Blueprint()
log = logging.getLogger("functions.users")
SWEEP_SCHEDULE = "0 */5 * * * *"   # every 5 minutes


@bp.function_name("delete_user")
@bp.route(route="users/{user_id}", methods=["DELETE"], auth_level=shopper_auth_level())
@handles_errors
def delete_user(req: func.HttpRequest) -> func.HttpResponse:
    user_id = route_param(req, "user_id")
    ensure_shopper(req, user_id)
    return json_response(bootstrap.user_data().delete(user_id))


@bp.function_name("export_user")
@bp.route(route="users/{user_id}/export", methods=["GET"], auth_level=shopper_auth_level())
@handles_errors
def export_user(req: func.HttpRequest) -> func.HttpResponse:
    user_id = route_param(req, "user_id")
    ensure_shopper(req, user_id)
    return json_response(bootstrap.user_data().export(user_id))


@bp.function_name("manage_delete_user")
@bp.route(route="manage/users/{user_id}", methods=["DELETE"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def manage_delete_user(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.user_data().delete(route_param(req, "user_id")))


@bp.function_name("manage_export_user")
@bp.route(route="manage/users/{user_id}/export", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def manage_export_user(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.user_data().export(route_param(req, "user_id")))


@bp.function_name("sweep_erasures")
@bp.timer_trigger(arg_name="timer", schedule=SWEEP_SCHEDULE, run_on_startup=False, use_monitor=False)
def sweep_erasures(timer: func.TimerRequest) -> None:
    done = bootstrap.user_data().sweep()
    if any(done.values()):
        log.info("erasure sweep: %s", done)
