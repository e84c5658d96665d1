"""Small helpers the schema tables share."""
from __future__ import annotations


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


TIMESTAMP = {"type": "string", "description": "ISO-8601 UTC with milliseconds, e.g. 2026-11-28T00:24:27.122Z"}
