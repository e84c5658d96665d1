"""The store backends the contract suite runs against. Each entry builds a fresh, empty store for one test."""
from __future__ import annotations

import uuid

from shared.adapters.sqlite_store import SqliteStore


def sqlite_backend(tmp_path, request):
    return SqliteStore(str(tmp_path / f"contract-{uuid.uuid4().hex}.sqlite3"))


BACKENDS = {"sqlite": sqlite_backend}
