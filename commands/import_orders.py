"""`manage.py import-orders PATH`: Online Retail / Online Retail II CSV (gzipped or not) or JSON lines of API
orders, through the same validation as POST /api/orders; fills the catalogue from descriptions and prices."""
from __future__ import annotations

import json
import os
import sys

from shared import bootstrap
from shared.domain.ports import PRODUCTS
from shared.services.order_import import ImportStats, import_orders, open_text


def add_arguments(parser) -> None:
    parser.add_argument("path", help="orders file (.csv, .csv.gz or .jsonl)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    if not os.path.exists(args.path):
        print(f"error: no such file: {args.path}", file=sys.stderr)
        return 2
    stats = import_file(args.path, progress=not args.no_progress)
    summary = stats.to_json()
    print(f"Read {summary['lines']} lines: {summary['accepted']} accepted into {summary['orders']} new orders")
    for reason, count in summary["rejected"].items():
        print(f"  rejected {count:>7}  {reason}")
    if args.json:
        print(json.dumps(summary))
    return 0


def import_file(path: str, progress: bool = True) -> ImportStats:
    store = bootstrap.store()
    stats, catalogue = ImportStats(), {}
    bar = _progress(path) if progress else None
    with open_text(path) as handle:
        try:
            import_orders(handle, bootstrap.order_service(), stats, catalogue,
                          on_order=(lambda s: bar.update(s.lines - bar.n)) if bar is not None else None)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
    if bar is not None:   # a tqdm without a total has no truth value: bool(bar) raises
        bar.close()
    _merge_catalogue(store, catalogue)
    return stats


def _merge_catalogue(store, catalogue: dict) -> None:
    """Add title and latest price; keep what the catalogue already knows (category, stock)."""
    existing = {doc["id"]: doc for doc in store.scan(PRODUCTS)}
    merged = []
    for product_id, fields in catalogue.items():
        doc = {key: value for key, value in existing.get(product_id, {"inStock": True}).items()
               if not key.startswith("_")}
        doc.update(fields)
        merged.append(doc)
    store.upsert_many(PRODUCTS, merged)


def _progress(path: str):
    from tqdm import tqdm
    return tqdm(desc="import", unit=" lines", file=sys.stderr, mininterval=0.5)
