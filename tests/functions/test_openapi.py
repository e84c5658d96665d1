"""The OpenAPI document against the app it describes: every registered HTTP route and method is in it and
nothing else, with the security its auth level needs; it is valid OpenAPI 3.1; its body schemas agree with the
validating code; and GET /api/openapi.json serves it anonymously."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import azure.functions as func
import jsonschema_rs
import pytest
import schemathesis

from commands.serve import route_prefix
from functions.contract.document import ROUTE_PREFIX, build_document
from functions.openapi import openapi
from shared.domain.errors import ValidationError
from shared.domain.orders import parse_order
from shared.domain.training_params import TrainingParams
from shared.services.catalogue import parse_product
from tests.functions.test_indexing import ROOT, indexed

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SECURITY_BY_LEVEL = {"ANONYMOUS": [], "FUNCTION": [{"functionKey": []}, {"functionKeyQuery": []}],
                     "ADMIN": [{"adminKey": []}, {"adminKeyQuery": []}]}


def openapi_path(route: str) -> str:
    """An Azure route template as an OpenAPI path: `{id:int}` and `{page=1}` become `{id}` and `{page}`."""
    return "/" + re.sub(r"\{\*?(\w+)(?::[^}=]*)?(?:=[^}]*)?\}", r"{\1}", route.strip("/"))


def registered() -> dict[tuple[str, str], str]:
    """(OpenAPI path, method) -> auth level, for every HTTP function the worker indexes."""
    routes = {}
    for function in indexed():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        level = str(getattr(trigger.auth_level, "value", trigger.auth_level)).upper()
        for method in trigger.methods:
            routes[(openapi_path(trigger.route or function.get_function_name()),
                    str(getattr(method, "value", method)).lower())] = level
    return routes


def documented(document: dict) -> dict[tuple[str, str], dict]:
    return {(path, method): spec for path, item in document["paths"].items()
            for method, spec in item.items() if method in METHODS}


def test_every_registered_route_is_documented_and_nothing_else():
    routes, operations = registered(), documented(build_document())
    missing = sorted(set(routes) - set(operations))
    extra = sorted(set(operations) - set(routes))
    assert not missing, f"registered but not in the OpenAPI document: {missing}"
    assert not extra, f"in the OpenAPI document but not registered: {extra}"


def test_the_route_checker_sees_a_missing_and_an_invented_route():
    """The comparison above is not vacuous: drop one operation, invent another, and both show up."""
    document = build_document()
    del document["paths"]["/orders"]["post"]
    document["paths"]["/invented"] = {"get": {"responses": {}}}
    routes, operations = registered(), documented(document)
    assert ("/orders", "post") in set(routes) - set(operations)
    assert ("/invented", "get") in set(operations) - set(routes)


def test_security_matches_the_registered_auth_level():
    routes, operations = registered(), documented(build_document())
    for key, level in routes.items():
        assert operations[key]["security"] == SECURITY_BY_LEVEL[level], key
        if level != "ANONYMOUS":
            assert "401" in operations[key]["responses"], key


_MODE_CHECK = """
import json, sys
import function_app
from functions.contract.document import build_document
from functions.identity import INDEXED_MODE
sys.path.insert(0, ".")
from tests.functions.test_openapi import documented, openapi_path
operations = documented(build_document(INDEXED_MODE))
out = {}
for function in function_app.app.get_functions():
    trigger = function.get_trigger()
    if trigger.type == "httpTrigger":
        level = str(getattr(trigger.auth_level, "value", trigger.auth_level)).upper()
        for method in trigger.methods:
            key = (openapi_path(trigger.route), str(getattr(method, "value", method)).lower())
            out[" ".join(key)] = [level, operations[key]["security"], operations[key]["x-access"]]
