"""GET /api/openapi.json (anonymous): the OpenAPI 3.1 contract of every HTTP route (functions.contract), with the
security of the SHOPPER_AUTH mode the functions were indexed with."""
from __future__ import annotations

import functools

import azure.functions as func
import orjson

from functions.http import handles_errors
from functions.identity import INDEXED_MODE

bp = func.Blueprint()


@functools.lru_cache(maxsize=4)
def document_bytes(shopper_mode: str) -> bytes:
    from functions.contract.document import build_document   # built on the first request, not at import
    return orjson.dumps(build_document(shopper_mode))


@bp.function_name("openapi")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@handles_errors
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(document_bytes(INDEXED_MODE), status_code=200, mimetype="application/json",
                             charset="utf-8")
