"""Trending in real time: the change feed adds each batch's buyers to hourly bucket documents, and every
serving instance keeps the buckets of the window in memory, refreshed in the background.

Storage: one document per hour in the `models` container (more parts for an hour of very many buyers, each
under Cosmos DB's 2 MB item limit), all in one logical partition (`trending`), so an
instance picks up every change with one single-partition query for the buckets written since the newest
`_ts` it has seen (usually one or two), never a query across partitions. Writes are idempotent (buyer
sets, see shared.domain.trending) and safe under several change-feed workers (replace with the etag read,
merge again on a conflict). Buckets expire by `ttl` once they leave the window."""
from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable, Iterable

import numpy as np

from shared.domain import errors
from shared.domain import trending as domain
from shared.domain.interactions import from_epoch_seconds, to_epoch_seconds
from shared.domain.ports import ETAG, MODELS, TIMESTAMP, DocumentStore, Filter, Query
from shared.domain.weighting import SECONDS_PER_DAY

log = logging.getLogger("trending")
_RETRIES = 8


class TrendingUpdater:
    """The change feed side: `add(orders)` once per batch (any number of times for the same batch)."""

    def __init__(self, store: DocumentStore, params: domain.RankingParams, clock: Callable[[], float] = time.time,
                 max_bucket_bytes: int = domain.MAX_BUCKET_BYTES):
        self._store = store
        self._params = params
        self._clock = clock
        self._max_bucket_bytes = max_bucket_bytes
        self._open_parts: dict[int, int] = {}   # hour -> the part this instance writes to (the last it found open)
        # The bucket as this instance last wrote it: under a stream of orders the feed adds to the same bucket
        # several times a second, and reading a large bucket back each time held the GIL of the process that
        # answers orders. A guess only: the replace is etag-guarded, and a bucket someone else wrote is read.
        self._last: dict | None = None

    def add(self, orders: Iterable[dict]) -> int:
        """Adds the buyers of these orders to their buckets; returns how many bucket documents changed."""
        oldest = self._clock() - self._params.trending_window_days * SECONDS_PER_DAY
        buckets: dict[int, dict[str, set[str]]] = {}
        orders = list(orders)
        for order, seconds in zip(orders, _order_seconds(orders)):
            start = domain.bucket_start(seconds)
            if start + domain.BUCKET_SECONDS <= oldest:
                continue   # too old to trend (an import of history): no write at all
            buyers = buckets.setdefault(start, {})
            key = domain.buyer_key(order["userId"])
            for line in order["items"]:
                buyers.setdefault(line["productId"], set()).add(key)
        return sum(self._merge(start, additions) for start, additions in sorted(buckets.items()))

    def _merge(self, start: int, additions: dict[str, set[str]]) -> bool:
        part = self._open_parts.get(start, 0)
        lost_race, read_store, races = False, False, 0
        while races < _RETRIES:
            doc_id = domain.bucket_id(start, part)
            if lost_race:   # back off a little, at random, so the same workers do not collide again
                time.sleep(random.uniform(0, 0.02 * 2 ** min(races, 5)))
            last = self._last
            remembered = not read_store and last is not None and last["id"] == doc_id
            current = last if remembered else self._read(doc_id)
            merged = domain.merge_buyers(current["buyers"] if current else {}, additions)
            if merged is None:
                if remembered:
                    read_store = True   # known here already: check the stored bucket before skipping the write
                    continue
                return False   # every buyer already counted: a redelivered batch
            # Kept in the document and grown by each batch's additions (counted whole, so it errs high): no walk
            # over every buyer of a busy hour on each batch.
            size = domain.bucket_bytes(additions) + (_approximate_bytes(current) if current else 0)
            if current is not None and size > self._max_bucket_bytes:
                part += 1   # this part is full: the hour goes on in the next (shared.domain.trending._hours)
                self._open_parts = {start: part}
                continue
            body = {"id": doc_id, "modelVersion": domain.PARTITION, "type": domain.BUCKET_TYPE,
                    "start": from_epoch_seconds(start), "startSeconds": start, "part": part, "buyers": merged,
                    "approxBytes": size,
                    # Expire once out of the window (Cosmos TTL counts from the last write).
                    "ttl": int(self._params.trending_window_days * SECONDS_PER_DAY) + 2 * domain.BUCKET_SECONDS}
            try:
                if current is None:
                    written = self._store.create(MODELS, body)
                else:
                    written = self._store.replace(MODELS, body, if_match=current[ETAG])
            except (errors.ConflictError, errors.PreconditionFailedError, errors.NotFoundError):
                self._last, lost_race, read_store = None, True, True
                races += 1
                continue   # another worker wrote this bucket meanwhile (or it expired): read and merge again
            self._last = written.document
            return True
        raise errors.UnavailableError(f"trending bucket {domain.bucket_id(start, part)} stayed contended; "
                                      "the batch will be redelivered")

    def _read(self, doc_id: str) -> dict | None:
        try:
            return self._store.read(MODELS, doc_id, domain.PARTITION)
        except errors.NotFoundError:
            return None


