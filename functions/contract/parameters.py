"""The building blocks of the operation tables: parameters, headers, responses, and `operation` itself."""
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
            "description": f"{description}; comma-separated, at most {MAX_LIST_VALUES} values (blank ones and "
                           "white space around values are ignored)",
            "schema": {"type": "array", "maxItems": MAX_LIST_VALUES, "items": {"type": "string"}}}


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


def operation(operation_id: str, summary: str, access: str, responses: dict, parameters: tuple = (),
              body: str | None = None, body_required: bool = True, tag: str = "", errors: tuple[str, ...] = ()) -> dict:
    """`errors`: error statuses beyond those `document` derives from the access kind, parameters and body."""
    spec = {"operationId": operation_id, "summary": summary, "x-access": access, "tags": [tag] if tag else [],
            "parameters": list(parameters), "responses": responses, "x-errors": list(errors)}
    if body:
        spec["requestBody"] = {"required": body_required,
                               "content": {"application/json": {"schema": ref(body)}}}
    return spec
