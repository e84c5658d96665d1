"""JSON Schema (2020-12, as OpenAPI 3.1 uses it) of every request and response body. Bounds come from the
code that enforces them, so the contract cannot drift from the validation without a test noticing."""
from __future__ import annotations

from functions.contract.manage_schemas import MANAGE_SCHEMAS
from functions.contract.schema_parts import TIMESTAMP, nullable, ref  # noqa: F401 - the operation tables use ref
from shared.domain import orders
from shared.domain.validation import MAX_ID_LENGTH
from shared.services.recommendations import MAX_K

MAX_TITLE_LENGTH = 500
MAX_PRICE = 1_000_000

# ECMA-262 pattern: no control characters, none of / \ ? # (Cosmos DB forbids them in ids), no white space at
# either end, not . or .. (shared.domain.validation.check_id). What a portable pattern cannot say (at least one
# visible character, no lone surrogates or noncharacters) is in the description.
ID_PATTERN = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f/\\?#]([^\x00-\x1f\x7f-\x9f/\\?#]*[^\s\x00-\x1f\x7f-\x9f/\\?#])?$"

SCHEMAS: dict[str, dict] = {
    "Id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH, "pattern": ID_PATTERN,
           "description": f"1 to {MAX_ID_LENGTH} characters; no control characters, no / \\ ? #, no white "
                          "space at either end, not . or .., at least one visible character, no lone "
                          "surrogates or Unicode noncharacters"},
    "Error": {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"], "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "examples": ["validation_error"]},
                "message": {"type": "string", "description": "for people; never a stack trace"},
                "details": {"description": "machine-readable context (e.g. the field), or null"},
            }}},
    },
    "OrderLine": {
        "type": "object", "required": ["productId", "quantity"], "additionalProperties": False,
        "properties": {
            "productId": ref("Id"),
            "quantity": {"type": "integer", "minimum": 1, "maximum": orders.MAX_QUANTITY},
            "unitPrice": nullable({"type": "number", "minimum": 0, "maximum": orders.MAX_UNIT_PRICE}),
        },
    },
    "OrderRequest": {
        "type": "object", "required": ["userId", "items"], "additionalProperties": False,
        "properties": {
            "orderId": {**ref("Id"), "description": "optional; a retry with the same id and body is not stored twice"},
            "userId": ref("Id"),
            "createdAt": {"type": "string", "format": "date-time", "maxLength": 40,
                          "description": "ISO-8601, at most a day in the future; default now"},
            "items": {"type": "array", "minItems": 1, "maxItems": orders.MAX_ITEMS, "items": ref("OrderLine")},
        },
    },
    "Order": {
        "type": "object", "required": ["orderId", "userId", "items", "createdAt", "receivedAt"],
        "properties": {
            "orderId": {"type": "string"}, "userId": {"type": "string"},
            "items": {"type": "array", "items": ref("OrderLine")},
            "createdAt": TIMESTAMP, "receivedAt": nullable(TIMESTAMP),
        },
    },
    "OrderPage": {
        "type": "object", "required": ["items", "continuationToken"],
        "properties": {"items": {"type": "array", "items": ref("Order")},
                       "continuationToken": nullable({"type": "string"})},
    },
    "ProductUpsert": {
        "type": "object", "required": ["title"], "additionalProperties": False,
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_LENGTH, "pattern": r"\S"},
            "category": nullable(ref("Id")),
            "price": nullable({"type": "number", "minimum": 0, "maximum": MAX_PRICE}),
            "inStock": {"type": "boolean", "default": True},
        },
    },
    "Product": {
        "type": "object", "required": ["productId", "title", "category", "price", "inStock"],
        "properties": {
            "productId": {"type": "string"}, "title": nullable({"type": "string"}),
            "category": nullable({"type": "string"}), "price": nullable({"type": "number"}),
            "inStock": nullable({"type": "boolean"}),
        },
    },
    "RecommendedItem": {
        "type": "object", "required": ["productId", "score"],
        "description": "title, category, price and inStock are present when the catalogue knows the product",
        "properties": {
            "productId": {"type": "string"}, "score": {"type": "number"},
            "title": nullable({"type": "string"}), "category": nullable({"type": "string"}),
            "price": nullable({"type": "number"}), "inStock": nullable({"type": "boolean"}),
        },
    },
    "UserRecommendations": {
        "type": "object", "required": ["userId", "items", "modelVersion", "strategy", "generatedAt"],
        "properties": {
            "userId": {"type": "string"},
            "items": {"type": "array", "maxItems": MAX_K, "items": ref("RecommendedItem")},
            "modelVersion": nullable({"type": "string"}),
            "strategy": {"enum": ["personalized", "popular"]},
            "generatedAt": TIMESTAMP,
        },
    },
    "SimilarProducts": {
        "type": "object", "required": ["productId", "items", "modelVersion", "generatedAt"],
        "properties": {
            "productId": {"type": "string"},
            "items": {"type": "array", "maxItems": MAX_K, "items": ref("RecommendedItem")},
            "modelVersion": {"type": "string"}, "generatedAt": TIMESTAMP,
        },
    },
    "PopularProducts": {
        "type": "object", "required": ["items", "modelVersion", "generatedAt"],
        "properties": {
            "items": {"type": "array", "maxItems": MAX_K, "items": ref("RecommendedItem")},
            "modelVersion": nullable({"type": "string"}), "generatedAt": TIMESTAMP,
        },
    },
    "Health": {
        "type": "object", "required": ["status", "store"],
        "properties": {
            "status": {"enum": ["ok", "degraded", "unavailable"],
                       "description": "degraded: serving falls back (previous model, popularity); see reason"},
            "reason": {"type": "string", "description": "why degraded"},
            "store": {"type": "object", "required": ["reachable"],
                      "properties": {"reachable": {"type": "boolean"}, "backend": {"type": "string"},
                                     "error": {"type": "string"}}},
            "activeModel": nullable({"type": "string"}),
        },
    },
    **MANAGE_SCHEMAS,
}
