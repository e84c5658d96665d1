"""Order intake and history: POST /api/orders, GET /api/users/{user_id}/orders[/{order_id}]."""
from __future__ import annotations

from urllib.parse import quote

import azure.functions as func

from functions.http import (SESSION_TOKEN_HEADER, claim_order_async, ensure_shopper, handles_errors, int_param,
                            json_response, read_json, route_param, session_token, shopper_auth_level)
from shared import bootstrap
from shared.domain.errors import ValidationError

bp = func.Blueprint()


@bp.function_name("create_order")
@bp.route(route="orders", methods=["POST"], auth_level=shopper_auth_level())
@handles_errors
async def create_order(req: func.HttpRequest) -> func.HttpResponse:
    # Async, so that it runs on the worker's event loop, where concurrent orders share one write (on the
    # embedded store) instead of each taking a thread of the pool.
    body = await claim_order_async(req, read_json(req))
    placed = await bootstrap.order_service().place_async(body)
    order = placed.order
    if placed.created:
        bootstrap.live_metrics().order_placed()
    headers = {"Location": f"/api/users/{quote(order['userId'], safe='')}/orders/{quote(order['orderId'], safe='')}"}
    if placed.session_token:
        headers[SESSION_TOKEN_HEADER] = placed.session_token
    return json_response(order, 201 if placed.created else 200, headers)


@bp.function_name("list_user_orders")
@bp.route(route="users/{user_id}/orders", methods=["GET"], auth_level=shopper_auth_level())
@handles_errors
def list_user_orders(req: func.HttpRequest) -> func.HttpResponse:
    user_id = route_param(req, "user_id")
    ensure_shopper(req, user_id)
    continuation = req.params.get("continuationToken") or None
    if continuation is not None and len(continuation) > 8192:
        raise ValidationError("continuationToken is too long", {"field": "continuationToken"})
    page = bootstrap.order_service().list_for_user(
        user_id, limit=int_param(req, "limit", 50, 1, 100), continuation=continuation,
        session_token=session_token(req))
    return json_response({"items": page.items, "continuationToken": page.continuation})


@bp.function_name("get_user_order")
@bp.route(route="users/{user_id}/orders/{order_id}", methods=["GET"], auth_level=shopper_auth_level())
@handles_errors
def get_user_order(req: func.HttpRequest) -> func.HttpResponse:
    user_id = route_param(req, "user_id")
    ensure_shopper(req, user_id)
    order = bootstrap.order_service().get(user_id, route_param(req, "order_id"), session_token(req))
    return json_response(order)
