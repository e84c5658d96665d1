"""The one place every store call is reported: container, operation, kind, request charge and duration.

Both store adapters call `record_store_call` once per call they make to their backend. Each report goes to
the `store.calls` logger (DEBUG, with the fields as `extra`) and to every listener: a `recording()` block
collects the calls of the current process (the costs bench, the cost tests), and telemetry can `subscribe`.
Nothing is measured or formatted when nobody listens, so the hot paths pay one attribute check."""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

POINT_READ = "point read"
SINGLE_PARTITION_QUERY = "single-partition query"
CROSS_PARTITION_QUERY = "cross-partition query"
WRITE = "write"
PATCH = "patch"
METADATA = "metadata read"
KINDS = (POINT_READ, SINGLE_PARTITION_QUERY, CROSS_PARTITION_QUERY, WRITE, PATCH, METADATA)

log = logging.getLogger("store.calls")


@dataclass(frozen=True)
class StoreCall:
    container: str
    operation: str            # the port method: read, query, scan, count, create, upsert, replace, patch, ...
    kind: str                 # one of KINDS
    charge: float | None      # request units Cosmos DB reported (summed over pages); None where none is reported
    duration_ms: float
    items: int = 0            # documents read or written
    item_bytes: int = 0       # their JSON size, for estimating RU where no charge is reported

    def as_dict(self) -> dict:
        return {"container": self.container, "operation": self.operation, "kind": self.kind,
                "charge": self.charge, "durationMs": round(self.duration_ms, 3), "items": self.items,
                "itemBytes": self.item_bytes}


Listener = Callable[[StoreCall], None]
_listeners: tuple[Listener, ...] = ()
_lock = threading.Lock()


def query_kind(partition_key: str | None) -> str:
    return SINGLE_PARTITION_QUERY if partition_key is not None else CROSS_PARTITION_QUERY


def measuring() -> bool:
    """True when a report will be used: adapters compute item sizes only then."""
    return bool(_listeners) or log.isEnabledFor(logging.DEBUG)


def record_store_call(container: str, operation: str, kind: str, charge: float | None, duration_ms: float, *,
                      items: int = 0, item_bytes: int = 0) -> None:
    listeners = _listeners
    if not listeners and not log.isEnabledFor(logging.DEBUG):
        return
    call = StoreCall(container, operation, kind, charge, duration_ms, items, item_bytes)
    log.debug("store call %s %s (%s): %s RU, %.1f ms", operation, container, kind,
              "?" if charge is None else f"{charge:.2f}", duration_ms, extra={"storeCall": call.as_dict()})
    for listener in listeners:
        try:
            listener(call)
        except Exception:  # noqa: BLE001 - a broken listener must never fail a store call
            log.exception("a store call listener failed")


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener` with every StoreCall from now on; returns the function that unsubscribes it."""
    global _listeners
    with _lock:
        _listeners = _listeners + (listener,)

    def unsubscribe() -> None:
        global _listeners
        with _lock:
            _listeners = tuple(item for item in _listeners if item is not listener)
    return unsubscribe


class Recording:
    """The store calls made while a `recording()` block is open, in the order they were reported."""

    def __init__(self):
        self._calls: list[StoreCall] = []
        self._lock = threading.Lock()

    def __call__(self, call: StoreCall) -> None:
        with self._lock:
            self._calls.append(call)

    @property
    def calls(self) -> list[StoreCall]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def summary(self) -> list[tuple[str, str, str]]:
        """(operation, container, kind) per call: what the cost tests compare."""
        return [(call.operation, call.container, call.kind) for call in self.calls]

    def kinds(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for call in self.calls:
            counted[call.kind] = counted.get(call.kind, 0) + 1
        return counted


@contextmanager
def recording() -> Iterator[Recording]:
    found = Recording()
    unsubscribe = subscribe(found)
    try:
        yield found
    finally:
        unsubscribe()
