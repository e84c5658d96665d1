"""The Azure Cosmos DB document store (NoSQL API, azure-cosmos SDK). Vendor errors become domain errors here;
nothing outside this module imports azure.cosmos."""
from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

import orjson
from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.cosmos import CosmosClient, PartitionKey
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared.domain.errors import (ConflictError, DomainError, NotFoundError, PayloadTooLargeError,
                                  PreconditionFailedError, UnavailableError, ValidationError)
from shared.domain.ports import (NOT_IN, PARTITION_KEYS, Document, Page, Query, StoreInfo, Written,
                                 partition_key_of, patch_fields)
from shared import store_calls
from shared.store_calls import PATCH, POINT_READ, WRITE, query_kind

_SYSTEM_FIELDS = ("_rid", "_self", "_attachments")  # _etag and _ts are part of the port's contract
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPS = ("=", "!=", ">", ">=", "<", "<=")
_WRITE_THREADS = 8
_SCAN_PAGE = 1000
_RACE_RETRIES = 3


class CosmosStore:
    """Thread-safe. The CosmosClient is built on first use: its constructor already reads the account."""

    embedded = False
    backend = "cosmos"

    def __init__(self, connect: Callable[[], Any], database: str, container_names: dict[str, str], *,
                 create_if_missing: bool = False, endpoint: str = "", credential: Any = None):
        self._connect, self.database_name, self.container_names = connect, database, dict(container_names)
        self.create_if_missing, self.endpoint = create_if_missing, endpoint
        self.credential = credential  # kept to close it, and for tests to see which one is used
        self._lock = threading.Lock()
        self._client: Any = None
        self._database: Any = None
        self._containers: dict[str, Any] = {}

    @classmethod
    def from_settings(cls, settings, *, credential_factory: Callable[[], Any] | None = None) -> "CosmosStore":
        """The account key when COSMOS_KEY is set, else DefaultAzureCredential (managed identity in Azure)."""
        credential: Any = settings.cosmos_key
        if not credential:
            if credential_factory is None:
                from azure.identity import DefaultAzureCredential
                credential_factory = DefaultAzureCredential
            credential = credential_factory()

        def connect() -> CosmosClient:
            return CosmosClient(settings.cosmos_endpoint, credential,
                                consistency_level=settings.cosmos_consistency_level,
                                connection_verify=settings.cosmos_verify_tls)
        return cls(connect, settings.cosmos_database, settings.container_names(), endpoint=settings.cosmos_endpoint,
                   create_if_missing=settings.cosmos_create_if_missing, credential=credential)

    def _db(self) -> Any:
        with self._lock:
            if self._database is None:
                self._client = self._connect()
                self._database = (self._client.create_database_if_not_exists(self.database_name)
                                  if self.create_if_missing else self._client.get_database_client(self.database_name))
            return self._database

    def _container(self, container: str) -> Any:
        client = self._containers.get(container)
        if client is None:
            field, database = PARTITION_KEYS[container], self._db()
            with self._lock:
                # Default TTL -1: nothing expires unless a document sets `ttl` (as in the SQLite store);
                # without a container default, Cosmos DB ignores a document's `ttl`.
                client = self._containers.get(container) or (database.create_container_if_not_exists(
                    self.container_names[container], PartitionKey(path=f"/{field}"), default_ttl=-1)
                    if self.create_if_missing else database.get_container_client(self.container_names[container]))
                self._containers[container] = client
        return client

    def _call(self, what: str, action: Callable[[], Any], *, idempotent: bool = False) -> Any:
        for attempt in range(_RACE_RETRIES + 1):
            try:
                return action()
            except AzureError as error:
                raise _translate(error, what) from error
            except RuntimeError as error:
                # azure-cosmos 4.17 copies the client's shared last_response_headers while another thread's
                # request rewrites them ("mutated during iteration"); a read can simply be asked again.
                if not idempotent or "during iteration" not in str(error) or attempt == _RACE_RETRIES:
                    raise UnavailableError(f"Cosmos DB client failed for {what}: {error}") from error
        raise AssertionError("unreachable")

    def _measured(self, container: str, operation: str, kind: str, what: str, action: Callable[["_Responses"], Any],
                  *, idempotent: bool = False, sized: Callable[[Any], tuple[int, int]] | None = None) -> Any:
        """Run one store call with its own response hook and report it (store_calls) even when it fails."""
        responses, started, result = _Responses(), time.perf_counter(), None
        try:
            result = self._call(what, lambda: action(responses), idempotent=idempotent)
            return result
        except DomainError as error:
            responses.add_error(error.__cause__)
            raise
        finally:
            items, size = (sized(result) if sized is not None and result is not None and store_calls.measuring()
                           else (0, 0))
            store_calls.record_store_call(container, operation, kind, responses.charge,
                                          (time.perf_counter() - started) * 1000, items=items, item_bytes=size)

    def _write(self, container: str, doc: Document, method: str, *args: Any, **options: Any) -> Written:
        _checked(container, doc)
        # The session token must come from this request's own response: client_connection.last_response_headers
        # is shared by all threads. Not item.get_response_headers() either: azure-cosmos 4.17 writes retry
        # counters into whatever last_response_headers points at, so copying those can fail mid-iteration.
        item, token = self._measured(
            container, method.removesuffix("_item"), WRITE, f"{container} document {doc['id']!r}",
            lambda hook: (getattr(self._container(container), method)(*args, doc, response_hook=hook, **options),
                          hook.session_token), sized=lambda found: _sized([found[0]]))
        return Written(_clean(item), token)

    # -- DocumentStore -----------------------------------------------------------------------------
    def create(self, container: str, doc: Document) -> Written:
        return self._write(container, doc, "create_item")

    def upsert(self, container: str, doc: Document) -> Written:
        return self._write(container, doc, "upsert_item")

    def replace(self, container: str, doc: Document, *, if_match: str | None = None) -> Written:
        options = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        return self._write(container, doc, "replace_item", doc.get("id"), **options)

    def upsert_many(self, container: str, docs: Iterable[Document]) -> int:
        """Upserts in parallel. NOT atomic: Cosmos DB has no transaction across partition keys, so after an
        error some documents may be written; upserts are idempotent, so the caller retries the whole batch."""
        batch = [_checked(container, doc) for doc in docs]
        if not batch:
            return 0
        with ThreadPoolExecutor(max_workers=min(_WRITE_THREADS, len(batch))) as pool:
            return sum(1 for _ in pool.map(lambda doc: self.upsert(container, doc), batch))

    def patch(self, container: str, doc_id: str, partition_key: str, *, set_fields: dict[str, Any] | None = None,
              increments: dict[str, int | float] | None = None) -> Written:
        """Cosmos DB partial document update: the document is not sent, only the operations (at most 10)."""
        patch_fields(container, set_fields, increments)
        operations = ([{"op": "set", "path": f"/{_field(name)}", "value": value}
                       for name, value in (set_fields or {}).items()] +
                      [{"op": "incr", "path": f"/{_field(name)}", "value": value}
                       for name, value in (increments or {}).items()])
        item, token = self._measured(
            container, "patch", PATCH, f"{container} document {doc_id!r}",
            lambda hook: (self._container(container).patch_item(doc_id, partition_key, operations, response_hook=hook),
                          hook.session_token), sized=lambda found: _sized([found[0]]))
        return Written(_clean(item), token)

    def read(self, container: str, doc_id: str, partition_key: str, *, session_token: str | None = None) -> Document:
        return self._point_read(container, "read", doc_id, partition_key, session_token)

    def read_if_changed(self, container: str, doc_id: str, partition_key: str, etag: str, *,
                        session_token: str | None = None) -> Document | None:
        """`If-None-Match: <etag>`: Cosmos DB answers 304 Not Modified with no body when the document still has
        that etag. azure-cosmos 4.17 raises only for statuses >= 400 and returns an empty CosmosDict for an
        answer without a body, so an empty item is the 304 (a stored document always has an id)."""
        if not _sendable_etag(etag):
            # Never an etag of Cosmos DB's: `*` would match every document, the SDK refuses an empty one, and a
            # header cannot carry control characters. Such an etag matches nothing: the document comes back.
            return self._point_read(container, "read_if_changed", doc_id, partition_key, session_token)
        return self._point_read(container, "read_if_changed", doc_id, partition_key, session_token,
                                etag=etag, match_condition=MatchConditions.IfModified)

    def _point_read(self, container: str, operation: str, doc_id: str, partition_key: str,
                    session_token: str | None, **conditions: Any) -> Document | None:
        options = {"session_token": session_token, **conditions} if session_token else conditions

        def read_item(hook: _Responses) -> dict | None:
            item = self._container(container).read_item(doc_id, partition_key=partition_key, response_hook=hook,
                                                        **options)
            return None if conditions and not item else item   # None: 304, a point read of nothing
        found = self._measured(container, operation, POINT_READ, f"{container} document {doc_id!r}", read_item,
                               idempotent=True, sized=lambda item: _sized([item]))
        return None if found is None else _clean(found)

    def delete(self, container: str, doc_id: str, partition_key: str) -> None:
        self._measured(container, "delete", WRITE, f"{container} document {doc_id!r}",
                       lambda hook: self._container(container).delete_item(doc_id, partition_key=partition_key,
                                                                           response_hook=hook))

    def delete_partition(self, container: str, partition_key: str) -> int:
        """The partition's ids by one single-partition query, then one delete each. Not the SDK's
        delete_all_items_by_partition_key: that is a public preview (no SLA) that fails unless the account has the
        DeleteAllItemsByPartitionKey capability enabled."""
        ids = self._measured(container, "query", query_kind(partition_key), f"{container} partition {partition_key!r}",
                             lambda hook: [item["id"] for item in self._items(
                                 container, Query(partition_key=partition_key), _SCAN_PAGE, hook=hook,
                                 select="c.id")], idempotent=True)
        deleted = 0
        for doc_id in ids:
            try:
                self.delete(container, doc_id, partition_key)
                deleted += 1
            except NotFoundError:   # deleted meanwhile (a concurrent or repeated request): gone either way
                pass
        return deleted

    def query(self, container: str, query: Query, *, continuation: str | None = None,
              session_token: str | None = None) -> Page:
        # The next page's token, too, comes from this query's own responses: the SDK's by_page()
        # continuation_token is read from the shared client_connection.last_response_headers.
        def run(hook: _Responses) -> Page:
            pages = self._items(container, query, query.limit, session_token, hook).by_page(continuation)
            if query.limit is None:
                return Page([_clean(item) for page in pages for item in page])
            for page in pages:
                items = [_clean(item) for item in page]
                if items or not hook.continuation:  # skip empty pages that still have a continuation
                    return Page(items, hook.continuation)
            return Page([])
        return self._measured(container, "query", query_kind(query.partition_key), f"query on {container}", run,
                              idempotent=True, sized=lambda page: _sized(page.items))

    def scan(self, container: str, query: Query | None = None) -> Iterator[Document]:
        query = query or Query()
        hook, started, count, size = _Responses(), time.perf_counter(), 0, 0
        measuring = store_calls.measuring()
        try:
            items = self._call(f"scan of {container}", lambda: iter(self._items(container, query, _SCAN_PAGE,
                                                                                 hook=hook)))
            while (item := self._call(f"scan of {container}", lambda: next(items, None))) is not None:
                count += 1
                size += _sized([item])[1] if measuring else 0
                yield _clean(item)
        finally:  # also when the caller stops early: what was read so far was paid for
            store_calls.record_store_call(container, "scan", query_kind(query.partition_key), hook.charge,
                                          (time.perf_counter() - started) * 1000, items=count, item_bytes=size)

    def count(self, container: str, query: Query | None = None) -> int:
        """Counted by Cosmos DB (the SDK adds up the partitions); order_by and limit do not apply."""
        query = replace(query or Query(), order_by=None, limit=None)
        return self._measured(container, "count", query_kind(query.partition_key), f"count of {container}",
                              lambda hook: sum(self._items(container, query, hook=hook, select="VALUE COUNT(1)")),
                              idempotent=True)

    def ping(self) -> StoreInfo:
        """Reads the database's metadata: metadata requests have their own low rate limit, so this is for
        start-up checks and tools, never for a path that runs per request (health reads a document instead)."""
        try:
            self._measured("(database)", "ping", store_calls.METADATA, "the Cosmos DB database",
                           lambda hook: self._db().read(response_hook=hook))
        except NotFoundError as error:
            raise UnavailableError(f"Cosmos DB database {self.database_name!r} does not exist") from error
        return StoreInfo("cosmos", {"endpoint": self.endpoint, "database": self.database_name})

    def close(self) -> None:
        with self._lock:
            client, self._client, self._database = self._client, None, None
            self._containers.clear()
        if client is not None:
            client.close()
        if hasattr(self.credential, "close"):
            self.credential.close()

    def _items(self, container: str, query: Query, page_size: int | None = None, session_token: str | None = None,
               hook: Callable | None = None, select: str = "*"):
        sql, parameters = _sql(container, query, select)
        options: dict[str, Any] = {key: value for key, value in (
            ("max_item_count", page_size), ("session_token", session_token), ("response_hook", hook)) if value}
        if query.partition_key is not None:
            options["partition_key"] = query.partition_key
        else:
            options["enable_cross_partition_query"] = True
        return self._container(container).query_items(sql, parameters=parameters, **options)


