"""Ports: what the services need from the outside world. Adapters in shared.adapters implement them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol

Document = dict[str, Any]

# Logical container names used by the code; settings map them to real names.
ORDERS = "orders"
LEASES = "leases"
PRODUCTS = "products"
MODELS = "models"
USER_VECTORS = "userVectors"
TRAINING_RUNS = "trainingRuns"

# The partition key field of each logical container (DESIGN.md, "Documents").
PARTITION_KEYS: dict[str, str] = {
    ORDERS: "userId",
    LEASES: "id",
    PRODUCTS: "id",
    MODELS: "modelVersion",
    USER_VECTORS: "userId",
    TRAINING_RUNS: "id",
}

# System properties every store sets on write and returns on read.
ETAG = "_etag"
TIMESTAMP = "_ts"
NOT_IN = "not in"   # Filter op: the field is none of the listed values


@dataclass(frozen=True)
class Filter:
    """`field op value` on a top-level document field; op is one of = != > >= < <=, or "not in" with a list
    of values (none of them: Cosmos DB `NOT ARRAY_CONTAINS(@values, c.field)`)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    """A query within one partition (partition_key set) or across all partitions (None)."""

    partition_key: str | None = None
    filters: tuple[Filter, ...] = ()
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None


@dataclass(frozen=True)
class Page:
    items: list[Document]
    continuation: str | None = None


@dataclass(frozen=True)
class Written:
    """A stored document (with its new etag and _ts) and the session token of the write."""

    document: Document
    session_token: str | None = None


@dataclass
class StoreInfo:
    backend: str
    details: dict[str, Any] = field(default_factory=dict)


class DocumentStore(Protocol):
    """A partitioned JSON document store: Cosmos DB in Azure, SQLite on one machine.

    Every method takes the logical container name. Reads and queries accept the session token a client
    got from an earlier write (read-your-writes under Session consistency). Writes return `Written`.
    Errors are domain errors: NotFoundError, ConflictError (id exists), PreconditionFailedError (etag),
    UnavailableError (down or throttled).

    `embedded` is True when reads are in process and take microseconds (SQLite): code running on an event
    loop may then call them directly instead of handing them to a thread. `backend` names the store.

    Every call an adapter makes to its backend is reported to shared.store_calls (container, operation,
    kind, request charge, duration).
    """

    embedded: bool
    backend: str

    def create(self, container: str, doc: Document) -> Written: ...

    def upsert(self, container: str, doc: Document) -> Written: ...

    def replace(self, container: str, doc: Document, *, if_match: str | None = None) -> Written: ...

    def upsert_many(self, container: str, docs: Iterable[Document]) -> int: ...

    def patch(self, container: str, doc_id: str, partition_key: str, *, set_fields: dict[str, Any] | None = None,
              increments: dict[str, int | float] | None = None) -> Written:
        """Change top-level fields of a stored document without sending it (Cosmos DB patch): `set_fields`
        sets, `increments` adds to a number (a missing field starts at 0). 1 to 10 operations.
        NotFoundError if the document does not exist; a new etag and _ts like any write."""
        ...

    def read(self, container: str, doc_id: str, partition_key: str, *,
             session_token: str | None = None) -> Document: ...

    def read_if_changed(self, container: str, doc_id: str, partition_key: str, etag: str, *,
                        session_token: str | None = None) -> Document | None:
        """A conditional point read (Cosmos DB `If-None-Match`): the document as `read` returns it when its
        current etag differs from `etag`; None when it still has that etag, and then its body is neither sent
        nor decoded. NotFoundError when it does not exist or has expired, exactly like `read`. An etag this
        store did not hand out (garbage, empty, `*`) never matches: the answer is then the document."""
        ...

    def delete(self, container: str, doc_id: str, partition_key: str) -> None: ...

    def delete_partition(self, container: str, partition_key: str) -> int:
        """Delete every document of one logical partition (a shopper's orders); how many there were. Idempotent:
        an empty partition is 0. Not atomic on Cosmos DB: after an error, call it again."""
        ...

    def query(self, container: str, query: Query, *, continuation: str | None = None,
              session_token: str | None = None) -> Page: ...

    def scan(self, container: str, query: Query | None = None) -> Iterator[Document]: ...

    def count(self, container: str, query: Query | None = None) -> int: ...

    def ping(self) -> StoreInfo: ...

    def close(self) -> None: ...


def partition_key_of(container: str, doc: Document) -> str:
    field_name = PARTITION_KEYS[container]
    value = doc.get(field_name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"document for {container} needs a string '{field_name}' (its partition key)")
    return value


def patch_fields(container: str, set_fields: dict[str, Any] | None, increments: dict[str, Any] | None) -> None:
    """The rules every store applies to a patch, as Cosmos DB does: 1 to 10 operations, and never on `id`,
    the partition key or a system field."""
    names = [*(set_fields or {}), *(increments or {})]
    if not 1 <= len(names) <= 10 or len(set(names)) < len(names):
        raise ValueError("a patch takes 1 to 10 operations, one per field")
    if any(not name or name.startswith("_") or name in ("id", PARTITION_KEYS[container]) for name in names):
        raise ValueError("a patch cannot change id, the partition key or a system field")
