"""Bought together: for each product, the products that appear in the same orders more often than chance.

One definition for both trainers (the Spark job computes the same in als_job.bought_together; a test compares):
- a basket is one order's distinct products; N is the number of orders, n_a the orders holding a, n_ab those
  holding a and b;
- a pair counts when n_ab >= min_support (a pair seen in one order is chance) and its lift is above 1,
  N * n_ab > n_a * n_b (more often together than if bought independently), compared in integers so both
  trainers decide alike;
- the partners of a are ranked by confidence n_ab / n_a (the share of a's orders that also hold b), ties by
  product id; the score is that confidence.
Confidence with the lift filter ranked best on the Online Retail held-out baskets (docs/evaluation.md): lift
alone favours rare products, cosine and Jaccard sit between.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
from scipy import sparse

BLOCK_PRODUCTS = 2048     # product rows per block of the co-occurrence product: bounds the memory


class BasketRecorder:
    """Records each order's products while another pass (shared.domain.interactions.collect) reads the
    same orders, so training reads the orders once."""

    def __init__(self):
        self.baskets: list[list[str]] = []

    def observe(self, orders: Iterable[dict]) -> Iterator[dict]:
        for order in orders:
            self.baskets.append([line["productId"] for line in order["items"]])
            yield order


def basket_matrix(baskets: Iterable[Iterable[str]], index: dict[str, int]) -> sparse.csr_matrix:
    """Orders x products, 1 where the order holds the product (each product once per order)."""
    rows: list[int] = []
    cols: list[int] = []
    count = 0
    for count, basket in enumerate(baskets, 1):
        distinct = {index[pid] for pid in basket if pid in index}
        rows.extend([count - 1] * len(distinct))
        cols.extend(distinct)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(count, len(index)))


def bought_together(baskets: Iterable[Iterable[str]], product_ids: list[str], k: int, min_support: int,
                    block: int = BLOCK_PRODUCTS) -> dict[str, list[list]]:
    """{product: [[partner, confidence], ...] best first, at most k}; products without a partner are left out."""
    index = {pid: i for i, pid in enumerate(product_ids)}
    matrix = basket_matrix(baskets, index)
    orders = matrix.shape[0]
    counts = np.asarray(matrix.sum(axis=0)).ravel()
    by_product = matrix.T.tocsr()
    names = np.asarray(product_ids, dtype=object)
    rank_of_name = np.argsort(np.argsort(names, kind="stable"), kind="stable")   # product id order, for ties
    result: dict[str, list[list]] = {}
    if k <= 0 or orders == 0:
        return result
    for start in range(0, len(product_ids), block):
        pairs = (by_product[start:start + block] @ matrix).tocoo()
        a, b, together = pairs.row + start, pairs.col, pairs.data
        keep = (a != b) & (together >= min_support) & (orders * together > counts[a] * counts[b])
        a, b, together = a[keep], b[keep], together[keep]
        # Within one product a, confidence n_ab / n_a orders as n_ab does: one integer key sorts by (a, -n_ab,
        # partner id) when it fits in 63 bits, which is much faster than a lexsort of three keys.
        most, products = int(together.max(initial=0)) + 1, len(product_ids)
        if len(product_ids) * most * products < 2 ** 62:
            order = np.argsort((a * most + (most - 1 - together)) * products + rank_of_name[b], kind="stable")
        else:
            order = np.lexsort((rank_of_name[b], -together, a))
        a, b, together = a[order], b[order], together[order]
        confidence = together / counts[a]
        bounds = np.flatnonzero(np.diff(a)) + 1
        for first, last in zip(np.r_[0, bounds], np.r_[bounds, len(a)]):
            if last > first:
                chosen = slice(first, min(last, first + k))
                result[product_ids[a[first]]] = [[names[j], round(float(c), 6)]
                                                 for j, c in zip(b[chosen].tolist(), confidence[chosen].tolist())]
    return result
