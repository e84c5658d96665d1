"""The Cosmos store at the HTTP boundary, for what the Cosmos protocol server cannot show: session tokens,
request charges, throttling and the other error statuses, concurrent writers, container settings and the
credential.

A small local HTTP server answers the few Cosmos DB REST calls involved the way Cosmos DB does (account,
database, container, partition key ranges, documents), so the real azure-cosmos request code runs. Like Cosmos
DB, each container has its own session tokens (its own LSN, its own `_rid`): a read presenting a token ahead of
what its container has written (say, a token from another container) is answered 404 with substatus 1002,
"read session not available". Every answer carries `x-ms-request-charge`: CHARGES below."""
from __future__ import annotations

import base64
import datetime
import itertools
import json
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
from azure.core.credentials import AccessToken
from azure.cosmos import CosmosClient

from shared.adapters.cosmos_store import CosmosStore
from shared.config import Settings
from shared.domain.errors import (ConflictError, NotFoundError, PreconditionFailedError, UnavailableError,
                                  ValidationError)
from shared.domain.ports import MODELS, ORDERS, PARTITION_KEYS, TRAINING_RUNS, USER_VECTORS, Filter, Query
from tests.contract.cosmos_server import EMULATOR_KEY, free_port

DATABASE = "db"
QUERY_PAGES = 3
# Request units this server charges, per kind of request (Cosmos DB: ~1 RU a 1 KB point read, ~5.7 a write).
CHARGES = {"read": 1.0, "write": 5.71, "query-page": 2.83, "metadata": 1.0}


class FakeCosmos(ThreadingHTTPServer):
    """Cosmos DB's REST API for one account, enough for the SDK's document calls. `fail` makes every
    request whose method and path match answer with a given status and headers instead."""

    daemon_threads = True

    def __init__(self, tls_context: ssl.SSLContext | None = None, *, empty: bool = False):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.empty = empty  # an empty account has no database or container until they are created
        self.created: set[str] = set()
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)
        scheme = "https" if tls_context is not None else "http"
        self.endpoint = f"{scheme}://127.0.0.1:{self.server_address[1]}/"
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, dict]] = []
        self.bodies: dict[tuple[str, str], dict] = {}  # (method, path) -> last JSON body
        self.documents: dict[tuple[str, str, str], dict] = {}  # (container, partition key, id) -> document
        self.issued_tokens: dict[str, str] = {}  # document id -> session token sent with its write
        self.failures: dict[tuple[str, str], tuple[int, dict]] = {}
        self.release_together: threading.Barrier | None = None
        self._lsn: dict[str, itertools.count] = {}   # per container, as in Cosmos DB
        self.lsn: dict[str, int] = {}                 # container -> its latest LSN
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    def fail(self, method: str, path_contains: str, status: int, headers: dict | None = None) -> None:
        self.failures[(method, path_contains)] = (status, headers or {})

    def headers_of(self, method: str, path_contains: str) -> list[dict]:
        with self.lock:
            return [headers for m, p, headers in self.requests if m == method and path_contains in p]

    def next_session_token(self, container: str) -> str:
        """The gateway's format: partition key range id, version, LSN (each container counts its own)."""
        number = next(self._lsn.setdefault(container, itertools.count(1)))
        self.lsn[container] = number
        return f"0:-1#{number}"

    def session_available(self, container: str, headers: dict) -> bool:
        """False when the request's session token is ahead of what `container` has written: Cosmos DB then
        cannot serve the read at that session (404/1002), which is what a token of another container gets."""
        token = headers.get("x-ms-session-token")
        if not token:
            return True
        lsns = [int(part.rsplit("#", 1)[-1]) for part in token.split(",") if "#" in part]
        return all(lsn <= self.lsn.get(container, 0) for lsn in lsns)


