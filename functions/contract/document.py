"""Assembles the OpenAPI 3.1 document: operations, the error responses each one can give, and the security
each access kind needs under the SHOPPER_AUTH mode the functions were indexed with."""
from __future__ import annotations

import copy

from functions.contract.operations import OPERATIONS
from functions.contract.parameters import ADMIN, ANONYMOUS, FUNCTION, PUBLIC_READ, SHOPPER
from functions.contract.schemas import SCHEMAS, ref
from functions.identity import VERIFIED_MODES   # SHOPPER_AUTH modes in which the function checks the shopper

ROUTE_PREFIX = "/api"   # host.json extensions.http.routePrefix (a test checks they agree)

_KEY_NOTE = ("Azure Functions access key (docs: 'Work with access keys in Azure Functions'). On the local host "
             "LOCAL_FUNCTION_KEY / LOCAL_ADMIN_KEY.")
SECURITY_SCHEMES = {
    "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                    "description": "a function or host key (the admin key works too). " + _KEY_NOTE},
    "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                         "description": "the same key as the `code` query parameter"},
    "adminKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                 "description": "the admin (master) key. " + _KEY_NOTE},
    "adminKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                      "description": "the admin (master) key as the `code` query parameter"},
    "shopperBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                      "description": "SHOPPER_AUTH=jwt: an OpenID Connect token of the shopper, checked against "
                                     "SHOPPER_JWKS_URL, SHOPPER_JWT_ISSUER and SHOPPER_JWT_AUDIENCE"},
    "appServiceAuthentication": {
        "type": "apiKey", "in": "header", "name": "X-MS-CLIENT-PRINCIPAL-ID",
        "description": "SHOPPER_AUTH=easyauth: set by App Service authentication, which strips it from what "
                       "clients send; only safe behind it"},
}
_FUNCTION = [{"functionKey": []}, {"functionKeyQuery": []}]
_ADMIN = [{"adminKey": []}, {"adminKeyQuery": []}]

_ERROR_TEXT = {
    "400": "bad input: malformed JSON, missing or unknown fields, bad values or parameters",
    "401": "missing or wrong key (the Azure host itself answers with an empty body) or shopper token",
    "403": "a shopper touching another user's data",
    "404": "no such resource",
    "409": "conflicts with what is stored",
    "412": "a concurrent update won; retry",
    "413": "the body is too large",
    "414": "the URL is longer than the host accepts (the local host: 8,190 bytes of request line)",
    "500": "a bug; never a stack trace",
    "503": "the store or trainer is down or throttling",
}


def security_for(access: str, shopper_mode: str) -> list[dict]:
    if access == ANONYMOUS:
        return []
    if access == ADMIN:
        return _ADMIN
    if access == FUNCTION or shopper_mode not in VERIFIED_MODES:
        return _FUNCTION
    if access == PUBLIC_READ:
        return []
    return [{"shopperBearer": []}] if shopper_mode == "jwt" else [{"appServiceAuthentication": []}]


def error_statuses(spec: dict, security: list[dict]) -> list[str]:
    statuses = set(spec.get("x-errors", ()))
    if spec["operationId"] == "openapi":
        return []
    statuses |= {"500", "503"} if spec["operationId"] != "health" else {"500"}
    if spec["parameters"] or "requestBody" in spec:
        statuses.add("400")
    if "requestBody" in spec:
        statuses.add("413")
    if any(parameter["in"] in ("path", "query") for parameter in spec["parameters"]):
        statuses.add("414")
    if any(parameter["in"] == "path" for parameter in spec["parameters"]):
        statuses.add("404")
    if security:
        statuses.add("401")
    if spec["x-access"] == SHOPPER:
        statuses.add("403")
    return sorted(statuses)


def _error_response(status: str) -> dict:
    response = {"description": _ERROR_TEXT[status], "content": {"application/json": {"schema": ref("Error")}}}
    if status == "503":
        response["headers"] = {"Retry-After": {"description": "seconds to wait, when known",
                                               "schema": {"type": "string", "pattern": r"^\d+$"}}}
    if status == "401":
        response["headers"] = {"WWW-Authenticate": {"description": "with a bearer token (RFC 6750)",
                                                    "schema": {"type": "string"}}}
    return response


def _schemas(shopper_mode: str) -> dict:
    if shopper_mode not in VERIFIED_MODES:
        return SCHEMAS
    schemas = copy.deepcopy(SCHEMAS)   # with a verified shopper the order is theirs: userId may be left out
    schemas["OrderRequest"]["required"] = ["items"]
    schemas["OrderRequest"]["properties"]["userId"] = {
        **ref("Id"), "description": "default: the signed-in shopper; another user's id is 403"}
    return schemas


def build_document(shopper_mode: str = "key") -> dict:
    """The whole document; plain data, built on demand (no I/O)."""
    paths: dict[str, dict] = {}
    for route, methods in OPERATIONS.items():
        paths[route] = {}
        for method, spec in methods.items():
            spec = copy.deepcopy(spec)
            spec["security"] = security_for(spec["x-access"], shopper_mode)
            for status in error_statuses(spec, spec["security"]):
                spec["responses"].setdefault(status, _error_response(status))
            spec.pop("x-errors", None)
            if not spec["parameters"]:
                del spec["parameters"]
            paths[route][method] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": "Real-time personalization API", "version": "1.0.0",
                 "description": "Orders, personalized recommendations, the catalogue and the operator routes. "
                                f"Shopper routes are authenticated per SHOPPER_AUTH (now: {shopper_mode}). "
                                "Every error is {\"error\": {\"code\", \"message\", \"details\"}}. See docs/api.md."},
        "servers": [{"url": ROUTE_PREFIX}],
        "paths": paths,
        "components": {"schemas": _schemas(shopper_mode), "securitySchemes": SECURITY_SCHEMES},
    }
