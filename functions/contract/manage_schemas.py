"""JSON Schema of the operator routes' bodies (training runs, models, metrics, users), with bounds from the code."""
from __future__ import annotations

from functions.contract.schema_parts import TIMESTAMP, nullable, ref
from shared.domain.training_params import MAX_POPULAR_K, MAX_SIMILAR_K
from shared.services.training_requests import STATES

MANAGE_SCHEMAS: dict[str, dict] = {
    "TrainingParams": {
        "type": "object", "additionalProperties": False,
        "description": "overrides of the training parameters (shared.domain.training_params); others keep "
                       "their defaults",
        "properties": {
            "factors": {"type": "integer", "minimum": 1, "maximum": 512},
            "iterations": {"type": "integer", "minimum": 1, "maximum": 100},
            "regularization": {"type": "number", "exclusiveMinimum": 0},
            "alpha": {"type": "number", "exclusiveMinimum": 0},
            "bm25_k1": {"type": "number", "exclusiveMinimum": 0},
            "bm25_b": {"type": "number", "minimum": 0, "maximum": 1},
            "half_life_days": {"type": "number", "exclusiveMinimum": 0},
            "similar_k": {"type": "integer", "minimum": 0, "maximum": MAX_SIMILAR_K},
            "popular_k": {"type": "integer", "minimum": 0, "maximum": MAX_POPULAR_K},
            "seed": {"type": "integer"},
        },
    },
    "TrainingRunRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"params": ref("TrainingParams")},
    },
    "TrainingRequest": {
        "type": "object", "required": ["id", "state", "reason", "modelVersion", "params", "createdAt", "updatedAt"],
        "description": "a training request and the run it started; states in docs/operations.md",
        "properties": {
            "id": {"type": "string"}, "state": {"enum": list(STATES)}, "reason": {"type": "string"},
            "window": {"type": "string"}, "modelVersion": {"type": "string"},
            "params": {"type": "object"}, "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
            "attempts": {"type": "integer"}, "nextAttemptAt": TIMESTAMP,
            "runId": nullable({"type": ["string", "integer"]}), "trainer": nullable({"type": "string"}),
            "error": nullable({"type": "string"}), "lastError": nullable({"type": "string"}),
        },
    },
    "TrainingRequestList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("TrainingRequest")}},
    },
    "ActiveModel": {
        "type": "object", "required": ["activeVersion", "previousVersion"],
        "properties": {
            "activeVersion": nullable({"type": "string"}), "previousVersion": nullable({"type": "string"}),
            "activatedAt": TIMESTAMP,
            "manifest": nullable({"type": "object", "description": "the active model's manifest document"}),
        },
    },
    "ActivateModel": {
        "type": "object", "required": ["modelVersion"], "additionalProperties": False,
        "properties": {"modelVersion": ref("Id")},
    },
    "UserDeletion": {
        "type": "object", "required": ["userId", "erasedAt", "deleted"],
        "properties": {
            "userId": {"type": "string"}, "erasedAt": TIMESTAMP,
            "deleted": {"type": "object", "required": ["orders", "userVectors"],
                        "properties": {"orders": {"type": "integer", "minimum": 0},
                                       "userVectors": {"type": "integer", "minimum": 0}}},
        },
    },
    "UserExport": {
        "type": "object", "required": ["userId", "exportedAt", "orders", "userVector", "erasure"],
        "description": "every document stored about the shopper, as stored (docs/operations.md)",
        "properties": {
            "userId": {"type": "string"}, "exportedAt": TIMESTAMP,
            "orders": {"type": "array", "items": {"type": "object"}},
            "userVector": nullable({"type": "object"}), "erasure": nullable({"type": "object"}),
        },
    },
    "StoredModels": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": {
            "type": "object", "required": ["modelVersion", "active", "retiring"],
            "properties": {"modelVersion": {"type": "string"}, "createdAt": nullable(TIMESTAMP),
                           "trainer": nullable({"type": "string"}), "counts": nullable({"type": "object"}),
                           "metrics": nullable({"type": "object"}), "active": {"type": "boolean"},
                           "retiring": {"type": "boolean"}}}}},
    },
    "LiveMetrics": {
        "type": "object", "required": ["process", "since", "generatedAt", "windowSeconds", "ordersPerMinute",
                                       "recommendations"],
        "description": "the figures of the one process that answered",
        "properties": {
            "process": {"type": "integer"}, "since": TIMESTAMP, "generatedAt": TIMESTAMP,
            "windowSeconds": {"type": "integer"},
            "ordersPerMinute": {"type": "array", "items": {
                "type": "object", "required": ["minute", "orders"],
                "properties": {"minute": TIMESTAMP, "orders": {"type": "integer", "minimum": 0}}}},
            "recommendations": {
                "type": "object", "required": ["windowSeconds", "count", "latencyMs", "strategies"],
                "properties": {"windowSeconds": {"type": "integer"}, "count": {"type": "integer", "minimum": 0},
                               "latencyMs": {"type": "object",
                                             "properties": {"p50": nullable({"type": "number"}),
                                                            "p99": nullable({"type": "number"})}},
                               "strategies": {"type": "object",
                                              "additionalProperties": {"type": "integer"}}}},
        },
    },
    "ModelPointer": {
        "type": "object", "required": ["activeVersion", "previousVersion", "activatedAt"],
        "properties": {"activeVersion": {"type": "string"}, "previousVersion": nullable({"type": "string"}),
                       "activatedAt": TIMESTAMP},
    },
}