class _Handler(BaseHTTPRequestHandler):
    server: FakeCosmos
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        server, path = self.server, unquote(self.path.split("?")[0]).rstrip("/") or "/"
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        headers = {key.lower(): value for key, value in self.headers.items()}
        with server.lock:
            server.requests.append((method, path, headers))
            if body is not None:
                server.bodies[(method, path)] = body
        for (fail_method, fragment), (status, extra) in server.failures.items():
            if method == fail_method and fragment in path:
                return self._send(status, {"code": str(status), "message": "injected by the test"}, extra)
        if server.release_together is not None and method == "POST":
            server.release_together.wait(timeout=10)
        parts = path.strip("/").split("/")
        if path == "/":
            return self._send(200, _account(server.endpoint), {"x-ms-request-charge": "0"})
        if method == "GET" and len(parts) in (2, 4) and server.empty and path not in server.created:
            return self._send(404, {"code": "NotFound", "message": "Resource Not Found"})
        if method == "POST" and parts[-1] in ("dbs", "colls") and len(parts) in (1, 3):
            server.created.add(f"{path}/{body['id']}")
            return self._send(201, {**body, **_resource(body["id"], f"{path.strip('/')}/{body['id']}")})
        if method == "GET" and len(parts) == 2:
            return self._send(200, _resource(parts[1], path.strip("/")), _charged("metadata"))
        if method == "GET" and len(parts) == 4:
            return self._send(200, _container(parts[3]), _charged("metadata"))
        if method == "GET" and len(parts) == 5 and parts[4] == "pkranges":
            # A change feed of partition key ranges: the SDK reads until 304 Not Modified.
            if headers.get("if-none-match") == '"ranges-1"':
                return self._send(304, None, {"etag": '"ranges-1"'})
            return self._send(200, {"_rid": "cnRpZA==", "PartitionKeyRanges": [
                {"id": "0", "minInclusive": "", "maxExclusive": "FF", "parents": [], "status": "online"}],
                "_count": 1}, {"etag": '"ranges-1"'})
        if method == "POST" and headers.get("x-ms-documentdb-isquery", "").lower() == "true":
            return self._query(parts[3], headers)
        if len(parts) >= 5 and parts[4] == "docs":
            return self._document(method, parts[3], parts[5] if len(parts) > 5 else None, body, headers)
        self._send(404, {"code": "NotFound", "message": f"no route for {method} {path}"})

    def _document(self, method, container, doc_id, body, headers):
        server = self.server
        pk = json.loads(headers.get("x-ms-documentdb-partitionkey", "[null]"))[0]
        key = (container, pk, doc_id or (body or {}).get("id"))
        with server.lock:
            current = server.documents.get(key)
            if method == "GET":
                if not server.session_available(container, headers):
                    return self._send(404, {"code": "NotFound", "message": "The read session is not available "
                                            "for the input session token."},
                                      {"x-ms-substatus": "1002", **_charged("read")})
                if current is None:
                    return self._send(404, {"code": "NotFound", "message": "Entity does not exist"},
                                      _charged("read"))
                if headers.get("if-none-match") in (current["_etag"], "*"):   # Get a Document: 304, no body
                    return self._send(304, None, {"etag": current["_etag"], **_charged("read")})
                return self._send(200, current, {"x-ms-session-token": f"0:-1#{server.lsn.get(container, 0)}",
                                                 **_charged("read")})
            if method == "DELETE":
                if current is None:
                    return self._send(404, {"code": "NotFound", "message": "Entity does not exist"},
                                      _charged("write"))
                del server.documents[key]
                return self._send(204, None, _charged("write"))
            upsert = headers.get("x-ms-documentdb-is-upsert", "").lower() == "true"
            if method == "POST" and current is not None and not upsert:
                return self._send(409, {"code": "Conflict", "message": "Entity already exists"})
            if method == "PUT" and current is None:
                return self._send(404, {"code": "NotFound", "message": "Entity does not exist"})
            if method == "PUT" and headers.get("if-match") not in (None, current["_etag"]):
                return self._send(412, {"code": "PreconditionFailed", "message": "etag mismatch"})
            token = server.next_session_token(container)
            stored = {**body, "_rid": "rid", "_self": f"dbs/db/colls/{container}/docs/{body['id']}",
                      "_attachments": "attachments/", "_etag": f'"{token}"', "_ts": int(time.time())}
            server.documents[key] = stored
            server.issued_tokens[body["id"]] = token
        # Like Cosmos DB, name the container, so that the SDK's own session container takes the token in.
        self._send(201 if method == "POST" and current is None else 200, stored,
                   {"x-ms-session-token": token, "x-ms-alt-content-path": f"dbs/{DATABASE}/colls/{container}",
                    **_charged("write")})

    def _query(self, container, headers):
        """A partition holding stored documents answers them all in one page (the query's filters are not
        evaluated: tests store only documents that match). Any other partition has QUERY_PAGES pages of one
        document; the continuation names partition and page."""
        server = self.server
        pk = json.loads(headers.get("x-ms-documentdb-partitionkey", '["*"]'))[0]
        if not server.session_available(container, headers):
            return self._send(404, {"code": "NotFound", "message": "The read session is not available"},
                              {"x-ms-substatus": "1002", **_charged("query-page")})
        with server.lock:
            stored = [doc for (name, key, _), doc in server.documents.items() if name == container and key == pk]
        if stored:
            return self._send(200, {"_rid": _rid(container), "Documents": stored, "_count": len(stored)},
                              _charged("query-page"))
        page = int(headers.get("x-ms-continuation", "|0").split("|")[1])
        more = {"x-ms-continuation": f"{pk}|{page + 1}"} if page + 1 < QUERY_PAGES else {}
        self._send(200, {"_rid": _rid(container), "Documents": [{"id": f"{pk}-{page}", "userId": pk}], "_count": 1},
                   {**more, **_charged("query-page")})

    def _send(self, status: int, payload: dict | None, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _resource(name: str, self_link: str) -> dict:
    return {"id": name, "_rid": name, "_self": f"{self_link}/", "_etag": '"1"', "_ts": 1}


def _charged(kind: str) -> dict:
    return {"x-ms-request-charge": str(CHARGES[kind])}


def _rid(container: str) -> str:
    """Each container its own resource id: the SDK keys its session tokens by it."""
    return base64.b64encode(f"coll-{container}".encode()).decode()


def _container(name: str) -> dict:
    logical = {real: logical for logical, real in Settings().container_names().items()}.get(name)
    return {**_resource(name, f"dbs/{DATABASE}/colls/{name}"), "_rid": _rid(name),
            "partitionKey": {"paths": [f"/{PARTITION_KEYS.get(logical, 'id')}"], "kind": "Hash", "version": 2}}


def _account(endpoint: str) -> dict:
    location = [{"name": "Local", "databaseAccountEndpoint": endpoint}]
    return {"id": "local", "_rid": "local", "_self": "", "media": "//media/", "addresses": "//addresses/",
            "_dbs": "//dbs/", "writableLocations": location, "readableLocations": location,
            "enableMultipleWriteLocations": False, "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"},
            "userReplicationPolicy": {"minReplicaSetSize": 1, "maxReplicasetSize": 4},
            "systemReplicationPolicy": {"minReplicaSetSize": 1, "maxReplicasetSize": 4},
            "readPolicy": {"primaryReadCoefficient": 1, "secondaryReadCoefficient": 1},
            "queryEngineConfiguration": "{}"}


