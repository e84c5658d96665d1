"""The catalogue: PUT /api/products/{product_id} (admin key), GET /api/products/{product_id}."""
from __future__ import annotations

import azure.functions as func

from functions.http import handles_errors, json_response, read_json, route_param, public_read_auth_level
from shared import bootstrap

bp = func.Blueprint()


@bp.function_name("put_product")
@bp.route(route="products/{product_id}", methods=["PUT"], auth_level=func.AuthLevel.ADMIN)
@handles_errors
def put_product(req: func.HttpRequest) -> func.HttpResponse:
    product = bootstrap.catalogue().put(route_param(req, "product_id"), read_json(req))
    return json_response(product)


@bp.function_name("get_product")
@bp.route(route="products/{product_id}", methods=["GET"], auth_level=public_read_auth_level())
@handles_errors
def get_product(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(bootstrap.catalogue().get(route_param(req, "product_id")))
