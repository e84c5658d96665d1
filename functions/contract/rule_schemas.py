"""JSON Schema of the merchandising rules (PUT/GET /api/manage/rules), as shared.domain.rules.parse_rule checks
them; the conditions between fields (products or category; weight and position per action) are in `allOf`."""
from __future__ import annotations

from functions.contract.schema_parts import TIMESTAMP, ref
from shared.domain.rules import ACTIONS, LISTS, MAX_POSITION, MAX_PRODUCTS_PER_RULE, MAX_WEIGHT

_TIME = {"type": "string", "format": "date-time", "maxLength": 40}

_PROPERTIES = {
    "action": {"enum": list(ACTIONS)},
    "products": {"type": "array", "minItems": 1, "maxItems": MAX_PRODUCTS_PER_RULE, "uniqueItems": True,
                 "items": ref("Id")},
    "category": ref("Id"),
    "weight": {"type": "number", "exclusiveMinimum": 1, "maximum": MAX_WEIGHT,
               "description": "boost and bury only: ranks as if its position were divided (boost) or "
                              "multiplied (bury) by it; default 2"},
    "position": {"type": "integer", "minimum": 1, "maximum": MAX_POSITION,
                 "description": "pin only, and required there: 1 = first"},
    "lists": {"type": "array", "minItems": 1, "items": {"enum": list(LISTS)},
              "description": "the lists it applies to; default all"},
    "startsAt": {**_TIME, "description": "applies from then on (inclusive)"},
    "endsAt": {**_TIME, "description": "until then (exclusive); must be after startsAt"},
}

# What each action allows: weight only on boost and bury, position required on pin and nowhere else.
_BY_ACTION = {"oneOf": [
    {"properties": {"action": {"enum": ["boost", "bury"]}, "position": False}},
    {"properties": {"action": {"const": "pin"}, "weight": False}, "required": ["position"]},
    {"properties": {"action": {"const": "hide"}, "weight": False, "position": False}},
]}

RULE_SCHEMAS: dict[str, dict] = {
    "RuleRequest": {
        "type": "object", "required": ["action"], "additionalProperties": False,
        "description": "a rule targets either products or one category, never both. endsAt must be after "
                       "startsAt, and all rules together at most 200 and 2 MB (400 otherwise)",
        "properties": _PROPERTIES,
        "allOf": [{"oneOf": [{"required": ["products"]}, {"required": ["category"]}]}, _BY_ACTION],
    },
    "Rule": {
        "type": "object", "required": ["id", "action", "lists"], "additionalProperties": False,
        "description": "a stored rule: the request with its id, the default weight and lists filled in, times in UTC",
        "properties": {
            "id": {"type": "string"}, "action": {"enum": list(ACTIONS)},
            "products": {"type": "array", "items": {"type": "string"}}, "category": {"type": "string"},
            "weight": {"type": "number"}, "position": {"type": "integer"},
            "lists": {"type": "array", "items": {"enum": list(LISTS)}},
            "startsAt": TIMESTAMP, "endsAt": TIMESTAMP,
        },
    },
    "RuleList": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("Rule"), "description": "sorted by id"}},
    },
}