class _Responses:
    """The response hook of one store call: the session token and continuation of its latest response, and
    the request charge (`x-ms-request-charge`) summed over all its responses (a query has one per page)."""

    def __init__(self):
        self.session_token: str | None = None
        self.continuation: str | None = None
        self.charge: float | None = None

    def __call__(self, headers, _body) -> None:
        self.session_token = headers.get("x-ms-session-token") or None
        self.continuation = headers.get("x-ms-continuation") or None
        self._add_charge(headers.get("x-ms-request-charge"))

    def add_error(self, error: BaseException | None) -> None:
        """A refused request is charged too (a 404 point read costs like a hit); 429s report 0."""
        if isinstance(error, CosmosHttpResponseError) and error.headers:
            self._add_charge(error.headers.get("x-ms-request-charge"))

    def _add_charge(self, value: str | None) -> None:
        if value:
            try:
                self.charge = (self.charge or 0.0) + float(value)
            except ValueError:
                pass


def _sized(items: Iterable[dict]) -> tuple[int, int]:
    """(count, JSON bytes) of documents, for the store-call report; computed only when someone listens."""
    count = size = 0
    for item in items:
        count += 1
        size += len(orjson.dumps(item, default=str))
    return count, size


def _sql(container: str, query: Query, select: str = "*") -> tuple[str, list[dict[str, Any]]]:
    """Parameterized SQL. Values are always parameters; field names cannot be, so they are checked."""
    where, parameters = [], []
    if query.partition_key is not None:
        # Redundant with partition_key= on Cosmos DB, but it keeps the query right on its own (and the
        # protocol server used in tests routes by the SQL text).
        where.append(f'c["{PARTITION_KEYS[container]}"] = @pk')
        parameters.append({"name": "@pk", "value": query.partition_key})
    for number, item in enumerate(query.filters):
        if item.op == NOT_IN:
            where.append(f'NOT ARRAY_CONTAINS(@v{number}, c["{_field(item.field)}"])')
            parameters.append({"name": f"@v{number}", "value": list(item.value)})
            continue
        if item.op not in _OPS:
            raise ValueError(f"unsupported operator {item.op!r}")
        where.append(f'c["{_field(item.field)}"] {item.op} @v{number}')
        parameters.append({"name": f"@v{number}", "value": item.value})
    sql = f"SELECT {select} FROM c" + (f" WHERE {' AND '.join(where)}" if where else "")
    if query.order_by:
        sql += f' ORDER BY c["{_field(query.order_by)}"] {"DESC" if query.descending else "ASC"}'
    return sql, parameters


