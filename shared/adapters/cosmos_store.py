"""The Azure Cosmos DB document store (NoSQL API, azure-cosmos SDK). Vendor errors become domain errors here;
nothing outside this module imports azure.cosmos."""
from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.cosmos import CosmosClient, PartitionKey
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared.domain.errors import (ConflictError, DomainError, NotFoundError, PayloadTooLargeError,
                                  PreconditionFailedError, UnavailableError, ValidationError)
from shared.domain.ports import PARTITION_KEYS, Document, Page, Query, StoreInfo, Written, partition_key_of

_SYSTEM_FIELDS = ("_rid", "_self", "_attachments")  # _etag and _ts are part of the port's contract
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_OPS = ("=", "!=", ">", ">=", "<", "<=")
_WRITE_THREADS = 8
_SCAN_PAGE = 1000
_RACE_RETRIES = 3


class CosmosStore:
    """Thread-safe. The CosmosClient is built on first use: its constructor already reads the account."""

    embedded = False

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

    def _write(self, container: str, doc: Document, method: str, *args: Any, **options: Any) -> Written:
        _checked(container, doc)
        # The session token must come from this request's own response: client_connection.last_response_headers
        # is shared by all threads. Not item.get_response_headers() either: azure-cosmos 4.17 writes retry
        # counters into whatever last_response_headers points at, so copying those can fail mid-iteration.
        token = _Header("x-ms-session-token")
        item = self._call(f"{container} document {doc['id']!r}", lambda: getattr(self._container(container), method)(
            *args, doc, response_hook=token, **options))
        return Written(_clean(item), token.value)

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

    def read(self, container: str, doc_id: str, partition_key: str, *, session_token: str | None = None) -> Document:
        options = {"session_token": session_token} if session_token else {}
        return _clean(self._call(f"{container} document {doc_id!r}", lambda: self._container(container).read_item(
            doc_id, partition_key=partition_key, **options), idempotent=True))

    def delete(self, container: str, doc_id: str, partition_key: str) -> None:
        self._call(f"{container} document {doc_id!r}",
                   lambda: self._container(container).delete_item(doc_id, partition_key=partition_key))

    def delete_partition(self, container: str, partition_key: str) -> int:
        """The partition's ids by one single-partition query, then one delete each. Not the SDK's
        delete_all_items_by_partition_key: that is a preview feature the account must have enabled, and it
        deletes in the background, so the caller could not say when the data is gone."""
        what = f"{container} partition {partition_key!r}"
        ids = self._call(what, lambda: [item["id"] for item in self._items(
            container, Query(partition_key=partition_key), _SCAN_PAGE, select="c.id")], idempotent=True)
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
        token = _Header("x-ms-continuation")

        def run() -> Page:
            pages = self._items(container, query, query.limit, session_token, token).by_page(continuation)
            if query.limit is None:
                return Page([_clean(item) for page in pages for item in page])
            for page in pages:
                items = [_clean(item) for item in page]
                if items or not token.value:  # skip empty pages that still have a continuation
                    return Page(items, token.value)
            return Page([])
        return self._call(f"query on {container}", run, idempotent=True)

    def scan(self, container: str, query: Query | None = None) -> Iterator[Document]:
        items = self._call(f"scan of {container}", lambda: iter(self._items(container, query or Query(), _SCAN_PAGE)))
        while (item := self._call(f"scan of {container}", lambda: next(items, None))) is not None:
            yield _clean(item)

    def count(self, container: str, query: Query | None = None) -> int:
        """Counted by Cosmos DB (the SDK adds up the partitions); order_by and limit do not apply."""
        query = replace(query or Query(), order_by=None, limit=None)
        return self._call(f"count of {container}", lambda: sum(self._items(container, query, select="VALUE COUNT(1)")),
                          idempotent=True)

    def ping(self) -> StoreInfo:
        try:
            self._call("the Cosmos DB database", lambda: self._db().read())
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


class _Header:
    """A response hook that keeps one header of the responses to the one call it is given to."""

    def __init__(self, name: str):
        self.name, self.value = name, None

    def __call__(self, headers, _body) -> None:
        self.value = headers.get(self.name) or None


def _sql(container: str, query: Query, select: str = "*") -> tuple[str, list[dict[str, Any]]]:
    """Parameterized SQL. Values are always parameters; field names cannot be, so they are checked."""
    where, parameters = [], []
    if query.partition_key is not None:
        # Redundant with partition_key= on Cosmos DB, but it keeps the query right on its own (and the
        # protocol server used in tests routes by the SQL text).
        where.append(f'c["{PARTITION_KEYS[container]}"] = @pk')
        parameters.append({"name": "@pk", "value": query.partition_key})
    for number, item in enumerate(query.filters):
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


def _clean(item: dict) -> Document:
    return {key: value for key, value in item.items() if key not in _SYSTEM_FIELDS}


def _translate(error: AzureError, what: str) -> DomainError:
    """The one table from Cosmos DB answers to domain errors."""
    status = error.status_code if isinstance(error, CosmosHttpResponseError) else None
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
