"""Orders -> the user x product matrix of time-decayed counts (step 1 of shared.domain.weighting), plus what
the serving side needs to fold in orders that arrive after training (reference time, received cutoff, and
the ids of orders received just before the cutoff)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
from scipy import sparse

from shared.domain.model_docs import FOLD_IN_OVERLAP_SECONDS
from shared.domain.validation import format_timestamp
from shared.domain.weighting import SECONDS_PER_DAY, decay, user_reference


def to_epoch_seconds(timestamps) -> np.ndarray:
    """Fixed-width UTC ISO strings ('...Z') -> float seconds, vectorized."""
    values = np.asarray([stamp.rstrip("Z") for stamp in timestamps], dtype="datetime64[ms]")
    return values.astype(np.int64) / 1000.0


def from_epoch_seconds(seconds: float) -> str:
    from datetime import datetime, timezone
    return format_timestamp(datetime.fromtimestamp(seconds, tz=timezone.utc))


@dataclass
class Interactions:
    user_ids: list[str]
    product_ids: list[str]
    raw: sparse.csr_matrix                     # decayed counts, users x products
    reference_time: str                        # newest createdAt of all (users' references: weighting.py)
    received_through: str                      # newest receivedAt: later orders are folded in at serving
    recent_order_ids: dict[str, list[str]] = field(default_factory=dict)
    orders: int = 0
    lines: int = 0
    user_reference_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))   # aligned with user_ids

    def user_reference(self, row: int) -> str:
        return from_epoch_seconds(float(self.user_reference_seconds[row]))

    @property
    def buyers_per_product(self) -> np.ndarray:
        return np.diff(self.raw.tocsc().indptr)


def collect(orders: Iterable[dict], half_life_days: float,
            overlap_seconds: float = FOLD_IN_OVERLAP_SECONDS) -> Interactions:
    """One pass over order documents; each order line adds a decayed unit to (user, product)."""
    user_index: dict[str, int] = {}
    product_index: dict[str, int] = {}
    cols: list[int] = []
    lines_per_order: list[int] = []
    order_users: list[int] = []
    order_ids: list[str] = []
    order_created: list[str] = []
    order_received: list[str] = []
    for order in orders:
        order_users.append(user_index.setdefault(order["userId"], len(user_index)))
        before = len(cols)
        cols.extend([product_index.setdefault(line["productId"], len(product_index)) for line in order["items"]])
        lines_per_order.append(len(cols) - before)
        order_ids.append(order["id"])
        order_created.append(order["createdAt"])
        order_received.append(order.get("receivedAt") or order["createdAt"])
    if not cols:
        empty = sparse.csr_matrix((0, 0), dtype=np.float32)
        return Interactions([], [], empty, format_timestamp_now(), format_timestamp_now())
    counts = np.asarray(lines_per_order)
    created_seconds = to_epoch_seconds(order_created)   # once per order, not per line
    reference = created_seconds.max()
    owners = np.asarray(order_users)
    newest = np.full(len(user_index), -np.inf)
    np.maximum.at(newest, owners, created_seconds)
    references = user_reference(reference, newest, half_life_days)
    weights = np.repeat(decay((references[owners] - created_seconds) / SECONDS_PER_DAY, half_life_days), counts)
    rows = np.repeat(owners, counts)
    raw = sparse.coo_matrix((weights, (rows, np.asarray(cols))),
                            shape=(len(user_index), len(product_index))).tocsr()
    raw.sum_duplicates()
    received = to_epoch_seconds(order_received)
    through = received.max()
    users = list(user_index)
    recent: dict[str, list[str]] = {}
    for position in np.nonzero(received >= through - overlap_seconds)[0]:
        recent.setdefault(users[order_users[position]], []).append(order_ids[position])
    return Interactions(users, list(product_index), raw.astype(np.float32), from_epoch_seconds(reference),
                        from_epoch_seconds(through), recent, len(order_ids), len(cols), references)


def format_timestamp_now() -> str:
    from datetime import datetime, timezone
    return format_timestamp(datetime.now(timezone.utc))