def _field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"field name {name!r} is not allowed in a query")
    return name


def _checked(container: str, doc: Document) -> Document:
    if not isinstance(doc.get("id"), str) or not doc["id"]:
        raise ValueError(f"document for {container} needs a string 'id'")
    partition_key_of(container, doc)
    return doc


def _sendable_etag(etag: str) -> bool:
    """An etag that can go in an If-None-Match header as a value to compare (not the wildcard `*`)."""
    return isinstance(etag, str) and etag not in ("", "*") and etag.isascii() and etag.isprintable() and \
        etag == etag.strip()


def _clean(item: dict) -> Document:
    return {key: value for key, value in item.items() if key not in _SYSTEM_FIELDS}


def _translate(error: AzureError, what: str) -> DomainError:
    """The one table from Cosmos DB answers to domain errors."""
    status = error.status_code if isinstance(error, CosmosHttpResponseError) else None
    sub_status = getattr(error, "sub_status", None)
    if status == 404 and sub_status == 1002:
        # Read session not available: the replica has not caught up with the session token sent (or the
        # token came from another container). Not "the document does not exist": never serve that as missing.
        return UnavailableError(f"Cosmos DB could not serve {what} at the session token sent (404/1002, read "
                                "session not available); retry")
    if status == 404 and sub_status == 1003:
        return UnavailableError(f"Cosmos DB has no such database or container for {what} (404/1003): check "
                                "COSMOS_DATABASE and the container settings")
    simple = {404: (NotFoundError, "not found"), 409: (ConflictError, "already exists"),
              412: (PreconditionFailedError, "was changed by someone else"),
              413: (PayloadTooLargeError, "is larger than Cosmos DB allows (2 MB)"),
              400: (ValidationError, "was rejected as invalid (is a session or continuation token wrong?)")}
    if status in simple:
        kind, text = simple[status]
        return kind(f"{what} {text}")
    if status is None:  # no answer: connection refused, DNS, TLS, timeout
        return UnavailableError(f"Cosmos DB is not reachable ({type(error).__name__}) for {what}")
    if status in (401, 403):
        return UnavailableError(f"Cosmos DB refused the credentials (status {status}): check COSMOS_KEY, or the "
                                "managed identity's Cosmos DB data-plane role assignment")
    retry_after = (error.headers or {}).get("x-ms-retry-after-ms")  # 429 (throttled), 503, 408, ...
    return UnavailableError(f"Cosmos DB is unavailable (status {status}) for {what}",
                            retry_after=float(retry_after) / 1000 if retry_after else None)
