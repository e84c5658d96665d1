"""Order intake and order history."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

from shared import telemetry
from shared.domain.errors import ConflictError, ValidationError
from shared.domain.orders import NewOrder, parse_order, public_order
from shared.domain.ports import ORDERS, DocumentStore, Filter, Page, Query
from shared.domain.validation import check_id, format_timestamp
from shared.services.order_writes import OrderWrites

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
        # On an event loop with the embedded store, orders are written in batches (order_writes).
        self._writes = OrderWrites(store) if store.embedded and hasattr(store, "create_each") else None

    @telemetry.order_outcomes
    def place(self, body: object) -> PlacedOrder:
        """Validate and store one order. Idempotent on orderId: the same body again returns the stored order;
        a different body under the same orderId is a ConflictError. Nothing is written unless valid."""
        return self.store_validated(parse_order(body))

    @telemetry.order_outcomes
    async def place_async(self, body: object) -> PlacedOrder:
        """`place` for a function on an event loop. Validation runs on the loop; the write joins the loop's next
        batch on the embedded store, and runs in a thread on any other (its call blocks on the network)."""
        order = parse_order(body)
        if self._writes is None:
            return await asyncio.to_thread(self.store_validated, order)
        try:
            written = await self._writes.create(self._document(order))
        except ConflictError:
            return await asyncio.to_thread(self._replayed, order)
        return PlacedOrder(public_order(written.document), True, written.session_token)

    def store_validated(self, order: NewOrder) -> PlacedOrder:
        try:
            written = self._store.create(ORDERS, self._document(order))
        except ConflictError:
            return self._replayed(order)
        return PlacedOrder(public_order(written.document), True, written.session_token)

    @staticmethod
    def _document(order: NewOrder) -> dict:
        return order.to_document(received_at=format_timestamp(datetime.now(timezone.utc)))

    def _replayed(self, order: NewOrder) -> PlacedOrder:
        """The orderId is taken: the stored order when this is a retry of it, else a ConflictError."""
        existing = self._store.read(ORDERS, order.order_id, order.user_id)
        if existing.get("fingerprint") != order.fingerprint:
            raise ConflictError(f"orderId {order.order_id!r} is already used by a different order",
                                {"orderId": order.order_id})
        return PlacedOrder(public_order(existing), False, None)

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
