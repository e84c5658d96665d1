"""The SQLite store's one way to write: group commit, with one writer at a time across threads and processes.

Why group commit: SQLite has one writer per database file, and each commit pays for its lock hand-over and
for rewriting the same few pages (the sequence row, the index leaves). Writes that arrive in a process while
a transaction is committing wait, and the next transaction carries all of them: one BEGIN..COMMIT, each
write still its own operation with its own checks in its own savepoint, so a write that fails (a duplicate
order, a stale etag, a document too big) fails alone and the others commit. No caller hears back before the
commit that holds its write: an acknowledged write is on disk (WAL) however the process ends afterwards.

Why a lock file: between processes (the local host's worker processes, an import running beside the host),
SQLite answers a busy database by sleeping and polling in growing steps (1, 2, 5, 10, ... up to 100 ms),
which turns contention into a long latency tail. Writers here first take an exclusive `flock` on a file
beside the database, which blocks and wakes the next writer the moment the lock is released. SQLite's own
locking still holds underneath (a writer that does not take the file, the sqlite3 shell say, is waited for
by the busy timeout as before)."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Callable, TypeVar

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], T]
LOCK_SUFFIX = "-writer.lock"


class _Pending:
    __slots__ = ("operation", "result", "error", "done", "wake")

    def __init__(self, operation: Operation):
        self.operation = operation
        self.result = self.error = None
        self.done = False
        self.wake = threading.Lock()   # held until the write is done, or until this thread is to lead
        self.wake.acquire()


class GroupCommit:
    """Runs operations `op(conn) -> result` inside write transactions, several per transaction.

    One thread at a time leads: it takes every write queued so far, commits them in one transaction, wakes
    their threads (one lock release each, cheaper than a condition's notify_all), and hands the lead to the
    first write that queued meanwhile."""

    def __init__(self, database_path: str, connection: Callable[[], sqlite3.Connection]):
        self._connection = connection   # the calling thread's own connection
        self._lock_path = database_path + LOCK_SUFFIX
        self._lock_fd = -1
        self._open_lock_file()   # now: a folder where it cannot be made fails at start, not at the first order
        self._mutex = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False   # a thread leads, or the lead is being handed to the first write queued

    def run(self, operation: Operation[T]) -> T:
        """Run `operation` in a write transaction; returns once that transaction committed. Raises what the
        operation raised (nothing of it was written), or sqlite3.Error when the transaction itself failed."""
        result, error = self.run_all([operation])[0]
        if error is not None:
            raise error
        return result

    def run_all(self, operations: list[Operation]) -> list[tuple[object, BaseException | None]]:
        """Several writes of one caller (a batch it gathered itself), each in its own savepoint, all in the
        same transaction; returns once it committed, (result, None) or (None, error) per operation, in order."""
        if not operations:
            return []
        pending = [_Pending(operation) for operation in operations]
        with self._mutex:
            self._queue.extend(pending)   # together: whoever leads next takes all of them at once
            leader, self._leading = not self._leading, True
        if not leader:
            pending[0].wake.acquire()   # released by the leader: done, or this thread leads now
        if not pending[0].done:
            self._lead()
        return [(item.result, item.error) for item in pending]

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._mutex:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            for item in batch:
                item.done = True
                item.wake.release()
            if following is not None:
                following.wake.release()   # not done: it wakes to lead the next transaction

    def waiting(self) -> int:
        """How many writes wait for the next transaction (diagnostics, and tests that line writes up)."""
        with self._mutex:
            return len(self._queue)

    def _open_lock_file(self) -> int:
        if self._lock_fd < 0:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return self._lock_fd

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            conn = self._connection()
            self._open_lock_file()   # again after close(): the store reopens its connections too
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)   # blocks without the GIL; woken as soon as it is free
            try:
                self._transaction(conn, batch)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        except BaseException as error:   # nothing of the batch committed: every write in it failed
            for item in batch:
                item.result, item.error = None, error
            if not isinstance(error, Exception):
                raise

    @staticmethod
    def _transaction(conn: sqlite3.Connection, batch: list[_Pending]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for item in batch:
                conn.execute("SAVEPOINT one_write")
                try:
                    item.result = item.operation(conn)
                except Exception as error:  # noqa: BLE001 - it belongs to that write's caller
                    if not conn.in_transaction:   # SQLite rolled back the whole transaction (a full disk does)
                        raise
                    conn.execute("ROLLBACK TO one_write")
                    item.error = error
                conn.execute("RELEASE one_write")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Closes the lock file; a later write opens it again."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
