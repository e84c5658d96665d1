"""Recommendations: GET /api/users/{user_id}/recommendations, /api/products/{product_id}/similar,
/api/products/{product_id}/bought-together, /api/recommendations/popular, /api/recommendations/trending."""
from __future__ import annotations

import time

import azure.functions as func

from functions.http import (ensure_shopper_async, handles_errors, int_param, json_response,
                            public_read_auth_level, route_param, session_token, shopper_auth_level)
from shared import bootstrap
from shared.domain.errors import ValidationError

bp = func.Blueprint()


def _list_param(req: func.HttpRequest, name: str) -> tuple[str, ...]:
    """Comma-separated, or repeated: the Functions host joins a repeated key's values with commas
    (ASP.NET Core's StringValues.ToString()), and so does the local host."""
    raw = req.params.get(name)
    if not raw:
        return ()
    entries = raw.split(",")
    if len(entries) > 100:   # counted before blanks are dropped, as the contract counts them
        raise ValidationError(f"{name} takes at most 100 values", {"field": name})
    return tuple(value.strip() for value in entries if value.strip())


def _bool_param(req: func.HttpRequest, name: str) -> bool:
    raw = (req.params.get(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError(f"{name} must be true or false", {"field": name})
    return raw in ("true", "1")


def _cap_param(req: func.HttpRequest) -> int | None:
    return int_param(req, "maxPerCategory", None, 1, 100)


@bp.function_name("user_recommendations")
@bp.route(route="users/{user_id}/recommendations", methods=["GET"], auth_level=shopper_auth_level())
@handles_errors
async def user_recommendations(req: func.HttpRequest) -> func.HttpResponse:
    # Async, so that it runs on the worker's event loop, where concurrent requests share one scoring pass.
    started = time.perf_counter()
    user_id = route_param(req, "user_id")
    await ensure_shopper_async(req, user_id)
    result = await bootstrap.recommendation_service().for_user_async(
        user_id, k=int_param(req, "k", 10, 1, 100), categories=_list_param(req, "category"),
        exclude=_list_param(req, "exclude"), include_purchased=_bool_param(req, "includePurchased"),
        session_token=session_token(req), explain=_bool_param(req, "explain"),
        max_per_category=_cap_param(req))
    bootstrap.live_metrics().recommendation_served(result["strategy"], time.perf_counter() - started)
    return json_response(result)


@bp.function_name("similar_products")
@bp.route(route="products/{product_id}/similar", methods=["GET"], auth_level=public_read_auth_level())
@handles_errors
def similar_products(req: func.HttpRequest) -> func.HttpResponse:
    result = bootstrap.recommendation_service().similar(route_param(req, "product_id"),
                                                        k=int_param(req, "k", 10, 1, 100))
    return json_response(result)


@bp.function_name("bought_together")
@bp.route(route="products/{product_id}/bought-together", methods=["GET"], auth_level=public_read_auth_level())
@handles_errors
def bought_together(req: func.HttpRequest) -> func.HttpResponse:
    result = bootstrap.recommendation_service().bought_together(route_param(req, "product_id"),
                                                                k=int_param(req, "k", 10, 1, 100))
    return json_response(result)


@bp.function_name("popular_products")
@bp.route(route="recommendations/popular", methods=["GET"], auth_level=public_read_auth_level())
@handles_errors
def popular_products(req: func.HttpRequest) -> func.HttpResponse:
    result = bootstrap.recommendation_service().popular(k=int_param(req, "k", 10, 1, 100),
                                                        categories=_list_param(req, "category"),
                                                        max_per_category=_cap_param(req))
    return json_response(result)


@bp.function_name("trending_products")
@bp.route(route="recommendations/trending", methods=["GET"], auth_level=public_read_auth_level())
@handles_errors
def trending_products(req: func.HttpRequest) -> func.HttpResponse:
    result = bootstrap.recommendation_service().trending(k=int_param(req, "k", 10, 1, 100),
                                                         categories=_list_param(req, "category"),
                                                         max_per_category=_cap_param(req))
    return json_response(result)
