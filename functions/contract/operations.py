"""One entry per HTTP route and method of the function app: parameters, body, responses, and who may call it
(`access`, turned into OpenAPI security by `functions.contract.document`). Paths are route templates without
the `/api` prefix. A test compares this table with what `app.get_functions()` registers."""
from __future__ import annotations

from functions.contract.schemas import ref
from shared.services.recommendations import MAX_K

MAX_LIST_VALUES = 100
MAX_SESSION_TOKEN = 4096
MAX_CONTINUATION = 8192

# Access kinds: who the Functions host and the function let in.
ANONYMOUS, FUNCTION, ADMIN, SHOPPER, PUBLIC_READ = "anonymous", "function", "admin", "shopper", "public-read"


def path(name: str, description: str, example: str | None = None) -> dict:
    """`example`: an id that exists in the demo store (`manage.py serve --demo`), so generated tests reach data."""
    parameter = {"name": name, "in": "path", "required": True, "description": description, "schema": ref("Id")}
    if example:
        parameter["example"] = example
    return parameter


def integer_query(name: str, default: int, low: int, high: int, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "integer", "minimum": low, "maximum": high, "default": default}}


def list_query(name: str, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": False,
            "description": f"{description}; comma-separated, at most {MAX_LIST_VALUES} values",
            "schema": {"type": "array", "maxItems": MAX_LIST_VALUES,
                       "items": {"type": "string", "minLength": 1, "pattern": r"^[^,]*\S[^,]*$"}}}


K = integer_query("k", 10, 1, MAX_K, "how many items")
USER_ID = path("user_id", "the shopper's user id", "demo-user-0000")
PRODUCT_ID = path("product_id", "the product id", "P0001")
SESSION_TOKEN = {
    "name": "X-Session-Token", "in": "header", "required": False,
    "description": "the token an order response carried: the read then sees that order on any instance",
    "schema": {"type": "string", "maxLength": MAX_SESSION_TOKEN, "pattern": r"^[\x20-\x7e]*$"},
}
PRINCIPAL = {
    "name": "X-MS-CLIENT-PRINCIPAL-ID", "in": "header", "required": False,
    "description": "set by App Service authentication in front of the app: the signed-in shopper, who may only "
                   "touch their own user id (403 otherwise)",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": ref("Id"),
    "description": "a retried POST with the same key returns the training request the first one made",
}

_HEADERS = {
    "Location": {"description": "where the created resource can be read", "schema": {"type": "string"}},
    "X-Session-Token": {"description": "the store's session token for read-your-writes (when the store has one)",
                        "schema": {"type": "string"}},
    "Retry-After": {"description": "seconds to wait before retrying, when known", "schema": {"type": "string",
                                                                                            "pattern": r"^\d+$"}},
}


def ok(schema_name: str, description: str, headers: tuple[str, ...] = (), links: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}
    if headers:
        response["headers"] = {name: _HEADERS[name] for name in headers}
    if links:
        response["links"] = links
    return response


_ORDER_LINKS = {
    "GetOrder": {"operationId": "get_user_order",
                 "parameters": {"user_id": "$response.body#/userId", "order_id": "$response.body#/orderId"}},
    "ListOrders": {"operationId": "list_user_orders", "parameters": {"user_id": "$response.body#/userId"}},
    "Recommendations": {"operationId": "user_recommendations", "parameters": {"user_id": "$response.body#/userId"}},
}
_RUN_LINKS = {"GetTrainingRun": {"operationId": "get_training_run", "parameters": {"run_id": "$response.body#/id"}}}


def operation(operation_id: str, summary: str, access: str, responses: dict, parameters: tuple = (),
              body: str | None = None, body_required: bool = True, tag: str = "", errors: tuple[str, ...] = ()) -> dict:
    """`errors`: error statuses beyond those `document` derives from the access kind, parameters and body."""
    spec = {"operationId": operation_id, "summary": summary, "x-access": access, "tags": [tag] if tag else [],
            "parameters": list(parameters), "responses": responses, "x-errors": list(errors)}
    if body:
        spec["requestBody"] = {"required": body_required,
                               "content": {"application/json": {"schema": ref(body)}}}
    return spec