class TrendingBoard:
    """The serving side: the current trending scores, from buckets held in memory.

    The first use loads the window's buckets (one query, the caller waits). After that, when the view is
    older than `refresh_seconds`, a request starts one background refresh and goes on with the view it has:
    no request pays a store read beyond the first."""

    def __init__(self, store: DocumentStore, params: domain.RankingParams, refresh_seconds: float = 2.0,
                 clock: Callable[[], float] = time.time):
        self._store = store
        self.params = params
        self._refresh = refresh_seconds
        self._clock = clock
        self._buckets: dict[str, tuple[int, dict[str, list[str]]]] = {}
        self._joined: dict = {}   # hours of several parts, joined (domain.scores)
        self._newest_ts = 0
        self._ranked: list[tuple[str, float]] = []
        self._scores: dict[str, float] = {}
        self._revision = 0
        self._vectors: dict[tuple[str, int], np.ndarray | None] = {}
        self._loaded_at: float | None = None
        self._lock = threading.Lock()
        self._refresher: threading.Thread | None = None

    def ranked(self) -> list[tuple[str, float]]:
        """(product id, score), best first."""
        self._fresh()
        return self._ranked

    def vector_for(self, version: str, index: dict[str, int]) -> np.ndarray | None:
        """Scores aligned with a model's products (`index`: product id -> position), scaled so the best is 1;
        None when nothing trends. Built from the trending products alone: a catalogue of a million products
        must not be walked on each revision (every refresh is one)."""
        self._fresh()
        key = (version, self._revision)
        if key not in self._vectors:
            values = np.zeros(len(index), dtype=np.float64)
            for pid, score in self._scores.items():
                position = index.get(pid)
                if position is not None:
                    values[position] = score
            best = values.max() if len(values) else 0.0
            vectors = {k: v for k, v in self._vectors.items() if k[1] == self._revision}
            vectors[key] = values / best if best > 0 else None
            self._vectors = vectors
        return self._vectors[key]

    def refresh(self) -> int:
        """Read the buckets written since the newest `_ts` seen (`>=`: several writes share a second) and
        recompute the scores. Returns how many bucket documents were read."""
        with self._lock:
            since = self._newest_ts
        query = Query(partition_key=domain.PARTITION,
                      filters=(Filter("type", "=", domain.BUCKET_TYPE), Filter(TIMESTAMP, ">=", since)))
        changed = list(self._store.scan(MODELS, query))
        with self._lock:
            for doc in changed:
                self._buckets[doc["id"]] = (int(doc["startSeconds"]), doc["buyers"])
                self._newest_ts = max(self._newest_ts, int(doc.get(TIMESTAMP) or 0))
            self._recompute()
        return len(changed)

    def wait_for_refresh(self, timeout: float | None = None) -> None:
        refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout)

    def _fresh(self) -> None:
        if self._loaded_at is None:
            with self._lock:
                first = self._loaded_at is None
                if first:
                    self._loaded_at = time.monotonic()
            if first:
                try:
                    self.refresh()
                except Exception:
                    self._loaded_at = None   # the next request tries again; this one reports the failure
                    raise
        elif time.monotonic() - self._loaded_at >= self._refresh:
            self._start_refresh()

    def _start_refresh(self) -> None:
        with self._lock:
            if self._refresher is not None and self._refresher.is_alive():
                return
            self._loaded_at = time.monotonic()   # one refresh per interval, even when it fails
            self._refresher = threading.Thread(target=self._refresh_quietly, name="trending-refresh", daemon=True)
            self._refresher.start()

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - the next interval tries again; requests keep the view they have
            log.warning("trending refresh failed; keeping the current scores", exc_info=True)

    def _recompute(self) -> None:
        now = self._clock()
        oldest = now - self.params.trending_window_days * SECONDS_PER_DAY
        self._buckets = {key: value for key, value in self._buckets.items()
                         if value[0] + domain.BUCKET_SECONDS > oldest}
        found = domain.scores(self._buckets.values(), now, self.params, self._joined)
        self._scores, self._ranked = found, domain.ranked(found)
        self._revision += 1


def _approximate_bytes(bucket: dict) -> int:
    """A bucket's size as its writer estimated it (buckets written before the estimate existed: measured)."""
    known = bucket.get("approxBytes")
    return known if isinstance(known, int) else domain.bucket_bytes(bucket["buyers"])


def _order_seconds(orders: list[dict]) -> list[float]:
    """When each order counts (domain.order_time), for a whole batch in two vectorized conversions."""
    created = to_epoch_seconds([order["createdAt"] for order in orders])
    received = to_epoch_seconds([order["receivedAt"] if isinstance(order.get("receivedAt"), str)
                                 else order["createdAt"] for order in orders])
    return [domain.order_time(float(made), float(got)) for made, got in zip(created, received)]