def settings_for(server: FakeCosmos, **extra: str) -> Settings:
    return Settings.from_env({"STORE_BACKEND": "cosmos", "COSMOS_ENDPOINT": server.endpoint,
                              "COSMOS_KEY": EMULATOR_KEY, "COSMOS_DATABASE": DATABASE, **extra})


@pytest.fixture
def server():
    with FakeCosmos() as running:
        yield running


@pytest.fixture
def store(server):
    instance = CosmosStore.from_settings(settings_for(server))
    yield instance
    instance.close()


def order(order_id: str, user: str = "u1") -> dict:
    return {"id": order_id, "userId": user, "createdAt": "2024-01-01T00:00:00.000Z", "items": []}


def test_a_write_returns_the_session_token_of_its_own_response(store, server):
    written = store.create(ORDERS, order("o1"))
    assert written.session_token == server.issued_tokens["o1"]
    assert written.document["_etag"] and isinstance(written.document["_ts"], int)
    assert not {"_rid", "_self", "_attachments"} & set(written.document)


def test_a_read_sends_the_session_token_it_was_given(store, server):
    token = store.create(ORDERS, order("o1")).session_token
    store.create(ORDERS, order("o2"))
    store.read(ORDERS, "o1", "u1", session_token=token)
    sent = server.headers_of("GET", "/docs/o1")
    assert sent[-1].get("x-ms-session-token") == token == "0:-1#1"
    assert sent[-1].get("x-ms-consistency-level") == "Session"


