"""Small checks shared by every input path (HTTP, importer, admin API)."""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import datetime, timezone

from shared.domain.errors import ValidationError

MAX_ID_LENGTH = 128
# Cosmos DB forbids / \ ? # in ids; control characters are never a legitimate id.
_BAD_ID_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f/\\?#]")
# Not text at all: lone surrogates (cannot be stored or sent as UTF-8) and Unicode's noncharacters.
_NOT_TEXT = re.compile("[\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0001fffe\U0001ffff\U0010fffe\U0010ffff]")
# Characters that show nothing on their own: an id made only of these looks empty to a person.
_INVISIBLE = {"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"}


def check_id(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string", {"field": name})
    if not value.strip():
        raise ValidationError(f"{name} must not be empty", {"field": name})
    if len(value) > MAX_ID_LENGTH:
        raise ValidationError(f"{name} is longer than {MAX_ID_LENGTH} characters", {"field": name})
    if _BAD_ID_CHARS.search(value):
        raise ValidationError(f"{name} holds a control character or one of / \\ ? #", {"field": name})
    check_text(value, name)
    if value != value.strip():
        raise ValidationError(f"{name} must not start or end with white space", {"field": name})
    if value in (".", ".."):   # path segments, not names: a URL holding them is rewritten on the way
        raise ValidationError(f"{name} must not be . or ..", {"field": name})
    if all(unicodedata.category(char) in _INVISIBLE for char in value):
        raise ValidationError(f"{name} holds no visible character", {"field": name})
    return value


def check_text(value: str, name: str) -> str:
    """Any string field: no lone surrogates or noncharacters (they cannot be stored or sent as UTF-8)."""
    if _NOT_TEXT.search(value):
        raise ValidationError(f"{name} holds a lone surrogate or a Unicode noncharacter", {"field": name})
    return value


def check_int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and value.is_integer():   # JSON has one number type: 6.0 is the integer 6
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer", {"field": name})
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", {"field": name, "value": value})
    return value


def check_number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"{name} must be a finite number", {"field": name})
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", {"field": name, "value": value})
    return float(value)


def check_fields(obj: object, name: str, required: set[str], optional: set[str]) -> dict:
    if not isinstance(obj, dict):
        raise ValidationError(f"{name} must be a JSON object", {"field": name})
    missing = sorted(required - obj.keys())
    if missing:
        raise ValidationError(f"{name} is missing required fields: {', '.join(missing)}",
                              {"field": name, "missing": missing})
    unknown = sorted(obj.keys() - required - optional)
    if unknown:
        raise ValidationError(f"{name} has unknown fields: {', '.join(unknown)}", {"field": name, "unknown": unknown})
    return obj


def parse_timestamp(value: object, name: str) -> datetime:
    """ISO-8601 with a time zone or 'Z' (a naive time is read as UTC); returned in UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(f"{name} must be an ISO-8601 string", {"field": name})
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except ValueError:
        raise ValidationError(f"{name} is not a valid ISO-8601 timestamp", {"field": name}) from None
    except OverflowError:   # 0001-01-01T00:00:00+14:00 is before year 1 in UTC; 9999-12-31T23:59-14:00 after 9999
        raise ValidationError(f"{name} lies outside the years 1 to 9999 in UTC", {"field": name}) from None


def format_timestamp(moment: datetime) -> str:
    """Fixed-width UTC form, so that string order is time order (used for sorting in both stores)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"   # drops "+00:00"
