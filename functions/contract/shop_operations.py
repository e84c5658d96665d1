"""The storefront's routes: orders, recommendations, the catalogue, health and this document. One entry per
route template (without the `/api` prefix) and method; `access` says who may call it."""
from __future__ import annotations

from functions.contract.parameters import (ADMIN, ANONYMOUS, K, MAX_CONTINUATION, PRINCIPAL, PRODUCT_ID, PUBLIC_READ,
                                           SESSION_TOKEN, SHOPPER, USER_ID, integer_query, list_query, ok, operation,
                                           path)

_ORDER_LINKS = {
    "GetOrder": {"operationId": "get_user_order",
                 "parameters": {"user_id": "$response.body#/userId", "order_id": "$response.body#/orderId"}},
    "ListOrders": {"operationId": "list_user_orders", "parameters": {"user_id": "$response.body#/userId"}},
    "Recommendations": {"operationId": "user_recommendations", "parameters": {"user_id": "$response.body#/userId"}},
}
_CATEGORY = list_query("category", "only these categories (when the catalogue has any)")

SHOP_OPERATIONS: dict[str, dict[str, dict]] = {
    "/health": {"get": operation(
        "health", "Is the store reachable, which model is active", ANONYMOUS, tag="operations",
        responses={"200": ok("Health", "healthy"), "503": ok("Health", "the store is unreachable")})},
    "/openapi.json": {"get": operation(
        "openapi", "This document", ANONYMOUS, tag="operations",
        responses={"200": {"description": "the OpenAPI 3.1 document",
                           "content": {"application/json": {"schema": {"type": "object"}}}}})},
    "/orders": {"post": operation(
        "create_order", "Record an order", SHOPPER, tag="orders", parameters=(PRINCIPAL,), body="OrderRequest",
        errors=("409",), responses={
            "201": ok("Order", "stored", ("Location", "X-Session-Token"), _ORDER_LINKS),
            "200": ok("Order", "the same orderId and body again: the stored order, no second write",
                      ("Location",), _ORDER_LINKS)})},
    "/users/{user_id}/orders": {"get": operation(
        "list_user_orders", "A shopper's orders, newest first, a page at a time", SHOPPER, tag="orders",
        parameters=(USER_ID, integer_query("limit", 50, 1, 100, "page size"),
                    {"name": "continuationToken", "in": "query", "required": False,
                     "description": "opaque, from the previous page (any other value is 400)",
                     "schema": {"type": "string", "maxLength": MAX_CONTINUATION}},
                    SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("OrderPage", "a page of orders")})},
    "/users/{user_id}/orders/{order_id}": {"get": operation(
        "get_user_order", "One order", SHOPPER, tag="orders",
        parameters=(USER_ID, path("order_id", "the order id", "demo-0000-000000"), SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("Order", "the order")})},
    "/users/{user_id}/recommendations": {"get": operation(
        "user_recommendations", "Personalized recommendations, reflecting the shopper's latest orders", SHOPPER,
        tag="recommendations",
        parameters=(USER_ID, K, _CATEGORY, list_query("exclude", "never these products"),
                    {"name": "includePurchased", "in": "query", "required": False,
                     "description": "also recommend products the shopper bought",
                     "schema": {"enum": ["true", "false", "1", "0"], "default": "false"}},
                    SESSION_TOKEN, PRINCIPAL),
        responses={"200": ok("UserRecommendations", "ranked items; `popular` for a shopper without history")})},
    "/users/{user_id}": {"delete": operation(
        "delete_user", "Delete the shopper's orders and vector (idempotent)", SHOPPER, tag="users",
        parameters=(USER_ID, PRINCIPAL), responses={"200": ok("UserDeletion", "what was deleted")})},
    "/users/{user_id}/export": {"get": operation(
        "export_user", "Everything stored about the shopper", SHOPPER, tag="users",
        parameters=(USER_ID, PRINCIPAL), responses={"200": ok("UserExport", "the shopper's documents")})},
    "/products/{product_id}/similar": {"get": operation(
        "similar_products", "Products bought by the same shoppers", PUBLIC_READ, tag="recommendations",
        parameters=(PRODUCT_ID, K), responses={"200": ok("SimilarProducts", "ranked items")})},
    "/recommendations/popular": {"get": operation(
        "popular_products", "The most bought products", PUBLIC_READ, tag="recommendations",
        parameters=(K, _CATEGORY), responses={"200": ok("PopularProducts", "ranked items")})},
    "/products/{product_id}": {
        "get": operation("get_product", "One catalogue product", PUBLIC_READ, tag="catalogue",
                         parameters=(PRODUCT_ID,), responses={"200": ok("Product", "the product")}),
        "put": operation("put_product", "Create or replace a catalogue product", ADMIN, tag="catalogue",
                         parameters=(PRODUCT_ID,), body="ProductUpsert",
                         responses={"200": ok("Product", "the stored product")}),
    },
}