def test_concurrent_writers_each_get_their_own_session_token(store, server):
    # The server answers the writes of 8 threads at the same moment, and the interpreter switches threads
    # as often as it can: a token taken from the client's shared last_response_headers would then belong
    # to another thread's write.
    store.ping()  # connect first, so that only document writes meet at the barrier
    server.release_together = threading.Barrier(8)
    ids = [f"o{number}" for number in range(200)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            written = list(pool.map(lambda doc_id: store.upsert(ORDERS, order(doc_id, f"u{doc_id}")), ids))
    finally:
        sys.setswitchinterval(interval)
    assert len(set(server.issued_tokens.values())) == len(ids)
    assert [w.session_token for w in written] == [server.issued_tokens[doc_id] for doc_id in ids]


def test_query_pages_carry_the_continuation_of_their_own_response(store, server):
    for number in range(7):
        store.create(TRAINING_RUNS, {"id": f"r{number}"})   # the orders container reaches LSN 7 below
    for number in range(7):
        store.create(ORDERS, order(f"o{number}", "someone-else"))
    seen, continuation = [], None
    while True:
        page = store.query(ORDERS, Query(partition_key="u1", limit=1), continuation=continuation,
                           session_token="0:-1#7")
        seen.append(([doc["id"] for doc in page.items], page.continuation))
        if not (continuation := page.continuation):
            break
    assert seen == [(["u1-0"], "u1|1"), (["u1-1"], "u1|2"), (["u1-2"], None)]
    sent = [headers for headers in server.headers_of("POST", "/docs") if headers.get("x-ms-documentdb-isquery")]
    assert [headers.get("x-ms-continuation") for headers in sent] == [None, "u1|1", "u1|2"]
    assert {headers["x-ms-max-item-count"] for headers in sent} == {"1"}
    assert {headers["x-ms-session-token"] for headers in sent} == {"0:-1#7"}


def throttled_store(server: FakeCosmos) -> CosmosStore:
    """A store whose client gives up after one throttling retry, so the test is quick."""
    return CosmosStore(lambda: CosmosClient(server.endpoint, EMULATOR_KEY, consistency_level="Session",
                                            retry_throttle_total=1, retry_backoff_max=1),
                       DATABASE, Settings().container_names())


def test_throttling_ends_as_unavailable_with_retry_after(server):
    server.fail("POST", "/docs", 429, {"x-ms-retry-after-ms": "20", "x-ms-substatus": "3200"})
    store = throttled_store(server)
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        store.create(ORDERS, order("o1"))
    assert caught.value.retry_after == pytest.approx(0.02)
    assert len(server.headers_of("POST", "/docs")) == 2  # the SDK retried once, as configured
    assert time.monotonic() - started < 5
    store.close()


@pytest.mark.parametrize("status, error", [
    (404, NotFoundError), (409, ConflictError), (412, PreconditionFailedError), (400, ValidationError),
    (503, UnavailableError), (403, UnavailableError), (401, UnavailableError)])
def test_error_statuses_become_domain_errors(server, status, error):
    store = throttled_store(server)
    server.fail("PUT", "/docs/r1", status)
    with pytest.raises(error) as caught:
        store.replace(TRAINING_RUNS, {"id": "r1", "state": "x"}, if_match='"etag"')
    assert type(caught.value) is error
    if status in (401, 403):
        assert "credentials" in caught.value.message
    store.close()


def test_statuses_cosmos_itself_answers(store, server):
    first = store.create(TRAINING_RUNS, {"id": "r1", "state": "pending"})
    with pytest.raises(ConflictError):
        store.create(TRAINING_RUNS, {"id": "r1", "state": "pending"})
    store.replace(TRAINING_RUNS, {"id": "r1", "state": "running"}, if_match=first.document["_etag"])
    assert server.headers_of("PUT", "/docs/r1")[-1]["if-match"] == first.document["_etag"]
    with pytest.raises(PreconditionFailedError):
        store.replace(TRAINING_RUNS, {"id": "r1", "state": "failed"}, if_match=first.document["_etag"])
    with pytest.raises(NotFoundError):
        store.read(TRAINING_RUNS, "ghost", "ghost")


def test_an_unreachable_account_is_unavailable():
    endpoint = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    store = CosmosStore(lambda: CosmosClient(endpoint, EMULATOR_KEY, retry_total=1, retry_backoff_max=1,
                                             connection_timeout=2), DATABASE, Settings().container_names())
    with pytest.raises(UnavailableError):
        store.ping()


def test_create_if_missing_creates_containers_with_their_partition_key_and_ttl():
    with FakeCosmos(empty=True) as server:
        store = CosmosStore.from_settings(settings_for(server, COSMOS_CREATE_IF_MISSING="true"))
        for container in (ORDERS, MODELS, USER_VECTORS, TRAINING_RUNS):
            store.upsert(container, {"id": "x", PARTITION_KEYS[container]: "x"})
            definition = server.bodies[("POST", f"/dbs/{DATABASE}/colls")]
            assert definition["id"] == Settings().container_names()[container]
            assert definition["partitionKey"]["paths"] == [f"/{PARTITION_KEYS[container]}"]
            # Without a container default TTL Cosmos ignores a document's `ttl`; -1: no expiry by default.
            assert definition["defaultTtl"] == -1
        assert server.bodies[("POST", "/dbs")]["id"] == DATABASE
        store.close()


def test_without_create_if_missing_nothing_is_created(store, server):
    store.upsert(ORDERS, order("o1"))
    assert not [path for method, path, _ in server.requests if method == "POST" and not path.endswith("/docs")]


def test_query_field_names_are_checked_before_anything_is_sent(store, server):
    with pytest.raises(ValueError):
        store.query(ORDERS, Query(partition_key="u1", filters=(Filter('x"] OR 1=1 OR c["y', "=", 1),)))
    with pytest.raises(ValueError):
        store.query(ORDERS, Query(partition_key="u1", order_by="createdAt DESC, c.id"))
    assert server.requests == []


# -- credentials ------------------------------------------------------------------------------------------

def test_without_a_key_from_settings_uses_default_azure_credential():
    from azure.identity import DefaultAzureCredential
    env = {"STORE_BACKEND": "cosmos", "COSMOS_ENDPOINT": "https://account.documents.azure.com:443/"}
    store = CosmosStore.from_settings(Settings.from_env(env))  # builds no client yet: no network
    assert isinstance(store.credential, DefaultAzureCredential)
    store.close()
    assert CosmosStore.from_settings(Settings.from_env({**env, "COSMOS_KEY": "a2V5"})).credential == "a2V5"


class FakeTokenCredential:
    def __init__(self):
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return AccessToken("fake-aad-token", int(time.time()) + 3600)

    def close(self):
        pass


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # a self-signed test server
def test_the_token_credential_signs_requests(tmp_path):
    # Bearer tokens are only sent over https (azure-core refuses plain http), so this server speaks TLS.
    credential = FakeTokenCredential()
    with FakeCosmos(_self_signed_tls(tmp_path)) as server:
        settings = Settings.from_env({"STORE_BACKEND": "cosmos", "COSMOS_ENDPOINT": server.endpoint,
                                      "COSMOS_DATABASE": DATABASE, "COSMOS_VERIFY_TLS": "false"})
        store = CosmosStore.from_settings(settings, credential_factory=lambda: credential)
        store.upsert(ORDERS, order("o1"))
        store.close()
        authorization = server.headers_of("POST", "/docs")[-1]["authorization"]
    assert unquote(authorization) == "type=aad&ver=1.0&sig=fake-aad-token"
    assert credential.scopes and credential.scopes[0][0].endswith("/.default")


def _self_signed_tls(tmp_path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


# -- session tokens are per container; request charges ---------------------------------------------------------------

def test_a_token_of_another_container_is_refused_as_cosmos_does_and_is_not_taken_for_a_missing_document(store):
    store.upsert(USER_VECTORS, {"id": "u1", "userId": "u1", "modelVersion": "v"})
    tokens = [store.create(ORDERS, order(f"o{number}")).session_token for number in range(3)]
    assert store.read(USER_VECTORS, "u1", "u1")["id"] == "u1"
    with pytest.raises(UnavailableError) as caught:          # not NotFoundError: the document exists
        store.read(USER_VECTORS, "u1", "u1", session_token=tokens[-1])
    assert "1002" in caught.value.message


def test_recommendations_send_the_order_session_token_to_the_orders_query_only(store, server, tmp_path):
    from shared.adapters.sqlite_store import SqliteStore
    from shared.services.catalogue import Catalogue
    from shared.services.model_cache import ModelCache
    from shared.services.models import ModelRegistry
    from shared.services.orders import OrderService
    from shared.services.recommendations import RecommendationService
    from tests.builders import clustered_orders, trained
    # The model is served from memory; it may come from any store. The shopper's documents live in "Cosmos".
    models = SqliteStore(str(tmp_path / "models.sqlite3"))
    trained(models, ModelRegistry(models), clustered_orders())
    store.upsert(USER_VECTORS, models.read(USER_VECTORS, "u001", "u001"))
    placed = [OrderService(store).place({"orderId": f"new-{number}", "userId": "u001",
                                         "items": [{"productId": "p005", "quantity": 1}]}) for number in range(3)]
    token = placed[-1].session_token
    assert token == "0:-1#3" and server.lsn[USER_VECTORS] == 1   # the orders container is ahead of userVectors
    service = RecommendationService(store, ModelCache(models), Catalogue(models))
    result = service.for_user("u001", session_token=token)
    assert result["strategy"] == "personalized"                     # not a cold start
    [vector_read] = server.headers_of("GET", f"/colls/{USER_VECTORS}/docs/u001")
    assert vector_read.get("x-ms-session-token") != token
    queries = [headers for headers in server.headers_of("POST", f"/colls/{ORDERS}/docs")
               if headers.get("x-ms-documentdb-isquery")]
    assert [headers["x-ms-session-token"] for headers in queries] == [token]
    models.close()


def test_every_store_call_reports_the_request_charge_of_its_own_responses(store, server):
    from shared import store_calls
    store.create(ORDERS, order("o1"))   # connects first: account and container metadata are not store calls
    with store_calls.recording() as calls:
        store.upsert(ORDERS, order("o2"))
        store.read(ORDERS, "o1", "u1")
        with pytest.raises(NotFoundError):
            store.read(ORDERS, "ghost", "u1")
        store.query(TRAINING_RUNS, Query(partition_key="x"))               # three pages
    assert [(call.operation, call.kind, call.charge) for call in calls.calls] == [
        ("upsert", store_calls.WRITE, CHARGES["write"]), ("read", store_calls.POINT_READ, CHARGES["read"]),
        ("read", store_calls.POINT_READ, CHARGES["read"]),
        ("query", store_calls.SINGLE_PARTITION_QUERY, pytest.approx(3 * CHARGES["query-page"]))]
    assert all(call.container in (ORDERS, TRAINING_RUNS) and call.duration_ms > 0 for call in calls.calls)


def test_a_conditional_read_sends_if_none_match_and_takes_a_304_as_not_modified(store, server):
    """If-None-Match carries the etag as Cosmos DB gave it (quoted); the 304 (no body) is None, charged, reported
    as a point read of nothing and neither retried nor an error; an etag that is not Cosmos DB's (`*`, empty, one
    no header can carry) is a plain read: `*` would match any document."""
    from shared import store_calls
    etag = store.create(ORDERS, order("o1")).document["_etag"]
    with store_calls.recording() as calls:
        assert store.read_if_changed(ORDERS, "o1", "u1", etag) is None
    assert [headers.get("if-none-match") for headers in server.headers_of("GET", "/docs/o1")] == [etag]
    assert [(call.operation, call.kind, call.charge, call.items, call.item_bytes) for call in calls.calls] == [
        ("read_if_changed", store_calls.POINT_READ, CHARGES["read"], 0, 0)]
    changed = store.upsert(ORDERS, order("o1")).document["_etag"]
    assert store.read_if_changed(ORDERS, "o1", "u1", etag)["_etag"] == changed
    for not_an_etag in ("*", "", "bad\r\nvalue"):
        assert store.read_if_changed(ORDERS, "o1", "u1", not_an_etag)["_etag"] == changed
    assert [headers.get("if-none-match") for headers in server.headers_of("GET", "/docs/o1")] == \
        [etag, etag, None, None, None]
    server.fail("GET", "/docs/o1", 404)
    with pytest.raises(NotFoundError):
        store.read_if_changed(ORDERS, "o1", "u1", changed)


def test_delete_partition_queries_one_partition_for_ids_and_deletes_each_in_it(store, server):
    """One single-partition query for the ids, then a DELETE per id with that partition key; an id already gone
    (deleted meanwhile) is not an error. Each call is reported with its request charge."""
    from shared import store_calls
    for doc_id in ("o1", "o2", "o3"):
        store.create(ORDERS, order(doc_id))
    store.create(ORDERS, order("o1", user="u2"))
    server.fail("DELETE", "/docs/o2", 404)   # as if a concurrent request deleted it first
    with store_calls.recording() as calls:
        assert store.delete_partition(ORDERS, "u1") == 2
    queries = [headers for headers in server.headers_of("POST", "/colls/orders/docs")
               if headers.get("x-ms-documentdb-isquery", "").lower() == "true"]
    assert [headers["x-ms-documentdb-partitionkey"] for headers in queries] == ['["u1"]']
    assert server.bodies[("POST", "/dbs/db/colls/orders/docs")]["query"] == 'SELECT c.id FROM c WHERE c["userId"] = @pk'
    deletes = sorted(path for method, path, _ in server.requests if method == "DELETE")
    assert deletes == [f"/dbs/db/colls/orders/docs/o{n}" for n in (1, 2, 3)]
    assert {headers["x-ms-documentdb-partitionkey"] for headers in server.headers_of("DELETE", "/docs/")} == {'["u1"]'}
    assert sorted(key for key in server.documents if key[0] == "orders") == [("orders", "u1", "o2"),
                                                                            ("orders", "u2", "o1")]
    assert [(call.operation, call.kind) for call in calls.calls] == [
        ("query", store_calls.SINGLE_PARTITION_QUERY)] + [("delete", store_calls.WRITE)] * 3
    assert calls.calls[0].charge == CHARGES["query-page"]
