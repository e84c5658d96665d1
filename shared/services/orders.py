"""Order intake and order history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from shared import telemetry
from shared.domain.errors import ConflictError, ValidationError
from shared.domain.orders import NewOrder, parse_order, public_order
from shared.domain.ports import ORDERS, DocumentStore, Filter, Page, Query
from shared.domain.validation import check_id, format_timestamp

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PlacedOrder:
    order: dict
    created: bool          # False when this was a retry of an order already stored
    session_token: str | None


class OrderService:
    def __init__(self, store: DocumentStore):
        self._store = store

    @telemetry.order_outcomes
    def place(self, body: object) -> PlacedOrder:
        """Validate and store one order. Idempotent on orderId: the same body again returns the stored order;
        a different body under the same orderId is a ConflictError. Nothing is written unless valid."""
        return self.store_validated(parse_order(body))

    def store_validated(self, order: NewOrder) -> PlacedOrder:
        doc = order.to_document(received_at=format_timestamp(datetime.now(timezone.utc)))
        try:
            written = self._store.create(ORDERS, doc)
        except ConflictError:
            existing = self._store.read(ORDERS, order.order_id, order.user_id)
            if existing.get("fingerprint") != order.fingerprint:
                raise ConflictError(f"orderId {order.order_id!r} is already used by a different order",
                                    {"orderId": order.order_id}) from None
            return PlacedOrder(public_order(existing), False, None)
        return PlacedOrder(public_order(written.document), True, written.session_token)

    def get(self, user_id: str, order_id: str, session_token: str | None = None) -> dict:
        check_id(user_id, "userId")
        check_id(order_id, "orderId")
        return public_order(self._store.read(ORDERS, order_id, user_id, session_token=session_token))

    def list_for_user(self, user_id: str, *, limit: int = DEFAULT_PAGE_SIZE, continuation: str | None = None,
                      session_token: str | None = None) -> Page:
        """The user's orders, newest first, a page at a time."""
        check_id(user_id, "userId")
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}", {"field": "limit"})
        query = Query(partition_key=user_id, filters=(Filter("type", "=", "order"),), order_by="createdAt",
                      descending=True, limit=limit)
        page = self._store.query(ORDERS, query, continuation=continuation, session_token=session_token)
        return Page([public_order(doc) for doc in page.items], page.continuation)
