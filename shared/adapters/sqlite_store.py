"""The embedded document store: one SQLite file (WAL), documents per container and partition key, etags,
`_ts`, and an ordered change feed. Every write takes the next value of one global sequence, and a document
keeps the sequence of its latest write, so the feed (documents ordered by sequence) behaves like Cosmos DB's
latest-version change feed: inserts and updates, intermediate updates collapsed, no deletes."""
from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import time
from dataclasses import replace
from typing import Iterable, Iterator

import orjson

from shared.domain.errors import (ConfigurationError, ConflictError, NotFoundError, PreconditionFailedError,
                                  UnavailableError, ValidationError)
from shared.adapters.sqlite_writer import GroupCommit
from shared.domain.ports import (ETAG, NOT_IN, TIMESTAMP, Document, Page, Query, StoreInfo, Written,
                                 partition_key_of, patch_fields)
from shared.store_calls import PATCH, POINT_READ, WRITE, query_kind, record_store_call

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    container TEXT NOT NULL,
    pk TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    seq INTEGER NOT NULL,
    expires REAL,
    PRIMARY KEY (container, pk, id)
);
CREATE INDEX IF NOT EXISTS documents_feed ON documents (container, seq);
CREATE INDEX IF NOT EXISTS documents_expiry ON documents (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS sequence (one INTEGER PRIMARY KEY CHECK (one = 1), value INTEGER NOT NULL);
INSERT OR IGNORE INTO sequence (one, value) VALUES (1, 0);
"""
_INSERT = "INSERT OR REPLACE INTO documents (container, pk, id, body, seq, expires) VALUES (?, ?, ?, ?, ?, ?)"
_LIVE = "(expires IS NULL OR expires > ((julianday('now') - 2440587.5) * 86400.0))"
_OPS = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_SESSION_PREFIX = "sqlite:"
_ETAG_PREFIX = "s"
_SCAN_BATCH = 2000


class SqliteStore:
    """Thread-safe: one connection per thread; writes go through one GroupCommit (sqlite_writer)."""

    embedded = True
    backend = "sqlite"

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer: GroupCommit | None = None
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            conn = self._conn()
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")   # can we write? A read-only store would fail the first order
            conn.execute("ROLLBACK")
            self._writer = GroupCommit(path, self._conn)
        except (OSError, sqlite3.Error) as error:
            self.close()
            raise _open_problem(path, error) from None

    # -- connections -------------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (the OS has the pages); only power loss can
            # drop the last transactions, which is the trade-off the local host makes for speed.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._connections.clear()
            if self._writer is not None:
                self._writer.close()
        self._local = threading.local()

    def _run(self, operation):
        """Run `operation(conn)` in a write transaction (shared.adapters.sqlite_writer: group commit, one
        writer across processes); returns once it committed."""
        try:
            return self._writer.run(operation)
        except sqlite3.OperationalError as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: sqlite3.OperationalError) -> UnavailableError:
        return UnavailableError(f"the SQLite store {self.path} is not available: {error}")

    def _write(self, container: str, doc: Document, mode: str, if_match: str | None = None) -> Written:
        with _Reported(container, mode, WRITE) as report:
            stored, seq = self._run(_write_operation(container, doc, mode, if_match))
            report.items = 1
        return Written(stored, f"{_SESSION_PREFIX}{seq}")

    def create_each(self, container: str, docs: list[Document]) -> list[Written | Exception]:
        """`create` for each document, all in one transaction of the group commit, each on its own: a
        duplicate (ConflictError) or an invalid document fails alone and is returned in its place, not raised.
        For a caller that gathers writes itself (orders placed on an event loop: shared.services.order_writes)."""
        operations, outcomes = [], []
        for doc in docs:
            try:
                operations.append(_write_operation(container, doc, "create"))
                outcomes.append(None)
            except Exception as error:  # noqa: BLE001 - that document's own failure
                outcomes.append(error)
        started = time.perf_counter()
        results = iter(self._writer.run_all(operations))
        elapsed_ms = (time.perf_counter() - started) * 1000
        for at, outcome in enumerate(outcomes):
            if outcome is None:
                result, error = next(results)
                if isinstance(error, sqlite3.OperationalError):
                    error = self._unavailable(error)
                outcomes[at] = error if error is not None else Written(result[0], f"{_SESSION_PREFIX}{result[1]}")
                record_store_call(container, "create", WRITE, None, elapsed_ms, items=int(error is None))
        return outcomes

    # -- DocumentStore -----------------------------------------------------------------------------
    def create(self, container: str, doc: Document) -> Written:
        return self._write(container, doc, "create")

    def upsert(self, container: str, doc: Document) -> Written:
        return self._write(container, doc, "upsert")

    def replace(self, container: str, doc: Document, *, if_match: str | None = None) -> Written:
        return self._write(container, doc, "replace", if_match)

    def upsert_many(self, container: str, docs: Iterable[Document]) -> int:
        """One transaction for the whole batch: all documents land or none do."""
        batch = [(doc, *_identity(container, doc), _encode(doc)) for doc in docs]
        if not batch:
            return 0

        def operation(conn: sqlite3.Connection) -> list[tuple]:
            last = conn.execute("UPDATE sequence SET value = value + ? WHERE one = 1 RETURNING value",
                                (len(batch),)).fetchone()[0]
            rows = []
            for seq, (doc, doc_id, pk, encoded) in enumerate(batch, start=last - len(batch) + 1):
                body, expires = _stamped_body(doc, encoded, seq)[1:]
                rows.append((container, pk, doc_id, body, seq, expires))
            conn.executemany(_INSERT, rows)
            # Batches come from training and imports, rarely: the moment to delete what has expired for good.
            conn.execute(f"DELETE FROM documents WHERE expires IS NOT NULL AND NOT {_LIVE}")
            return rows

        with _Reported(container, "upsert_many", WRITE) as report:
            rows = self._run(operation)
            report.items, report.item_bytes = len(rows), sum(len(row[3]) for row in rows)
        return len(batch)

    def patch(self, container: str, doc_id: str, partition_key: str, *, set_fields: dict | None = None,
              increments: dict | None = None) -> Written:
        patch_fields(container, set_fields, increments)

        def operation(conn: sqlite3.Connection) -> tuple[Document, int]:
            row = conn.execute(f"SELECT body FROM documents WHERE container=? AND pk=? AND id=? AND {_LIVE}",
                               (container, partition_key, doc_id)).fetchone()
            if row is None:
                raise NotFoundError(f"{container} document {doc_id!r} does not exist")
            doc = {key: value for key, value in orjson.loads(row[0]).items() if key not in (ETAG, TIMESTAMP)}
            doc.update(set_fields or {})
            for name, amount in (increments or {}).items():
                current = doc.get(name, 0)
                if isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise ValidationError(f"cannot increment {name!r}: it is not a number")
                doc[name] = current + amount
            return _insert(conn, container, partition_key, doc_id, doc, _encode(doc))

        with _Reported(container, "patch", PATCH) as report:
            stored, seq = self._run(operation)
            report.items = 1
        return Written(stored, f"{_SESSION_PREFIX}{seq}")

    def read(self, container: str, doc_id: str, partition_key: str, *, session_token: str | None = None) -> Document:
        return self._point_read(container, "read", doc_id, partition_key, session_token, -1)

    def read_if_changed(self, container: str, doc_id: str, partition_key: str, etag: str, *,
                        session_token: str | None = None) -> Document | None:
        # The etag is the write's sequence number: compared in SQL, so an unchanged body is never fetched.
        # An etag that is not one of ours gets no number (-1 matches no sequence) and the body comes back.
        return self._point_read(container, "read_if_changed", doc_id, partition_key, session_token, _seq_of(etag))

    def _point_read(self, container: str, operation: str, doc_id: str, partition_key: str,
                    session_token: str | None, unchanged_seq: int) -> Document | None:
        """The document; None when its sequence number is still `unchanged_seq` (-1: never)."""
        check_session_token(session_token)
        with _Reported(container, operation, POINT_READ) as report:
            row = self._conn().execute(
                f"SELECT CASE WHEN seq = ? THEN NULL ELSE body END FROM documents WHERE container=? AND pk=? "
                f"AND id=? AND {_LIVE}", (unchanged_seq, container, partition_key, doc_id)).fetchone()
            if row is None:
                raise NotFoundError(f"{container} document {doc_id!r} not found")
            if row[0] is None:   # not modified: a point read of nothing
                return None
            report.items, report.item_bytes = 1, len(row[0])
        return orjson.loads(row[0])

    def delete(self, container: str, doc_id: str, partition_key: str) -> None:
        def operation(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM documents WHERE container=? AND pk=? AND id=?",
                                (container, partition_key, doc_id)).rowcount

        with _Reported(container, "delete", WRITE):
            deleted = self._run(operation)
        if deleted == 0:
            raise NotFoundError(f"{container} document {doc_id!r} not found")

    def delete_partition(self, container: str, partition_key: str) -> int:
        def operation(conn: sqlite3.Connection) -> int:
            live = conn.execute(f"SELECT count(*) FROM documents WHERE container=? AND pk=? AND {_LIVE}",
                                (container, partition_key)).fetchone()[0]
            conn.execute("DELETE FROM documents WHERE container=? AND pk=?", (container, partition_key))
            return live

        with _Reported(container, "delete_partition", WRITE):
            return self._run(operation)

    def query(self, container: str, query: Query, *, continuation: str | None = None,
              session_token: str | None = None) -> Page:
        check_session_token(session_token)
        offset = _decode_continuation(continuation)
        sql, params = _select(container, query)
        limit = query.limit
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit + 1, offset]
        with _Reported(container, "query", query_kind(query.partition_key)) as report:
            rows = self._conn().execute(sql, params).fetchall()
            more = limit is not None and len(rows) > limit
            kept = rows[:limit] if limit is not None else rows
            report.items, report.item_bytes = len(kept), sum(len(row[0]) for row in kept)
        items = [orjson.loads(row[0]) for row in kept]
        next_token = _encode_continuation(offset + limit) if more else None
        return Page(items, next_token)

    def scan(self, container: str, query: Query | None = None) -> Iterator[Document]:
        query = query or Query()
        sql, params = _select(container, query)
        with _Reported(container, "scan", query_kind(query.partition_key)) as report:
            cursor = self._conn().execute(sql, params)
            while True:
                rows = cursor.fetchmany(_SCAN_BATCH)
                if not rows:
                    return
                report.items += len(rows)
                report.item_bytes += sum(len(row[0]) for row in rows)
                for row in rows:
                    yield orjson.loads(row[0])

    def ping(self) -> StoreInfo:
        try:
            self._conn().execute("SELECT value FROM sequence").fetchone()
        except sqlite3.Error as error:
            raise UnavailableError(f"the SQLite store is not available: {error}") from error
        return StoreInfo("sqlite", {"path": self.path})

    # -- change feed (used by the local host in place of the Functions host's Cosmos DB trigger) -------------
    def read_changes(self, container: str, after_seq: int, limit: int) -> list[tuple[int, Document]]:
        """Documents of `container` written after `after_seq`, in write order, with their sequence numbers."""
        rows = self._conn().execute(
            "SELECT seq, body FROM documents WHERE container=? AND seq>? ORDER BY seq LIMIT ?",
            (container, after_seq, limit)).fetchall()
        return [(seq, orjson.loads(body)) for seq, body in rows]

    def latest_sequence(self, container: str) -> int:
        row = self._conn().execute("SELECT max(seq) FROM documents WHERE container=?", (container,)).fetchone()
        return row[0] or 0

    def count(self, container: str, query: Query | None = None) -> int:
        query = replace(query or Query(), order_by=None, limit=None)
        sql, params = _select(container, query)
        with _Reported(container, "count", query_kind(query.partition_key)):
            return self._conn().execute(sql.replace("SELECT body", "SELECT count(*)", 1), params).fetchone()[0]


class _Reported:
    """Reports one store call to shared.store_calls when the block ends (also when it fails). SQLite reports
    no request charge: the charge is None, the kind and the sizes tell what the call would cost on Cosmos DB."""

    def __init__(self, container: str, operation: str, kind: str):
        self.container, self.operation, self.kind = container, operation, kind
        self.items = self.item_bytes = 0

    def __enter__(self) -> "_Reported":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        record_store_call(self.container, self.operation, self.kind, None,
                          (time.perf_counter() - self._started) * 1000, items=self.items, item_bytes=self.item_bytes)


def check_session_token(token: str | None) -> None:
    """The SQLite store is strongly consistent; a session token is accepted but must look like one of ours."""
    if token is None:
        return
    if not token.startswith(_SESSION_PREFIX) or not token[len(_SESSION_PREFIX):].isdigit():
        raise ValidationError("X-Session-Token is not a session token of this store", {"field": "X-Session-Token"})


def _identity(container: str, doc: Document) -> tuple[str, str]:
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"document for {container} needs a string 'id'")
    return doc_id, partition_key_of(container, doc)


def _encode(doc: Document) -> bytes:
    """The document's JSON without the system properties, which the write adds once it has its sequence."""
    if ETAG in doc or TIMESTAMP in doc:
        doc = {key: value for key, value in doc.items() if key not in (ETAG, TIMESTAMP)}
    return orjson.dumps(doc)


def _write_operation(container: str, doc: Document, mode: str, if_match: str | None = None):
    """The transaction step of one create / upsert / replace. Encoding happens here, before any transaction:
    it is most of a write's work, kept out of the writer lock."""
    doc_id, pk = _identity(container, doc)
    encoded = _encode(doc)

    def operation(conn: sqlite3.Connection) -> tuple[Document, int]:
        row = conn.execute(f"SELECT seq FROM documents WHERE container=? AND pk=? AND id=? AND {_LIVE}",
                           (container, pk, doc_id)).fetchone()
        if mode == "create" and row is not None:
            raise ConflictError(f"{container} document {doc_id!r} already exists")
        if mode == "replace":
            if row is None:
                raise NotFoundError(f"{container} document {doc_id!r} does not exist")
            if if_match is not None and _etag(row[0]) != if_match:   # no need to decode the stored body
                raise PreconditionFailedError(f"{container} document {doc_id!r} was changed by someone else")
        return _insert(conn, container, pk, doc_id, doc, encoded)

    return operation


def _insert(conn: sqlite3.Connection, container: str, pk: str, doc_id: str, doc: Document,
            encoded: bytes) -> tuple[Document, int]:
    seq = conn.execute("UPDATE sequence SET value = value + 1 WHERE one = 1 RETURNING value").fetchone()[0]
    stored, body, expires = _stamped_body(doc, encoded, seq)
    conn.execute(_INSERT, (container, pk, doc_id, body, seq, expires))
    return stored, seq


def _stamped_body(doc: Document, encoded: bytes, seq: int) -> tuple[Document, str, float | None]:
    """The stored document, its JSON (`encoded` with the system properties appended: an id makes it a
    non-empty object) and its expiry time."""
    stored = dict(doc)
    stored[ETAG] = etag = _etag(seq)
    stored[TIMESTAMP] = stamp = int(time.time())
    body = encoded[:-1].decode() + f',"{ETAG}":"{etag}","{TIMESTAMP}":{stamp}}}'
    return stored, body, _expires(stored)


def _etag(seq: int) -> str:
    return f"{_ETAG_PREFIX}{seq:x}"   # unique per write: the write's sequence number, per store file


def _seq_of(etag: str) -> int:
    """The sequence number in one of our etags (`_etag`), -1 (no sequence) for anything else."""
    try:
        seq = int(etag[len(_ETAG_PREFIX):], 16) if isinstance(etag, str) and etag.startswith(_ETAG_PREFIX) else -1
    except ValueError:
        return -1
    return seq if 0 <= seq < 2 ** 63 and _etag(seq) == etag else -1


def _expires(doc: Document) -> float | None:
    # Cosmos semantics: a positive `ttl` (seconds) expires the document that long after its last write.
    ttl = doc.get("ttl")
    if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
        return doc[TIMESTAMP] + ttl
    return None


def _select(container: str, query: Query) -> tuple[str, list]:
    sql = f"SELECT body FROM documents WHERE container = ? AND {_LIVE}"
    params: list = [container]
    if query.partition_key is not None:
        sql += " AND pk = ?"
        params.append(query.partition_key)
    for item in query.filters:
        if item.op == NOT_IN:   # the id column when it can: no JSON to extract for the rows it rules out
            column = "id" if item.field == "id" else "json_extract(body, ?)"
            sql += f" AND {column} NOT IN (SELECT value FROM json_each(?))"
            params += ([] if item.field == "id" else [f'$."{item.field}"']) + [orjson.dumps(list(item.value)).decode()]
            continue
        if item.op not in _OPS:
            raise ValueError(f"unsupported operator {item.op!r}")
        sql += f" AND json_extract(body, ?) {_OPS[item.op]} ?"
        params += [f'$."{item.field}"', item.value]
    if query.order_by:
        sql += f" ORDER BY json_extract(body, ?) {'DESC' if query.descending else 'ASC'}, id"
        params.append(f'$."{query.order_by}"')
    return sql, params


def _open_problem(path: str, error: Exception) -> Exception:
    """One line that names SQLITE_PATH and the cause, for the start-up message."""
    reason = getattr(error, "strerror", None) or str(error)
    folder = os.path.dirname(os.path.abspath(path))
    if "full" in reason.lower() or getattr(error, "errno", None) == 28:
        return UnavailableError(f"SQLITE_PATH={path!r}: the disk is full ({reason})")
    existing = path if os.path.exists(path) else folder
    if os.path.isdir(path):
        return ConfigurationError(f"SQLITE_PATH={path!r} is a folder, not a database file")
    ancestor = folder
    while not os.path.exists(ancestor) and os.path.dirname(ancestor) != ancestor:
        ancestor = os.path.dirname(ancestor)
    if os.path.isfile(ancestor):
        return ConfigurationError(f"SQLITE_PATH={path!r}: {ancestor} is a file, not a folder")
    if os.path.isdir(existing) and not os.access(existing, os.W_OK) or \
            os.path.isfile(existing) and not os.access(existing, os.W_OK) or "readonly" in reason.replace("-", ""):
        return ConfigurationError(f"SQLITE_PATH={path!r}: the store is read-only ({reason})")
    return ConfigurationError(f"SQLITE_PATH={path!r}: cannot create or open the store ({reason})")


def _encode_continuation(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_continuation(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and 0 <= offset < 2 ** 62:   # SQLite's OFFSET is a 64-bit integer
            return offset
    except (ValueError, KeyError, TypeError):
        pass
    raise ValidationError("continuationToken is not valid", {"field": "continuationToken"})
