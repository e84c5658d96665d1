"""The store backends the contract suite runs against. Each entry builds a fresh, empty store for one test."""
from __future__ import annotations

import uuid

import pytest

from shared.adapters.sqlite_store import SqliteStore
from shared.config import Settings
from tests.contract.cosmos_server import session_server

# Contract tests the Cosmos protocol server cannot pass, because it lacks the Cosmos DB feature they test
# (not because of the adapter). Each names where the adapter's part is checked instead.
COSMOS_SERVER_LACKS = {
    "test_a_document_with_ttl_expires":
        "@vercel/cosmosdb-server does not implement TTL (documents never expire); the adapter's part, creating "
        "containers with defaultTtl -1, is checked in test_cosmos_http_boundary.py",
    "test_read_if_changed_of_an_expired_document_is_not_found":
        "@vercel/cosmosdb-server does not implement TTL (documents never expire); on Cosmos DB an expired "
        "document is gone for every read, conditional or not",
}


def sqlite_backend(tmp_path, request):
    return SqliteStore(str(tmp_path / f"contract-{uuid.uuid4().hex}.sqlite3"))


def cosmos_backend(tmp_path, request):
    """A CosmosStore on the session's Cosmos protocol server, in a database of its own (created on first use)."""
    from shared.adapters.cosmos_store import CosmosStore
    reason = COSMOS_SERVER_LACKS.get(getattr(request.node, "originalname", request.node.name))
    if reason:
        pytest.skip(f"cosmos protocol server: {reason}")
    server = session_server(request)
    settings = Settings.from_env({
        "STORE_BACKEND": "cosmos",
        "COSMOS_ENDPOINT": server.endpoint,
        "COSMOS_KEY": server.key,
        "COSMOS_DATABASE": f"contract-{uuid.uuid4().hex}",
        "COSMOS_CREATE_IF_MISSING": "true",
        "COSMOS_VERIFY_TLS": "false",
    })
    return CosmosStore.from_settings(settings)


BACKENDS = {"sqlite": sqlite_backend, "cosmos": cosmos_backend}
