"""Order files -> order request bodies: the UCI Online Retail and Online Retail II layouts (CSV, gzipped or
not) and JSON lines of API orders. Every row is checked; rejected rows are counted by reason. Invoice lines
become orders (user id = customer id as written, '17850.0' read as '17850'; product id = stock code upper-cased);
an invoice of more than MAX_ITEMS lines becomes several orders (`<invoice>-2`, ...), since an API order holds
at most that many lines."""
from __future__ import annotations

import csv
import functools
import gzip
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

import orjson

from shared.domain.orders import MAX_ITEMS, MAX_QUANTITY
from shared.domain.validation import format_timestamp

# Columns by layout: (invoice, stock code, description, quantity, date, price, customer).
LAYOUTS = {
    "online_retail": ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"),
    "online_retail_ii": ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID"),
}
# Real products are five digits plus optional letters; POST, M, DOT, BANK CHARGES, C2 ... are not.
PRODUCT_CODE = re.compile(r"^\d{5}[A-Z]*$")
_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M")


@dataclass
class ImportStats:
    lines: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    orders: int = 0

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected[reason] += count

    def to_json(self) -> dict:
        return {"lines": self.lines, "accepted": self.accepted, "rejected": dict(sorted(self.rejected.items())),
                "orders": self.orders}


def open_text(path: str) -> io.TextIOBase:
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8-sig", errors="replace", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def read_orders(handle: io.TextIOBase, stats: ImportStats, catalogue: dict) -> Iterator[dict]:
    """(order request body, input rows it came from) from a CSV (either layout) or JSON lines file; fills
    `catalogue` from CSV rows."""
    first = handle.readline()
    if first.lstrip().startswith("{"):
        yield from _json_lines(first, handle, stats)
        return
    header = next(csv.reader([first]))
    layout = next((name for name, columns in LAYOUTS.items() if set(columns) <= set(header)), None)
    if layout is None:
        raise ValueError(f"unknown file layout; expected the columns of {' or '.join(LAYOUTS)} or JSON lines")
    yield from _invoices(csv.DictReader(handle, fieldnames=header), LAYOUTS[layout], stats, catalogue)


def _json_lines(first: str, handle, stats: ImportStats) -> Iterator[dict]:
    for line in _chain(first, handle):
        if not line.strip():
            continue
        stats.lines += 1
        try:
            yield orjson.loads(line), 1   # as strict as the API's bodies (functions/http.py read_json)
        except ValueError:
            stats.reject("malformed_json")


def _chain(first, handle):
    yield first
    yield from handle


def _invoices(rows, columns, stats: ImportStats, catalogue: dict) -> Iterator[dict]:
    invoice_col, code_col, title_col, qty_col, date_col, price_col, customer_col = columns
    current, lines, meta = None, [], None
    for row in rows:
        stats.lines += 1
        reason, line = _check_row(row, columns)
        if reason:
            stats.reject(reason)
            continue
        invoice = row[invoice_col].strip()
        if invoice != current:
            yield from _split(current, lines, meta)
            current, lines = invoice, []
            meta = (_customer(row[customer_col]), line.pop("createdAt"))
        else:
            line.pop("createdAt")
        lines.append(line)
        catalogue[line["productId"]] = {"id": line["productId"], "title": (row[title_col] or "").strip(),
                                        "price": line["unitPrice"]}
    yield from _split(current, lines, meta)


def _check_row(row: dict, columns) -> tuple[str | None, dict | None]:
    invoice_col, code_col, _, qty_col, date_col, price_col, customer_col = columns
    invoice = (row.get(invoice_col) or "").strip()
    if invoice.upper().startswith("C"):
        return "cancellation", None
    if not _customer(row.get(customer_col)):
        return "no_customer", None
    code = (row.get(code_col) or "").strip().upper()
    if not PRODUCT_CODE.match(code):
        return "not_a_product", None
    try:
        quantity = int(row.get(qty_col) or "")
        price = float(row.get(price_col) or "")
    except ValueError:
        return "malformed_number", None
    if quantity <= 0:
        return "non_positive_quantity", None
    if quantity > MAX_QUANTITY:
        return "quantity_too_large", None
    if price < 0:
        return "negative_price", None
    created = _parse_date(row.get(date_col) or "")
    if created is None:
        return "malformed_date", None
    return None, {"productId": code, "quantity": quantity, "unitPrice": price, "createdAt": created}


def _split(invoice, lines, meta) -> Iterator[dict]:
    if not invoice or not lines:
        return
    user_id, created = meta
    for part, start in enumerate(range(0, len(lines), MAX_ITEMS)):
        order_id = invoice if part == 0 else f"{invoice}-{part + 1}"
        part_lines = lines[start:start + MAX_ITEMS]
        yield {"orderId": order_id, "userId": user_id, "createdAt": created, "items": part_lines}, len(part_lines)


def _customer(value) -> str:
    text = (value or "").strip()
    return text[:-2] if text.endswith(".0") else text


@functools.lru_cache(maxsize=65536)  # an invoice's lines share one date: parse it once
def _parse_date(text: str) -> str | None:
    for pattern in _DATE_FORMATS:
        try:
            return format_timestamp(datetime.strptime(text.strip(), pattern).replace(tzinfo=timezone.utc))
        except ValueError:
            continue
    return None


def import_orders(handle, order_service, stats: ImportStats, catalogue: dict, on_order=None) -> None:
    """Validate and store each order as POST /api/orders would; a rejected order counts all its lines."""
    from shared.domain.errors import ConflictError, ValidationError

    for body, lines in read_orders(handle, stats, catalogue):
        try:
            placed = order_service.place(body)
        except ConflictError:
            stats.reject("order_id_conflict", lines)
        except ValidationError:
            stats.reject("invalid_order", lines)
        else:
            stats.accepted += lines
            stats.orders += 1 if placed.created else 0
            if not placed.created:
                stats.reject("already_imported", 0)
        if on_order:
            on_order(stats)