OPERATIONS: dict[str, dict[str, dict]] = {
    "/health": {"get": operation(
        "health", "Is the store reachable, which model is active", ANONYMOUS, tag="operations",
        responses={"200": ok("Health", "healthy"), "503": ok("Health", "the store is unreachable")})},
    "/orders": {"post": operation(
        "create_order", "Record an order", SHOPPER, tag="orders", parameters=(PRINCIPAL,), body="OrderRequest",
        errors=("409",), responses={"201": ok("Order", "stored", ("Location", "X-Session-Token"), _ORDER_LINKS),
                   "200": ok("Order", "the same orderId and body again: the stored order, no second write",
                             ("Location",), _ORDER_LINKS)},
    )},
    "/users/{user_id}/orders": {"get": operation(
        "list_user_orders", "A shopper's orders, newest first, a page at a time", SHOPPER, tag="orders",
        parameters=(USER_ID, integer_query("limit", 50, 1, 100, "page size"),
                    {"name": "continuationToken", "in": "query", "required": False,
                     "description": "from the previous page", "schema": {"type": "string",
                                                                          "maxLength": MAX_CONTINUATION}},
                    SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("OrderPage", "a page of orders")})},
    "/users/{user_id}/orders/{order_id}": {"get": operation(
        "get_user_order", "One order", SHOPPER, tag="orders",
        parameters=(USER_ID, path("order_id", "the order id", "demo-0000-000000"), SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("Order", "the order")})},
    "/users/{user_id}/recommendations": {"get": operation(
        "user_recommendations", "Personalized recommendations, reflecting the shopper's latest orders", SHOPPER,
        tag="recommendations",
        parameters=(USER_ID, K, list_query("category", "only these categories (when the catalogue has any)"),
                    list_query("exclude", "never these products"),
                    {"name": "includePurchased", "in": "query", "required": False,
                     "description": "also recommend products the shopper bought",
                     "schema": {"enum": ["true", "false", "1", "0"], "default": "false"}},
                    SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("UserRecommendations", "ranked items; `popular` for a shopper without history")})},
    "/products/{product_id}/similar": {"get": operation(
        "similar_products", "Products bought by the same shoppers", PUBLIC_READ, tag="recommendations",
        parameters=(PRODUCT_ID, K), responses={"200": ok("SimilarProducts", "ranked items")})},
    "/recommendations/popular": {"get": operation(
        "popular_products", "The most bought products", PUBLIC_READ, tag="recommendations",
        parameters=(K, list_query("category", "only these categories (when the catalogue has any)")),
        responses={"200": ok("PopularProducts", "ranked items")})},
    "/products/{product_id}": {
        "get": operation("get_product", "One catalogue product", PUBLIC_READ, tag="catalogue",
                         parameters=(PRODUCT_ID,), responses={"200": ok("Product", "the product")}),
        "put": operation("put_product", "Create or replace a catalogue product", ADMIN, tag="catalogue",
                         parameters=(PRODUCT_ID,), body="ProductUpsert",
                         responses={"200": ok("Product", "the stored product")}),
    },
    "/manage/training-runs": {
        "post": operation(
            "start_training_run", "Start a training run now", ADMIN, tag="operations",
            parameters=(IDEMPOTENCY_KEY,), body="TrainingRunRequest", body_required=False,
            errors=("409", "412"),
            responses={"202": ok("TrainingRequest", "the training request", ("Location",), _RUN_LINKS)}),
        "get": operation(
            "list_training_runs", "Recent training requests, newest first", ADMIN, tag="operations",
            parameters=(integer_query("limit", 20, 1, 100, "how many"),),
            responses={"200": ok("TrainingRequestList", "training requests")}),
    },
    "/manage/training-runs/{run_id}": {"get": operation(
        "get_training_run", "One training request", ADMIN, tag="operations",
        parameters=(path("run_id", "the training request id"),),
        responses={"200": ok("TrainingRequest", "the training request")})},
    "/manage/models/active": {
        "get": operation("get_active_model", "The active and previous model version and the manifest", ADMIN,
                         tag="operations", responses={"200": ok("ActiveModel", "the pointer and manifest")}),
        "put": operation("set_active_model", "Activate a stored model version (rollback)", ADMIN,
                         tag="operations", body="ActivateModel", errors=("404", "412"),
                         responses={"200": ok("ModelPointer", "the new pointer")}),
    },
    "/openapi.json": {"get": operation(
        "openapi", "This document", ANONYMOUS, tag="operations",
        responses={"200": {"description": "the OpenAPI 3.1 document",
                           "content": {"application/json": {"schema": {"type": "object"}}}}})},
}
