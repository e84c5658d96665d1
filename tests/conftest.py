"""Shared fixtures: a fresh SQLite store per test, wired into the composition root."""
from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from shared import bootstrap  # noqa: E402
from shared.adapters.sqlite_store import SqliteStore  # noqa: E402
from shared.config import Settings  # noqa: E402


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({"SQLITE_PATH": str(tmp_path / "store.sqlite3")})


@pytest.fixture
def sqlite_store(settings):
    store = SqliteStore(settings.sqlite_path)
    yield store
    store.close()


@pytest.fixture
def wired(settings, sqlite_store):
    """The composition root using a fresh SQLite store; reset afterwards."""
    bootstrap.override(settings=settings, store=sqlite_store)
    yield sqlite_store
    bootstrap.reset()
