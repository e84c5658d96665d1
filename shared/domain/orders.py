"""The order model: validation of what a storefront (or the importer) sends, and the stored document."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from shared.domain.errors import ValidationError
from shared.domain.validation import (check_fields, check_id, check_int, check_number, format_timestamp,
                                      parse_timestamp)

MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_UNIT_PRICE = 1_000_000.0
# Clock skew we tolerate between storefront and service before calling a timestamp "in the future".
MAX_FUTURE_SKEW = timedelta(days=1)

_ORDER_REQUIRED = {"userId", "items"}
_ORDER_OPTIONAL = {"orderId", "createdAt"}
_ITEM_REQUIRED = {"productId", "quantity"}
_ITEM_OPTIONAL = {"unitPrice"}


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    quantity: int
    unit_price: float | None = None

    def to_json(self) -> dict:
        line = {"productId": self.product_id, "quantity": self.quantity}
        if self.unit_price is not None:
            line["unitPrice"] = self.unit_price
        return line


@dataclass(frozen=True)
class NewOrder:
    """A validated order request. `fingerprint` identifies the request body, so that a retry with the same
    orderId can be told apart from a different order reusing the id."""

    order_id: str
    user_id: str
    lines: tuple[OrderLine, ...]
    created_at: str
    fingerprint: str

    def to_document(self, received_at: str) -> dict:
        return {
            "id": self.order_id,
            "userId": self.user_id,
            "items": [line.to_json() for line in self.lines],
            "createdAt": self.created_at,
            "receivedAt": received_at,
            "fingerprint": self.fingerprint,
            "type": "order",
        }


def parse_order(body: object, now: datetime | None = None) -> NewOrder:
    """Validate an order request body; raises ValidationError naming the first problem found."""
    now = now or datetime.now(timezone.utc)
    check_fields(body, "order", _ORDER_REQUIRED, _ORDER_OPTIONAL)
    user_id = check_id(body["userId"], "userId")
    order_id = check_id(body["orderId"], "orderId") if "orderId" in body else str(uuid.uuid4())
    items = body["items"]
    if not isinstance(items, list):
        raise ValidationError("items must be a list", {"field": "items"})
    if not 1 <= len(items) <= MAX_ITEMS:
        raise ValidationError(f"items must hold between 1 and {MAX_ITEMS} lines", {"field": "items"})
    lines = tuple(_parse_line(item, f"items[{index}]") for index, item in enumerate(items))
    if "createdAt" in body:
        created = parse_timestamp(body["createdAt"], "createdAt")
        if created > now + MAX_FUTURE_SKEW:
            raise ValidationError("createdAt lies in the future", {"field": "createdAt"})
    else:
        created = now
    fingerprint = _fingerprint(body)
    return NewOrder(order_id, user_id, lines, format_timestamp(created), fingerprint)


def _parse_line(item: object, name: str) -> OrderLine:
    check_fields(item, name, _ITEM_REQUIRED, _ITEM_OPTIONAL)
    product_id = check_id(item["productId"], f"{name}.productId")
    quantity = check_int(item["quantity"], f"{name}.quantity", 1, MAX_QUANTITY)
    price = item.get("unitPrice")
    unit_price = None if price is None else check_number(price, f"{name}.unitPrice", 0.0, MAX_UNIT_PRICE)
    return OrderLine(product_id, quantity, unit_price)


def _fingerprint(body: dict) -> str:
    # The request as sent, minus the id: a retry without createdAt still matches its first attempt. A null
    # unitPrice means no unitPrice, so both spellings of one order match too.
    content = {key: value for key, value in body.items() if key != "orderId"}
    content["items"] = [{key: value for key, value in item.items() if not (key == "unitPrice" and value is None)}
                        for item in content["items"]]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def public_order(doc: dict) -> dict:
    """The order as the API shows it: no store internals."""
    return {
        "orderId": doc["id"],
        "userId": doc["userId"],
        "items": doc["items"],
        "createdAt": doc["createdAt"],
        "receivedAt": doc.get("receivedAt"),
    }