print(json.dumps(out))
"""


@pytest.mark.parametrize("mode, shopper_security", [
    ("key", [{"functionKey": []}, {"functionKeyQuery": []}]),
    ("jwt", [{"shopperBearer": []}]),
    ("easyauth", [{"appServiceAuthentication": []}]),
])
def test_security_follows_the_shopper_auth_mode_the_app_was_indexed_with(mode, shopper_security):
    """In a fresh worker-like process per SHOPPER_AUTH: a route registered ANONYMOUS is documented without a key
    (the shopper's token or principal at most), FUNCTION with the function key, ADMIN with the admin key."""
    env = dict(os.environ, SHOPPER_AUTH=mode)
    result = subprocess.run([sys.executable, "-c", _MODE_CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    seen = set()
    for route, (level, security, access) in json.loads(result.stdout).items():
        if level == "ANONYMOUS":   # no key at the host: the shopper's own proof on shopper routes, else nothing
            assert security == (shopper_security if access == "shopper" else []), route
        else:
            assert security == SECURITY_BY_LEVEL[level], route
        seen.add(access)
    assert "shopper" in seen


def test_operation_ids_are_the_function_names():
    names = {function.get_function_name() for function in indexed() if function.get_trigger().type == "httpTrigger"}
    assert {spec["operationId"] for spec in documented(build_document()).values()} == names


def test_the_document_is_valid_openapi_3_1():
    document = build_document()
    assert document["openapi"] == "3.1.0"
    schemathesis.openapi.from_dict(document).validate()   # the OpenAPI 3.1 meta-schema (raises when invalid)
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_the_server_url_is_the_route_prefix_of_host_json():
    assert ROUTE_PREFIX == "/" + route_prefix(os.path.join(ROOT, "host.json"))
    assert build_document()["servers"] == [{"url": ROUTE_PREFIX}]


def test_every_error_response_has_the_one_error_shape():
    for key, spec in documented(build_document()).items():
        for status, response in spec["responses"].items():
            if status.startswith(("4", "5")) and key != ("/health", "get"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (key, status)
        if key != ("/openapi.json", "get"):
            assert "500" in spec["responses"], key


def _validator(name: str):
    components = build_document()["components"]
    return jsonschema_rs.validator_for({**components["schemas"][name], "components": components},
                                       validate_formats=True)


@pytest.mark.parametrize("body, valid", [
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 6, "unitPrice": 2.55}]}, True),
    ({"userId": "17850", "orderId": "o-1", "createdAt": "2026-11-28T00:24:27Z",
      "items": [{"productId": "85123A", "quantity": 1, "unitPrice": None}]}, True),
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 6.0}]}, True),   # JSON: 6.0 is 6
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 1.5}]}, False),
    ({"userId": "17850", "items": []}, False),
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 0}]}, False),
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 10_001}]}, False),
    ({"userId": "a/b", "items": [{"productId": "85123A", "quantity": 1}]}, False),
    ({"userId": " x", "items": [{"productId": "85123A", "quantity": 1}]}, False),
    ({"userId": "x" * 129, "items": [{"productId": "85123A", "quantity": 1}]}, False),
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 1}], "coupon": "X"}, False),
    ({"userId": "17850", "items": [{"productId": "85123A", "quantity": 1, "unitPrice": -1}]}, False),
])
def test_the_order_schema_agrees_with_the_order_validation(body, valid):
    assert _validator("OrderRequest").is_valid(body) is valid
    if valid:
        parse_order(body)
    else:
        with pytest.raises(ValidationError):
            parse_order(body)


@pytest.mark.parametrize("body, valid", [
    ({"title": "Mug"}, True),
    ({"title": "Mug", "category": "kitchen", "price": 2.5, "inStock": False}, True),
    ({"title": "Mug", "category": None, "price": None}, True),
    ({"title": "   "}, False),
    ({"title": "Mug", "inStock": None}, False),
    ({"title": "Mug", "price": 1_000_001}, False),
    ({"price": 1}, False),
])
def test_the_product_schema_agrees_with_the_product_validation(body, valid):
    assert _validator("ProductUpsert").is_valid(body) is valid
    if valid:
        parse_product("P1", body)
    else:
        with pytest.raises(ValidationError):
            parse_product("P1", body)


@pytest.mark.parametrize("params, valid", [
    ({}, True),
    ({"factors": 32, "iterations": 5, "regularization": 0.1, "bm25_b": 1, "similar_k": 100, "popular_k": 1000}, True),
    ({"factors": 0}, False),
    ({"factors": 513}, False),
    ({"regularization": 0}, False),
    ({"bm25_b": 1.5}, False),
    ({"similar_k": 101}, False),
    ({"popular_k": 1001}, False),
    ({"learning_rate": 0.1}, False),
    ({"factors": "64"}, False),
    ({"factors": 32.0}, True),
    ({"factors": 32.5}, False),
    ({"iterations": 1e300}, False),
])
def test_the_training_params_schema_agrees_with_the_training_params(params, valid):
    assert _validator("TrainingParams").is_valid(params) is valid
    if valid:
        TrainingParams.from_json({**TrainingParams().to_json(), **params})
    else:
        with pytest.raises(ValidationError):
            TrainingParams.from_json({**TrainingParams().to_json(), **params})


def test_get_openapi_json_serves_the_document_anonymously():
    function = next(function for function in indexed() if function.get_function_name() == "openapi")
    trigger = function.get_trigger()
    assert str(getattr(trigger.auth_level, "value", trigger.auth_level)).upper() == "ANONYMOUS"
    response = openapi(func.HttpRequest("GET", "/api/openapi.json", body=b""))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert json.loads(response.get_body()) == json.loads(json.dumps(build_document()))
